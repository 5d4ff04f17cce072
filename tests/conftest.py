"""Shared test fixtures.

The live tier runs real TensorFlow in a separate interpreter (its own
virtualenv), named by the environment variable ``NANOTF_TF_PYTHON``; nanotf
itself never imports TensorFlow. Without the variable the live tests skip;
``.ci/run`` always sets it.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


class TensorFlowRunner:
    """Runs Python snippets under the TensorFlow interpreter."""

    def __init__(self, python: str):
        self.python = python

    def run(self, code: str, cwd: str | os.PathLike | None = None, timeout: float = 300) -> str:
        """Run ``code`` (dedented) with TF's interpreter; return its stdout.

        The snippet starts with ``tf`` imported as ``tensorflow.compat.v1`` with
        v2 behaviour disabled, unless it sets ``# keep-v2`` on its first line.
        Fails the test with TF's stderr if the snippet fails.
        """
        code = textwrap.dedent(code)
        if not code.lstrip().startswith("# keep-v2"):
            code = "import tensorflow.compat.v1 as tf\ntf.disable_v2_behavior()\n" + code
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
        proc = subprocess.run(
            [self.python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            pytest.fail(f"TensorFlow snippet failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc.stdout

    def run_json(self, code: str, cwd: str | os.PathLike | None = None, timeout: float = 300):
        """Run ``code``, which must print one JSON document as its last line."""
        out = self.run(code, cwd=cwd, timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])


def pytest_collection_modifyitems(items):
    # Any test that runs real TensorFlow belongs to the live tier (`-m live`).
    for item in items:
        if "tf_runner" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def tf_runner() -> TensorFlowRunner:
    python = os.environ.get("NANOTF_TF_PYTHON")
    if not python:
        pytest.skip("live tier: set NANOTF_TF_PYTHON to a Python with tensorflow-cpu==2.21.0")
    return TensorFlowRunner(python)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES

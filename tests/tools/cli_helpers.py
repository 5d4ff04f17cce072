"""Running the nanotf command in tests: in a subprocess, as users run it, or in-process for speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nanotf.tools.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TOOL_FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_META = FIXTURES / "seed_ref" / "my_test_model-1000.meta"
CNN_META = TOOL_FIXTURES / "cnn" / "cnn.meta"


def nanotf(*args, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    """``python -m nanotf ARGS`` in a subprocess with stdout and stderr piped."""
    return subprocess.run([sys.executable, "-m", "nanotf", *map(str, args)], capture_output=True, text=True, check=False,
                          env=None if env is None else {**os.environ, **env}, cwd=cwd)  # fmt: skip


def run(capsys, *args) -> tuple[int, str, str]:
    """``nanotf ARGS`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys, *args, status: int = 0):
    """``nanotf ARGS --json`` in this process; checks the exit status and returns the document."""
    code, out, err = run(capsys, *args, "--json")
    assert code == status, err
    return json.loads(out)

"""The progress bar: drawn on a terminal for big jobs, never into a pipe."""

import io
import os
import pty
import subprocess
import sys

from nanotf.tools import progress
from nanotf.tools.progress import Progress

from cli_helpers import FIXTURES

LOWERED = {"NANOTF_PROGRESS_MIN_BYTES": "1"}  # every job counts as big


def _convert(stderr, tmp_path):
    return subprocess.run([sys.executable, "-m", "nanotf", "convert", str(FIXTURES / "mlp_adam"), str(tmp_path / "o.npz")],
                          stdout=subprocess.PIPE, stderr=stderr, check=False, env={**os.environ, **LOWERED}, timeout=60)  # fmt: skip


def test_bar_on_a_terminal(tmp_path):
    controller, terminal = pty.openpty()
    try:
        proc = _convert(terminal, tmp_path)
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(controller)
    assert proc.returncode == 0
    text = drawn.decode()
    assert "\rconverting [" in text and "100% 712 B / 712 B" in text and text.endswith("\n")


def test_no_bar_in_a_pipe(tmp_path):
    proc = _convert(subprocess.PIPE, tmp_path)
    assert proc.returncode == 0 and proc.stderr == b""


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_redraws_only_when_the_percentage_changes(monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_MIN_BYTES", 1000)
    stream = FakeTerminal()
    with Progress(10_000, "copying", stream) as bar:
        for _ in range(10_000):
            bar.advance(1)
    assert stream.getvalue().count("\r") == 101 and stream.getvalue().endswith("100% 9.8 KiB / 9.8 KiB\n")
    small = FakeTerminal()
    with Progress(999, "copying", small) as bar:
        bar.advance(999)
    assert small.getvalue() == ""

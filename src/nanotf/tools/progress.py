"""A byte-count progress bar on stderr for long reads and writes.

The bar is drawn only when stderr is a terminal and the job moves at least
``PROGRESS_MIN_BYTES``: small jobs finish before a bar helps, and a pipe or a
log file must not fill with carriage returns. The threshold defaults to
256 MiB; the environment variable ``NANOTF_PROGRESS_MIN_BYTES`` overrides it
(tests lower it to see the bar on small fixtures).
"""

from __future__ import annotations

import os
import sys

PROGRESS_MIN_BYTES = int(os.environ.get("NANOTF_PROGRESS_MIN_BYTES", str(256 << 20)))
BAR_WIDTH = 30


def format_bytes(n: int) -> str:
    """``n`` bytes in binary units: ``512 B``, ``1.5 KiB``, ``2.0 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Progress:
    """Reports ``advance(n)`` calls as a bar that reaches 100 % at ``total`` bytes.

    Args:
        total: the bytes the job will read or write.
        label: what the job does, shown before the bar (``"converting"``).
        stream: where to draw (default ``sys.stderr``).

    Use as a context manager; leaving it ends the bar's line. Redraws happen
    when the whole percentage changes, so at most about a hundred per job.
    """

    def __init__(self, total: int, label: str, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(int(total), 0)
        self.label = label
        self.done = 0
        self._shown = -1
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) and self.total >= PROGRESS_MIN_BYTES and self.total > 0

    def advance(self, n: int) -> None:
        """Count ``n`` more bytes as done."""
        self.done = min(self.done + int(n), self.total)
        if self.enabled:
            percent = self.done * 100 // self.total
            if percent != self._shown:
                self._draw(percent)

    def _draw(self, percent: int) -> None:
        self._shown = percent
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        amount = f"{format_bytes(self.done)} / {format_bytes(self.total)}"
        self.stream.write(f"\r{self.label} [{bar}] {percent:3d}% {amount}")
        self.stream.flush()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._draw(0)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

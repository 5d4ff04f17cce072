"""Sending a file being written to the disk while it is still being written.

A crash-safe save ends with ``fsync``, which returns once every page of the
file is on the disk. Left alone, the kernel writes a file's dirty pages back
only some seconds after they were written, so a save that fsyncs straight
after writing does all of its disk writing inside the fsync, after the copies
into the page cache are done: the two run one after the other. Asking the
kernel to start writing back every few MiB as soon as they are written
(``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which does not wait) runs them
side by side, and the final fsync finds little left to do. On the project
machine a write + fsync of 100 MiB took 51 ms so against 82 ms without, and
1 GiB 0.55 s against 0.91 s (medians of 9, alternated in one process).

Only a hint: where the call does not exist (not Linux) or fails, nothing
changes, and the fsync that follows still makes the file durable and reports
any I/O error.
"""

from __future__ import annotations

import ctypes

__all__ = ["STEP", "Writeback"]

STEP = 8 << 20  # bytes written between two requests to start writeback
_SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range():
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError, TypeError):  # no such call; TypeError: no process-wide library (Windows)
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _load_sync_file_range()


class Writeback:
    """Counts the bytes written to ``file`` and starts their writeback every ``STEP`` bytes.

    ``file`` may be buffered: it is flushed first, so that the bytes counted
    are in the page cache.
    """

    def __init__(self, file):
        self._file = file
        self._pending = 0

    def wrote(self, count: int) -> None:
        self._pending += count
        if self._pending >= STEP and _sync_file_range is not None:
            self._pending = 0
            self._file.flush()
            # offset 0, length 0: the whole file. Pages already on their way are skipped.
            _sync_file_range(self._file.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)

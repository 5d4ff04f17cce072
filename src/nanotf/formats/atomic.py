"""Crash-safe file writes: a temp file beside the target, fsync, then rename over it."""

from __future__ import annotations

import contextlib
import os
import uuid

__all__ = ["atomic_file", "write_atomic_bytes"]


@contextlib.contextmanager
def atomic_file(path: str, temp: str | None = None):
    """Yields a binary file that replaces ``path`` only when the block succeeds.

    Args:
        path: the target file.
        temp: the temp file's name (default ``<path>.tmp<uuid4 hex>``, TF's
            atomic_write_string_to_file); removed if the block raises.
    """
    temp = temp or f"{path}.tmp{uuid.uuid4().hex}"
    renamed = False
    try:
        with open(temp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
        renamed = True
    finally:
        # A failed or interrupted write leaves the previous file as it was.
        if not renamed and os.path.exists(temp):
            os.remove(temp)


def write_atomic_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` through ``atomic_file``."""
    with atomic_file(path) as f:
        f.write(data)

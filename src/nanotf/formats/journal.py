"""Which files this process wrote: the ground truth for deleting old checkpoints.

Every file nanotf commits (``atomic.commit``) is recorded with its device,
inode, size and modification/change times (inode numbers are reused, so the
inode alone could mistake a replacement for the original). Code that prunes
checkpoints deletes a file only if it is still that very file: a path listed
in a hostile or stale ``checkpoint`` state file, a checkpoint of an earlier
run, or a file another process has since replaced is never ours to delete.

The record is bounded: past ``MAX_ENTRIES`` the oldest entries are forgotten,
which only means those files are kept.
"""

from __future__ import annotations

import os
from collections import OrderedDict

MAX_ENTRIES = 1 << 16

_written: OrderedDict[str, tuple[int, ...]] = OrderedDict()


def _identity(path: str) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def record(path: str) -> None:
    """Remember that this process has just written ``path``."""
    identity = _identity(path)
    if identity is None:
        return
    key = os.path.abspath(path)
    _written.pop(key, None)
    _written[key] = identity
    while len(_written) > MAX_ENTRIES:
        _written.popitem(last=False)


def written_here(path: str) -> bool:
    """Whether ``path`` is, right now, a file this process wrote (same inode, size and times)."""
    identity = _written.get(os.path.abspath(path))
    return identity is not None and identity == _identity(path)


def forget(path: str) -> None:
    """Drop ``path`` from the record (after deleting it)."""
    _written.pop(os.path.abspath(path), None)

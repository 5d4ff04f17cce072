"""Arrays a kernel made itself and hands over, so that the variable store may keep them without a copy.

The variable store copies every value it keeps (runtime/variable_store.py):
whoever passed the array may hold it and change it later. A kernel that
allocates its output itself and keeps no reference to it (``RestoreV2``,
which reads each tensor into fresh memory) marks the array here; the array
becomes read-only, and the store adopts it as it is. Restoring a model then
holds each tensor once, and copies no byte after reading it.

Only the array object itself is marked (weakly: the mark goes with it); a
view or a copy of it is an ordinary array.
"""

from __future__ import annotations

import weakref

import numpy as np

__all__ = ["hand_over", "is_handed_over"]

_marked: dict[int, weakref.ref] = {}


def hand_over(array: np.ndarray) -> np.ndarray:
    """Mark ``array``, which no one else references, as immutable and free to keep; returns it."""
    array.flags.writeable = False
    key = id(array)
    _marked[key] = weakref.ref(array, lambda _, key=key: _marked.pop(key, None))
    return array


def is_handed_over(value) -> bool:
    """Whether ``value`` is an array marked by ``hand_over`` (and still read-only)."""
    ref = _marked.get(id(value))
    return ref is not None and ref() is value and not value.flags.writeable

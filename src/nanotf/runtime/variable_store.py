"""Per-session variable state: ref variables by op name, resources by (container, shared_name).

Stored arrays are never mutated in place (an update stores a new array), so a
value read earlier in a step (a ``bias/read`` snapshot) stays what it was.
They are kept read-only; ``Session.run`` copies them on fetch. A value is
copied when stored, unless a kernel handed it over (framework/handover.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanotf import errors
from nanotf.framework import handover
from nanotf.ops import philox

__all__ = ["VariableStore", "VariableRef", "ResourceHandle"]


def _frozen(value, dtype=None) -> np.ndarray:
    if handover.is_handed_over(value) and (dtype is None or value.dtype == dtype):
        return value  # a kernel's own read-only output (e.g. RestoreV2's): no one else can change it
    arr = np.array(value, dtype=dtype, copy=True)
    arr.flags.writeable = False
    return arr


class VariableRef:
    """The value of a ``VariableV2`` output: a reference to the named ref variable."""

    __slots__ = ("_store", "name", "dtype", "declared_shape")

    def __init__(self, store: VariableStore, name: str, dtype, shape_proto):
        self._store = store
        self.name = name
        self.dtype = np.dtype(dtype.base_dtype.as_numpy_dtype)
        dims = None if shape_proto is None or shape_proto.unknown_rank else [d.size for d in shape_proto.dim]
        self.declared_shape = None if dims is None or any(d < 0 for d in dims) else dims

    @property
    def initialized(self) -> bool:
        return self.name in self._store._refs

    def read(self) -> np.ndarray:
        """The current value; raises FailedPreconditionError if never assigned."""
        return self._store.read_ref(self.name)

    def write(self, value) -> None:
        self._store.write_ref(self.name, value, self.dtype)


@dataclass(frozen=True)
class ResourceHandle:
    """The value of a ``VarHandleOp`` output (TF's ResourceHandle: container, name, dtype, shape)."""

    container: str
    name: str
    dtype: object
    shape: tuple | None

    @property
    def key(self) -> tuple:
        return (self.container, self.name)


class RandomStream:
    """Where one random op's Philox stream stands in a session.

    As in TensorFlow's kernels, the seeds are fixed on first use (drawn from
    the OS when both attrs are 0) and every run moves the counter past the
    blocks it reserved, so repeated runs give TF's next values.
    """

    __slots__ = ("seed", "seed2", "skip")

    def __init__(self, seed: int, seed2: int):
        self.seed, self.seed2, self.skip = seed, seed2, 0


class VariableStore:
    """The variables of one session."""

    def __init__(self):
        self._refs: dict[str, np.ndarray] = {}
        self._resources: dict[tuple, np.ndarray] = {}
        self._streams: dict[str, RandomStream] = {}

    # -- ref variables (VariableV2), keyed by op name ----------------------
    def ref(self, name: str, dtype, shape_proto=None) -> VariableRef:
        return VariableRef(self, name, dtype, shape_proto)

    def read_ref(self, name: str) -> np.ndarray:
        try:
            return self._refs[name]
        except KeyError:
            raise errors.FailedPreconditionError(
                f"Attempting to use uninitialized value {name}\n\t [[{{{{node {name}}}}}]]"
            ) from None

    def write_ref(self, name: str, value, dtype=None) -> None:
        self._refs[name] = _frozen(value, dtype)

    def is_ref_initialized(self, name: str) -> bool:
        return name in self._refs

    # -- resource variables, keyed by (container, shared_name) -------------
    def handle(self, container: str, name: str, dtype, shape_proto) -> np.ndarray:
        dims = None if shape_proto.unknown_rank else tuple(d.size for d in shape_proto.dim)
        if dims is not None and any(d < 0 for d in dims):
            dims = None
        h = ResourceHandle(container or "localhost", name, dtype, dims)
        out = np.empty((), dtype=object)
        out[()] = h
        return out

    def read_resource(self, handle) -> np.ndarray:
        h = _unwrap(handle)
        try:
            return self._resources[h.key]
        except KeyError:
            raise errors.FailedPreconditionError(
                f"Could not find variable {h.name}. This could mean that the variable has been deleted "
                f"or was never initialized. Container: {h.container}. (Attempting to use uninitialized value {h.name})"
            ) from None

    def write_resource(self, handle, value) -> None:
        h = _unwrap(handle)
        self._resources[h.key] = _frozen(value, np.dtype(h.dtype.as_numpy_dtype))

    def resource_shape(self, handle) -> tuple | None:
        """The shape the handle's ``VarHandleOp`` declared (None if not fully known)."""
        return _unwrap(handle).shape

    def resource_initialized(self, handle) -> bool:
        return _unwrap(handle).key in self._resources

    def destroy_resource(self, handle, ignore_missing: bool = True) -> None:
        h = _unwrap(handle)
        if h.key not in self._resources and not ignore_missing:
            raise errors.NotFoundError(f"Resource {h.container}/{h.name} does not exist.")
        self._resources.pop(h.key, None)

    # -- random streams, one per random op ----------------------------------
    def random_stream(self, op_name: str, seed: int, seed2: int) -> RandomStream:
        """The Philox stream of one random op in this session (created on first use)."""
        stream = self._streams.get(op_name)
        if stream is None:
            stream = self._streams[op_name] = RandomStream(*philox.resolve_seeds(seed, seed2))
        return stream


def _unwrap(handle) -> ResourceHandle:
    return handle[()] if isinstance(handle, np.ndarray) else handle

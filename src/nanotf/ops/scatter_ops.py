"""Scatter ops: row updates of a variable (``ScatterAdd``, ``ResourceScatterAdd``, ...).

``ref[indices[i], ...] (op)= updates[i, ...]``, with ``updates`` shaped
``indices.shape + ref.shape[1:]`` (or a scalar applied to every named row).
Adds and subtracts accumulate over repeated indices; an update with repeated
indices keeps one of the rows (the last, here). Sparse gradients of
embeddings reach their variables through these (TF's Adam and plain SGD on
``IndexedSlices``).

The ref forms output the variable's reference; the resource forms have no
outputs. Like every variable kernel they store a new array (see
runtime/variable_store.py).
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.ops._types import INDEX
from nanotf.ops._types import NUMBER

__all__ = ["scatter_add", "scatter_sub", "scatter_update"]


def _scattered(current: np.ndarray, indices: np.ndarray, updates: np.ndarray, how: str) -> np.ndarray:
    expected = indices.shape + current.shape[1:]
    if updates.shape != expected and updates.ndim != 0:
        raise errors.InvalidArgumentError(
            f"Must have updates.shape = indices.shape + params.shape[1:] or updates.shape = [], got "
            f"updates.shape {list(updates.shape)}, indices.shape {list(indices.shape)}, "
            f"params.shape {list(current.shape)}"
        )
    flat = indices.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= (current.shape[0] if current.ndim else 0)))
    if bad.size:
        i = int(bad[0])
        limit = current.shape[0] if current.ndim else 0
        raise errors.InvalidArgumentError(f"indices[{i}] = {int(flat[i])} is not in [0, {limit})")
    out = np.array(current)
    rows = np.broadcast_to(np.asarray(updates, current.dtype), expected).reshape((flat.size,) + current.shape[1:])
    if how == "add":
        np.add.at(out, flat, rows)
    elif how == "sub":
        np.subtract.at(out, flat, rows)
    else:
        out[flat] = rows
    return out


def _ref_kernel(how):
    def kernel(ctx, attrs, ref, indices, updates):
        ref.write(_scattered(ref.read(), indices, updates, how))
        return ref

    return kernel


def _resource_kernel(how):
    def kernel(ctx, attrs, handle, indices, updates):
        ctx.store.write_resource(handle, _scattered(ctx.store.read_resource(handle), indices, updates, how))
        return ()

    return kernel


# (kind, op name suffix, T's allowed types, use_locking default): TF's OpDefs.
_KINDS = (("add", "Add", f"T: {NUMBER}", "false"), ("sub", "Sub", f"T: {NUMBER}", "false"),
          ("update", "Update", "T: type", "true"))  # fmt: skip

for _how, _suffix, _t, _locking in _KINDS:
    register_op(f"Scatter{_suffix}", ["ref: Ref(T)", "indices: Tindices", "updates: T"], ["output_ref: Ref(T)"],
                [_t, f"Tindices: {INDEX}", f"use_locking: bool = {_locking}"],
                shape=lambda op: [op.inputs[0].shape], kernel=_ref_kernel(_how), uses_store=True,
                grad=NOT_DIFFERENTIABLE)  # fmt: skip
    register_op(f"ResourceScatter{_suffix}", ["resource: resource", "indices: Tindices", "updates: dtype"], [],
                ["dtype" + _t[1:], f"Tindices: {INDEX}"], shape=lambda op: [], kernel=_resource_kernel(_how),
                uses_store=True, is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Python API ---------------------------------------------------------------------------
def _scatter(how, ref, indices, updates, use_locking, name):
    op_name = next(suffix for kind, suffix, _, _ in _KINDS if kind == how)
    if getattr(ref, "_is_resource", False):
        updates = convert_to_tensor(updates, dtype=ref.dtype)
        op = apply_op(f"ResourceScatter{op_name}", resource=ref.handle, indices=indices, updates=updates,
                      name=name or f"ResourceScatter{op_name}")  # fmt: skip
        with ref.graph.control_dependencies([op]):
            return ref.value()
    ref = ref._ref() if hasattr(ref, "_ref") else ref
    return apply_op(f"Scatter{op_name}", ref=ref, indices=indices, updates=updates, use_locking=use_locking,
                    name=name or f"Scatter{op_name}")  # fmt: skip


def scatter_add(ref, indices, updates, use_locking=False, name=None):
    """Adds ``updates`` to the rows ``indices`` of variable ``ref``; returns the updated value."""
    return _scatter("add", ref, indices, updates, use_locking, name)


def scatter_sub(ref, indices, updates, use_locking=False, name=None):
    """Subtracts ``updates`` from the rows ``indices`` of variable ``ref``; returns the updated value."""
    return _scatter("sub", ref, indices, updates, use_locking, name)


def scatter_update(ref, indices, updates, use_locking=True, name=None):
    """Sets the rows ``indices`` of variable ``ref`` to ``updates``; returns the updated value."""
    return _scatter("update", ref, indices, updates, use_locking, name)


"""Helpers for shape functions: broadcasting, and constant values known at graph-build time."""

from __future__ import annotations

import numpy as np

from nanotf.framework import tensor_util
from nanotf.framework.tensor_shape import TensorShape

__all__ = ["broadcast_shape", "constant_value", "unknown", "same_as_input", "constant_value_as_shape"]


def unknown(op) -> list:
    """Every output of unknown shape."""
    return [TensorShape(None)] * len(op.outputs)


def same_as_input(op) -> list:
    """One output shaped like input 0 (elementwise unary ops, Identity, ...)."""
    return [op.inputs[0].shape]


def broadcast_shape(a: TensorShape, b: TensorShape) -> TensorShape:
    """NumPy broadcasting over partial shapes; raises ValueError if incompatible."""
    if a.ndims is None or b.ndims is None:
        return TensorShape(None)
    x, y = a.as_list(), b.as_list()
    n = max(len(x), len(y))
    x = [1] * (n - len(x)) + x
    y = [1] * (n - len(y)) + y
    out = []
    for da, db in zip(x, y):
        if da == 1:
            out.append(db)
        elif db == 1:
            out.append(da)
        elif da is None or db is None:
            out.append(da if db is None else db)
        elif da == db:
            out.append(da)
        else:
            raise ValueError(f"Dimensions must be equal, but are {da} and {db} for shapes {a} and {b}")
    return TensorShape(out)


def constant_value(tensor):
    """The value of ``tensor`` if it is known without running the graph, else None.

    Follows Const, Identity, Shape/Size/Rank of static shapes, Pack and Cast.
    """
    op = tensor.op
    kind = op.type
    if kind == "Const":
        return tensor_util.make_ndarray(op.get_attr("value"))
    if kind in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if kind == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.as_list(), dtype=tensor.dtype.as_numpy_dtype)
    if kind == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(), dtype=tensor.dtype.as_numpy_dtype)
    if kind == "Rank" and op.inputs[0].shape.ndims is not None:
        return np.array(op.inputs[0].shape.ndims, dtype=np.int32)
    if kind == "Pack":
        values = [constant_value(t) for t in op.inputs]
        if any(v is None for v in values):
            return None
        return np.stack(values, axis=op.get_attr("axis"))
    if kind == "Cast":
        value = constant_value(op.inputs[0])
        return None if value is None else value.astype(tensor.dtype.as_numpy_dtype)
    return None


def constant_value_as_shape(tensor) -> TensorShape:
    """A 1-D shape tensor's value as a partial shape (unknown entries from Pack of unknowns)."""
    value = constant_value(tensor)
    if value is not None:
        return TensorShape([None if d < 0 else int(d) for d in value.reshape(-1)])
    if tensor.op.type == "Pack":
        return TensorShape([_dim(t) for t in tensor.op.inputs])
    if tensor.op.type == "Shape":
        return tensor.op.inputs[0].shape
    shape = tensor.shape
    if shape.ndims == 1 and shape[0].value is not None:
        return TensorShape([None] * shape[0].value)
    return TensorShape(None)


def _dim(t):
    v = constant_value(t)
    return None if v is None or int(v) < 0 else int(v)

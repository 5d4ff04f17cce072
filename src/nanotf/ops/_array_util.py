"""Build-time helpers shared by the array-family modules (shape functions and gradient rules).

Gradient rules often need an input's shape or rank as a tensor. When the
static shape already fixes it, these helpers emit a ``Const`` (as
TensorFlow's ``array_ops.shape`` does for fully defined shapes) instead of a
``Shape``/``Rank`` op, so a graph built from known shapes stays constant-foldable.
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import get_default_graph
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.tensor import Tensor
from nanotf.framework.tensor_shape import TensorShape

__all__ = ["shape_tensor", "rank_tensor", "axis_value", "merge_shapes", "int_list", "as_outputs", "apply_with_indices"]


def shape_tensor(x, dtype=dtypes.int32, name: str = "Shape"):
    """``x``'s shape as a 1-D ``dtype`` tensor: a ``Const`` when static, else a ``Shape`` op."""
    dtype = dtypes.as_dtype(dtype)
    if x.shape.is_fully_defined():
        return constant(np.array(x.shape.as_list(), dtype.as_numpy_dtype), name=name)
    return apply_op("Shape", input=x, out_type=dtype, name=name)


def rank_tensor(x, name: str = "Rank"):
    """``x``'s rank as an int32 scalar: a ``Const`` when static, else a ``Rank`` op."""
    if x.shape.ndims is not None:
        return constant(np.int32(x.shape.ndims), name=name)
    return apply_op("Rank", input=x, name=name)


def axis_value(t, rank: int | None) -> int | None:
    """The value of scalar axis tensor ``t`` made non-negative, or None if unknown."""
    value = common_shapes.constant_value(t)
    if value is None:
        return None
    axis = int(np.reshape(value, -1)[0])
    if rank is None:
        return axis if axis >= 0 else None
    return axis % rank if rank else 0


def int_list(t) -> list | None:
    """A 1-D int tensor's value as a Python list, or None when not known at build time."""
    value = common_shapes.constant_value(t)
    return None if value is None else [int(v) for v in np.reshape(value, -1)]


def merge_shapes(shapes) -> TensorShape:
    """The most specific shape compatible with all of ``shapes``.

    Raises:
        ValueError: if two shapes conflict.
    """
    merged = TensorShape(None)
    for s in shapes:
        merged = merged.merge_with(s)
    return merged


def as_outputs(values):
    """A list-output kernel's result: the array itself when the op has one output, else a tuple."""
    values = tuple(values)
    return values[0] if len(values) == 1 else values


def apply_with_indices(op_type: str, name: str | None, index_args: dict, **kwargs):
    """``apply_op`` with the index inputs in ``index_args`` converted as TensorFlow converts them.

    Python ints become int32 (NumPy arrays keep their dtype) rather than the
    first type an OpDef allows, which is int16 for ``GatherV2``'s indices or
    ``StridedSlice``'s bounds. The constants get the op's scope and the arg name.
    """
    graph = _graph_of([*index_args.values(), *kwargs.values()])
    with graph.as_default(), graph.name_scope(name or op_type) as scope:
        for key, value in index_args.items():
            kwargs[key] = value if _is_tensor(value) else convert_to_tensor(value, name=key)
        return apply_op(op_type, name=scope, **kwargs)


def _is_tensor(value) -> bool:
    return isinstance(value, Tensor) or hasattr(value, "_as_tensor")


def _graph_of(values):
    for v in values:
        graph = getattr(v, "graph", None)
        if graph is not None and hasattr(graph, "_create_op"):
            return graph
    return get_default_graph()

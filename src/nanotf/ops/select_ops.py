"""Array ops that select by a condition: one-hot, where, select; boolean and sequence masks.

Each op is one ``register_op`` block (TensorFlow's signature, shape function,
NumPy kernel, gradient); the Python API builds the same GraphDefs as
TensorFlow's ``tf.one_hot``, ``tf.where``, ``tf.boolean_mask`` and
``tf.sequence_mask``.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import NUMBER
from nanotf.ops.gradient_util import sum_to
from nanotf.ops.gradient_util import zeros_like

__all__ = ["one_hot", "where", "where_v2", "boolean_mask", "sequence_mask"]


# -- OneHot / Where -----------------------------------------------------------------------
def _one_hot_shape(op):
    indices = op.inputs[0].shape
    if indices.ndims is None:
        return [TensorShape(None)]
    dims, axis = indices.as_list(), op.get_attr("axis")
    if axis < -1:
        raise ValueError(f"axis must be >= -1, got {axis}")
    depth = common_shapes.constant_value(op.inputs[1])
    axis = len(dims) if axis == -1 else axis  # as TF, a too-large axis is only rejected at run time
    return [TensorShape(dims[:axis] + [None if depth is None else int(depth)] + dims[axis:])]


def _one_hot(attrs, indices, depth, on_value, off_value):
    depth = int(depth)
    if depth < 0:
        raise errors.InvalidArgumentError(f"indices must be non-negative, got depth {depth}")
    if on_value.ndim or off_value.ndim:
        raise errors.InvalidArgumentError("on_value and off_value must be scalars")
    axis = indices.ndim if attrs["axis"] == -1 else attrs["axis"]
    if not 0 <= axis <= indices.ndim:
        raise errors.InvalidArgumentError(
            f"Expected axis to be -1 or between [0, {indices.ndim + 1}).  But received: {attrs['axis']}"
        )
    hot = indices[..., None] == np.arange(depth)  # out-of-range indices give all-off rows
    return np.moveaxis(np.where(hot, on_value, off_value).astype(on_value.dtype), -1, axis)


register_op("OneHot", ["indices: TI", "depth: int32", "on_value: T", "off_value: T"], ["output: T"],
            ["axis: int = -1", "T: type", "TI: {uint8, int8, int32, int64} = DT_INT64"],
            shape=_one_hot_shape, kernel=_one_hot, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("Where", ["input: T"], ["index: int64"], [f"T: {NUMBER[:-1]}, bool}} = DT_BOOL"],
            shape=lambda op: [TensorShape([None, op.inputs[0].shape.ndims])],
            kernel=lambda attrs, x: np.argwhere(x).astype(np.int64), grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Select / SelectV2 ----------------------------------------------------------------------
def _select_shape(op):
    cond, t, e = (x.shape for x in op.inputs)
    try:
        out = t.merge_with(e)
        if cond.ndims is not None and cond.ndims == out.ndims:
            out = out.merge_with(cond)
    except ValueError:
        raise ValueError(f"Select needs t and e of one shape (and condition of it or its first dim), got "
                         f"{cond}, {t}, {e}") from None  # fmt: skip
    return [out]


def _select(attrs, cond, t, e):
    if t.shape != e.shape or (cond.shape != t.shape and cond.ndim > 1) or (
            cond.ndim == 1 and t.ndim > 0 and cond.shape[0] != t.shape[0]):  # fmt: skip
        raise errors.InvalidArgumentError(
            f"Select: condition {list(cond.shape)}, t {list(t.shape)} and e {list(e.shape)}: t and e must match, "
            "and condition must match them, be a scalar, or be a vector over their first dimension"
        )
    return np.where(cond.reshape(cond.shape + (1,) * (t.ndim - cond.ndim)), t, e)


def _select_grad(op, grad):
    zeros = zeros_like(grad)
    cond = op.inputs[0]
    return [None, apply_op("Select", condition=cond, t=grad, e=zeros, name="Select"),
            apply_op("Select", condition=cond, t=zeros, e=grad, name="Select_1")]  # fmt: skip


register_op("Select", ["condition: bool", "t: T", "e: T"], ["output: T"], ["T: type"],
            shape=_select_shape, kernel=_select, grad=_select_grad)  # fmt: skip


def _select_v2_shape(op):
    cond, t, e = (x.shape for x in op.inputs)
    return [common_shapes.broadcast_shape(cond, common_shapes.broadcast_shape(t, e))]


def _select_v2(attrs, cond, t, e):
    try:
        return np.where(cond, t, e).astype(t.dtype, copy=False)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"condition {list(cond.shape)}, then {list(t.shape)} and else {list(e.shape)} must be broadcastable"
        ) from None


def _select_v2_grad(op, grad):
    cond, t, e = op.inputs
    zero = constant(np.zeros((), grad.dtype.base_dtype.as_numpy_dtype), name="zeros")
    gt = apply_op("SelectV2", condition=cond, t=grad, e=zero, name="SelectV2")
    ge = apply_op("SelectV2", condition=cond, t=zero, e=grad, name="SelectV2_1")
    return [None, sum_to(gt, t), sum_to(ge, e, "_1")]


register_op("SelectV2", ["condition: bool", "t: T", "e: T"], ["output: T"], ["T: type"],
            shape=_select_v2_shape, kernel=_select_v2, grad=_select_v2_grad)  # fmt: skip


# -- Python API -----------------------------------------------------------------
def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors for ``indices`` along a new ``axis`` of size ``depth`` (TF1 ``tf.one_hot``).

    The output dtype is ``dtype``, else that of ``on_value``/``off_value``,
    else float32; out-of-range indices give rows of ``off_value``.

    Raises:
        TypeError: if ``on_value``, ``off_value`` and ``dtype`` disagree.
    """
    with name_scope(name, "one_hot", [indices, depth, on_value, off_value]) as scope:
        given = {}
        for key, value in (("on_value", on_value), ("off_value", off_value)):
            if value is not None:
                given[key] = convert_to_tensor(value, dtype_hint=dtype)
        found = {t.dtype.base_dtype for t in given.values()}
        if len(found) > 1 or (dtype is not None and found and found != {dtypes.as_dtype(dtype)}):
            raise TypeError(f"dtype of on_value/off_value ({', '.join(sorted(d.name for d in found))}) "
                            f"does not match dtype {dtype}")  # fmt: skip
        dtype = dtypes.as_dtype(dtype) if dtype is not None else (found.pop() if found else dtypes.float32)
        on = given["on_value"] if "on_value" in given else convert_to_tensor(1, dtype, name="on_value")
        off = given["off_value"] if "off_value" in given else convert_to_tensor(0, dtype, name="off_value")
        return apply_op("OneHot", indices=indices, depth=depth, on_value=on, off_value=off,
                        axis=-1 if axis is None else axis, name=scope)  # fmt: skip


def where(condition, x=None, y=None, name=None):
    """TF1 ``tf.where``: the int64 coordinates of true elements, or ``Select(condition, x, y)``."""
    return _where("Select", condition, x, y, name)


def where_v2(condition, x=None, y=None, name=None):
    """Like ``where``, but ``condition``, ``x`` and ``y`` broadcast (``SelectV2``)."""
    return _where("SelectV2", condition, x, y, name)


def _where(select_op: str, condition, x, y, name):
    if x is None and y is None:
        return apply_op("Where", input=condition, name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return apply_op(select_op, condition=condition, t=x, e=y, name=name or select_op)


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """The entries of ``tensor`` where ``mask`` is true (TF1 ``tf.boolean_mask``).

    The mask covers dims ``axis .. axis + mask.ndims`` of ``tensor``; those
    dims are flattened to one, and the kept rows are gathered with the
    coordinates from ``Where``, as TensorFlow builds it.

    Raises:
        ValueError: for a scalar mask or one of unknown rank.
    """
    with name_scope(name, "boolean_mask", [tensor, mask]):
        tensor = convert_to_tensor(tensor, name="tensor")
        mask = convert_to_tensor(mask, name="mask")
        k = mask.shape.ndims
        if k == 0:
            raise ValueError("mask cannot be scalar.")
        if k is None:
            raise ValueError("Number of mask dimensions must be specified, even if some dimensions are None.  "
                             "E.g. shape=[None] is ok, but shape=None is not.")  # fmt: skip
        axis = 0 if axis is None else int(axis)
        tensor.shape[axis : axis + k].assert_is_compatible_with(mask.shape)
        leading = apply_op("Prod", input=apply_op("Shape", input=tensor)[axis : axis + k],
                           reduction_indices=np.array([0], np.int32), keep_dims=False, name="Prod")  # fmt: skip
        outer = apply_op("Shape", input=tensor, name="Shape_1")[:axis]
        inner = apply_op("Shape", input=tensor, name="Shape_2")[axis + k :]
        new_shape = apply_op("ConcatV2", values=[outer, [leading], inner], axis=np.int32(0), name="concat")
        flat = apply_op("Reshape", tensor=tensor, shape=new_shape, name="Reshape")
        if tensor.shape.ndims is not None:
            dims = tensor.shape.as_list()
            masked = dims[axis : axis + k]
            first = None if None in masked else int(np.prod(masked))
            flat.set_shape(dims[:axis] + [first] + dims[axis + k :])
        flat_mask = apply_op("Reshape", tensor=mask, shape=np.array([-1], np.int32), name="Reshape_1")
        coords = apply_op("Where", input=flat_mask, name="Where")
        indices = apply_op("Squeeze", input=coords, squeeze_dims=[1], name="Squeeze")
        return apply_op("GatherV2", params=flat, indices=indices, axis=np.int32(axis), name="GatherV2")


def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool, name=None):
    """``mask[..., j] = j < lengths[...]`` for ``j < maxlen`` (TF1 ``tf.sequence_mask``).

    Args:
        lengths: integer tensor of lengths.
        maxlen: the size of the last dimension (default: the largest length).
        dtype: the output dtype; non-bool dtypes are a ``Cast`` of the bool mask.
        name: the name scope (default ``SequenceMask``).
    """
    with name_scope(name, "SequenceMask", [lengths, maxlen]):
        lengths = convert_to_tensor(lengths)
        if maxlen is None:
            if lengths.shape.ndims is not None:
                axes = constant(np.arange(lengths.shape.ndims, dtype=np.int32), name="Const")
            else:
                axes = apply_op("Range", start=np.int32(0), limit=apply_op("Rank", input=lengths), delta=np.int32(1))
            longest = apply_op("Max", input=lengths, reduction_indices=axes, keep_dims=False, name="Max")
            zero = constant(np.zeros((), longest.dtype.as_numpy_dtype), name="Const")
            maxlen = apply_op("Maximum", x=zero, y=longest, name="Maximum")
        else:
            maxlen = convert_to_tensor(maxlen)
        if maxlen.shape.ndims not in (None, 0):
            raise ValueError(f"Argument `maxlen` must be scalar for sequence_mask, received `maxlen` = {maxlen}.")
        kind = maxlen.dtype.base_dtype.as_numpy_dtype
        positions = apply_op("Range", start=constant(kind(0), name="Const"), limit=maxlen,
                             delta=constant(kind(1), name="Const"), name="Range")  # fmt: skip
        column = apply_op("ExpandDims", input=lengths, dim=np.int32(-1), name="ExpandDims")
        column = apply_op("Cast", x=column, DstT=maxlen.dtype.base_dtype, Truncate=False, name="Cast")
        result = apply_op("Less", x=positions, y=column, name="Less")
        if dtype is None or dtypes.as_dtype(dtype) == dtypes.bool:
            return result
        return apply_op("Cast", x=result, DstT=dtypes.as_dtype(dtype), Truncate=False, name="Cast")

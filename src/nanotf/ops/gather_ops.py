"""Array ops that index: gather/scatter, segment sums, dynamic stitch, one-hot, where and select.

Each op is one ``register_op`` block (TensorFlow's signature, shape function,
NumPy kernel, gradient). ``GatherV2``'s gradient in TensorFlow is an
``IndexedSlices``; nanotf has no ``IndexedSlices`` yet, so the rule emits the
dense tensor TensorFlow makes when such a gradient meets a dense consumer:
an ``UnsortedSegmentSum`` of the gathered rows' gradients by index.
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
from nanotf.ops._array_util import apply_with_indices
from nanotf.ops._array_util import axis_value
from nanotf.ops._array_util import merge_shapes
from nanotf.ops._array_util import shape_tensor
from nanotf.ops._types import NUMBER
from nanotf.ops.gradient_util import sum_to
from nanotf.ops.gradient_util import zeros_like

__all__ = ["gather", "gather_nd", "scatter_nd", "unsorted_segment_sum", "dynamic_stitch", "one_hot", "where",
           "where_v2", "boolean_mask", "sequence_mask"]  # fmt: skip

_INDICES = "{int16, int32, int64}"


def _check_range(indices, limit: int, what: str = "indices"):
    bad = (indices < 0) | (indices >= limit)
    if np.any(bad):
        pos = np.argwhere(bad)[0]
        where = "".join(f"[{p}]" for p in pos) if indices.ndim else ""
        raise errors.InvalidArgumentError(f"{what}{where} = {indices[tuple(pos)]} is not in [0, {limit})")


# -- GatherV2 -----------------------------------------------------------------------------
def _gather_shape(op):
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    if params.ndims is None or indices.ndims is None:
        return [TensorShape(None)]
    batch_dims = op.get_attr("batch_dims")
    batch_dims = batch_dims + indices.ndims if batch_dims < 0 else batch_dims
    axis = common_shapes.constant_value(op.inputs[2])
    if axis is None:
        return [TensorShape([None] * (params.ndims + indices.ndims - batch_dims - 1))]
    axis = int(axis)
    if not -params.ndims <= axis < params.ndims:
        raise ValueError(f"GatherV2 axis {axis} is out of range for params of shape {params}")
    axis %= params.ndims
    p, i = params.as_list(), indices.as_list()
    batch = merge_shapes([TensorShape(p[:batch_dims]), TensorShape(i[:batch_dims])]).as_list()
    return [TensorShape(batch + p[batch_dims:axis] + i[batch_dims:] + p[axis + 1 :])]


def _gather(attrs, params, indices, axis):
    if params.ndim == 0:
        raise errors.InvalidArgumentError("params must be at least 1 dimensional")
    axis = int(axis) % params.ndim
    batch_dims = attrs["batch_dims"] + (indices.ndim if attrs["batch_dims"] < 0 else 0)
    _check_range(indices, params.shape[axis])
    if batch_dims == 0:
        return np.take(params, indices, axis=axis)
    # Each batch element gathers from its own slice of params.
    out_shape = params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1 :]
    out = np.empty(out_shape, params.dtype)
    for b in np.ndindex(*params.shape[:batch_dims]):
        out[b] = np.take(params[b], indices[b], axis=axis - batch_dims)
    return out


def _shape_part(x, shape_t, start: int, stop: int | None):
    # x.shape[start:stop] as a constant array when static, else a slice of the shape tensor.
    if stop == 0:
        return np.zeros(0, np.int32)
    if x.shape.ndims is not None:
        dims = x.shape.as_list()[start:stop]
        if None not in dims:
            return np.array(dims, np.int32)
    return shape_t[start:stop]


def _vector(parts):
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts).astype(np.int32)
    return apply_op("ConcatV2", values=list(parts), axis=np.int32(0), name="concat")


def _gather_grad(op, grad):
    # Rows of `grad`, one per index, summed into the params slot each index names.
    params, indices, axis_t = op.inputs
    rank = params.shape.ndims
    axis = axis_value(axis_t, rank)
    if op.get_attr("batch_dims") != 0 or axis is None or (rank is None and axis != 0):
        raise errors.UnimplementedError(
            f"nanotf differentiates GatherV2 only with batch_dims=0 and a constant axis on params of known rank "
            f"(op {op.name})"
        )
    params_shape = None if params.shape.is_fully_defined() else apply_op("Shape", input=params, name="Shape")
    count = indices.shape.num_elements()
    if count is not None:
        count = np.array([count], np.int32)
    else:
        size = apply_op("Size", input=indices, name="Size")
        count = apply_op("ExpandDims", input=size, dim=np.int32(0), name="ExpandDims")
    outer = _shape_part(params, params_shape, 0, axis)
    values_shape = _vector([outer, count, _shape_part(params, params_shape, axis + 1, None)])
    values = apply_op("Reshape", tensor=grad, shape=values_shape, name="Reshape")
    ids = apply_op("Reshape", tensor=indices, shape=np.array([-1], np.int32), name="Reshape_1")
    dim = params.shape.as_list()[axis] if rank is not None else None
    num = np.int32(dim) if dim is not None else params_shape[axis]
    if axis == 0:
        return [apply_op("UnsortedSegmentSum", data=values, segment_ids=ids, num_segments=num, name="UnsortedSegmentSum"),
                None, None]  # fmt: skip
    # Move the index axis to the front, sum by index, and move it back.
    perm = [axis] + list(range(axis)) + list(range(axis + 1, rank))
    front = apply_op("Transpose", x=values, perm=np.array(perm, np.int32), name="transpose")
    summed = apply_op("UnsortedSegmentSum", data=front, segment_ids=ids, num_segments=num, name="UnsortedSegmentSum")
    back = np.argsort(perm).astype(np.int32)
    return [apply_op("Transpose", x=summed, perm=back, name="transpose_1"), None, None]


register_op("GatherV2", ["params: Tparams", "indices: Tindices", "axis: Taxis"], ["output: Tparams"],
            ["batch_dims: int = 0", "Tparams: type", f"Tindices: {_INDICES}", "Taxis: {int32, int64}"],
            shape=_gather_shape, kernel=_gather, grad=_gather_grad)  # fmt: skip


# -- GatherNd / ScatterNd -------------------------------------------------------------------
def _nd_rows(indices, shape, policy: bytes, what: str):
    """Flattened index rows and a mask of the valid ones; raises on a bad row unless the policy ignores it."""
    k = indices.shape[-1]
    rows = indices.reshape(-1, k)
    valid = np.all((rows >= 0) & (rows < np.array(shape[:k], dtype=np.int64)), axis=1)
    if not np.all(valid) and policy != b"IGNORE":
        i = int(np.argmin(valid))
        raise errors.InvalidArgumentError(
            f"indices[{i}] = {rows[i].tolist()} does not index into {what} shape {list(shape)}"
        )
    return rows, valid


def _gather_nd_shape(op):
    params, indices = op.inputs[0].shape, op.inputs[1].shape
    if params.ndims is None or indices.ndims is None or indices.as_list()[-1] is None:
        return [TensorShape(None)]
    k = indices.as_list()[-1]
    if k > params.ndims:
        raise ValueError(f"indices.shape[-1] must be <= params.rank, but saw indices shape {indices} and params shape {params}")
    return [TensorShape(indices.as_list()[:-1] + params.as_list()[k:])]


def _gather_nd(attrs, params, indices):
    k = indices.shape[-1]
    if k > params.ndim:
        raise errors.InvalidArgumentError(f"indices.shape[-1] must be <= params.rank, got {k} > {params.ndim}")
    rows, valid = _nd_rows(indices, params.shape, attrs["bad_indices_policy"], "param")
    out = np.zeros((rows.shape[0],) + params.shape[k:], params.dtype)
    out[valid] = params[tuple(rows[valid].T)] if k else params
    return out.reshape(indices.shape[:-1] + params.shape[k:])


def _scatter_nd_shape(op):
    return [common_shapes.constant_value_as_shape(op.inputs[2])]


def _scatter_nd(attrs, indices, updates, shape):
    shape = tuple(int(d) for d in shape)
    k = indices.shape[-1]
    expected = indices.shape[:-1] + shape[k:]
    if k > len(shape) or updates.shape != expected:
        raise errors.InvalidArgumentError(
            f"updates shape {list(updates.shape)} must be indices.shape[:-1] + shape[indices.shape[-1]:] = "
            f"{list(expected)} (indices {list(indices.shape)}, shape {list(shape)})"
        )
    rows, valid = _nd_rows(indices, shape, attrs["bad_indices_policy"], "output")
    out = np.zeros(shape, updates.dtype)
    flat = updates.reshape((rows.shape[0],) + shape[k:])
    np.add.at(out, tuple(rows[valid].T), flat[valid])  # duplicate indices add up
    return out


register_op("GatherNd", ["params: Tparams", "indices: Tindices"], ["output: Tparams"],
            ["Tparams: type", f"Tindices: {_INDICES}", "bad_indices_policy: string = ''"],
            shape=_gather_nd_shape, kernel=_gather_nd,
            grad=lambda op, grad: [apply_op("ScatterNd", indices=op.inputs[1], updates=grad, name="ScatterNd",
                                            shape=shape_tensor(op.inputs[0], op.inputs[1].dtype.base_dtype)),
                                   None])  # fmt: skip
register_op("ScatterNd", ["indices: Tindices", "updates: T", "shape: Tindices"], ["output: T"],
            ["T: type", f"Tindices: {_INDICES}", "bad_indices_policy: string = ''"],
            shape=_scatter_nd_shape, kernel=_scatter_nd,
            grad=lambda op, grad: [None, apply_op("GatherNd", params=grad, indices=op.inputs[0], name="GatherNd"),
                                   None])  # fmt: skip


# -- UnsortedSegmentSum / DynamicStitch ---------------------------------------------------------
def _segment_sum_shape(op):
    data, ids = op.inputs[0].shape, op.inputs[1].shape
    if data.ndims is None or ids.ndims is None:
        return [TensorShape(None)]
    if not TensorShape(data.as_list()[: ids.ndims]).is_compatible_with(ids):
        raise ValueError(f"data.shape {data} must start with segment_ids.shape {ids}")
    num = common_shapes.constant_value(op.inputs[2])
    return [TensorShape([None if num is None else int(num)] + data.as_list()[ids.ndims :])]


def _unsorted_segment_sum(attrs, data, ids, num_segments):
    num = int(num_segments)
    if data.shape[: ids.ndim] != ids.shape:
        raise errors.InvalidArgumentError(
            f"data.shape = {list(data.shape)} does not start with segment_ids.shape = {list(ids.shape)}"
        )
    _check_range(np.where(ids < 0, 0, ids), num, "segment_ids")
    out = np.zeros((num,) + data.shape[ids.ndim :], data.dtype)
    keep = ids >= 0  # negative ids drop their rows
    np.add.at(out, ids[keep], data[keep])
    return out


def _row_mask_shape(ids, rows):
    # ids' shape followed by a 1 for each dim a data row adds, so the mask broadcasts over rows.
    if ids.shape.ndims is not None and rows.shape.ndims is not None:
        ones = np.ones(rows.shape.ndims - ids.shape.ndims, np.int32)
    else:
        extra = apply_op("Sub", x=apply_op("Rank", input=rows, name="Rank"), y=apply_op("Rank", input=ids, name="Rank_1"),
                         name="sub")  # fmt: skip
        dims = apply_op("ExpandDims", input=extra, dim=np.int32(0), name="ExpandDims")
        ones = apply_op("Fill", dims=dims, value=np.int32(1), name="ones")
    ids_shape = np.array(ids.shape.as_list(), np.int32) if ids.shape.is_fully_defined() else shape_tensor(ids)
    return _vector([ids_shape, ones])


def _segment_sum_grad(op, grad):
    # Each data row gets its segment's gradient; rows with a negative id get zeros.
    ids = op.inputs[1]
    safe_ids = apply_op("Maximum", x=ids, y=zeros_like(ids), name="Maximum")
    rows = apply_op("GatherV2", params=grad, indices=safe_ids, axis=np.int32(0), name="GatherV2")
    keep = apply_op("GreaterEqual", x=ids, y=np.array(0, ids.dtype.base_dtype.as_numpy_dtype), name="GreaterEqual")
    if ids.shape.ndims is None or rows.shape.ndims != ids.shape.ndims:
        keep = apply_op("Reshape", tensor=keep, shape=_row_mask_shape(ids, rows), name="Reshape")
    zero = constant(np.zeros((), grad.dtype.base_dtype.as_numpy_dtype), name="zeros")
    return [apply_op("SelectV2", condition=keep, t=rows, e=zero, name="SelectV2"), None, None]


register_op("UnsortedSegmentSum", ["data: T", "segment_ids: Tindices", "num_segments: Tnumsegments"], ["output: T"],
            [f"T: {NUMBER}", f"Tindices: {_INDICES}", "Tnumsegments: {int32, int64} = DT_INT32"],
            shape=_segment_sum_shape, kernel=_unsorted_segment_sum, grad=_segment_sum_grad)  # fmt: skip


def _stitch_shape(op):
    n = len(op.inputs) // 2
    indices, data = op.inputs[:n], op.inputs[n:]
    rows = [TensorShape(d.shape.as_list()[i.shape.ndims :]) for i, d in zip(indices, data)
            if i.shape.ndims is not None and d.shape.ndims is not None]  # fmt: skip
    if not rows:
        return [TensorShape(None)]
    values = [common_shapes.constant_value(i) for i in indices]
    first = None
    if all(v is not None for v in values):
        first = max((int(v.max()) for v in values if v.size), default=-1) + 1
    return [TensorShape([first] + merge_shapes(rows).as_list())]


def _dynamic_stitch(attrs, *args):
    n = len(args) // 2
    indices, data = args[:n], args[n:]
    for i, (ix, d) in enumerate(zip(indices, data)):
        if d.shape[: ix.ndim] != ix.shape:
            raise errors.InvalidArgumentError(
                f"data[{i}].shape = {list(d.shape)} does not start with indices[{i}].shape = {list(ix.shape)}"
            )
    row_shape = data[0].shape[indices[0].ndim :]
    flat_ids = np.concatenate([ix.reshape(-1) for ix in indices]).astype(np.int64)
    rows = np.concatenate([d.reshape((-1,) + row_shape) for d in data])
    if np.any(flat_ids < 0):
        raise errors.InvalidArgumentError(f"DynamicStitch indices must be non-negative, got {int(flat_ids.min())}")
    merged = np.zeros((int(flat_ids.max()) + 1 if flat_ids.size else 0,) + row_shape, data[0].dtype)
    # A later occurrence of an index wins: keep each index's last position.
    _, first_in_reverse = np.unique(flat_ids[::-1], return_index=True)
    last = flat_ids.size - 1 - first_in_reverse
    merged[flat_ids[last]] = rows[last]
    return merged


def _stitch_grad(op, grad):
    n = len(op.inputs) // 2
    gathered = [apply_op("GatherV2", params=grad, indices=ix, axis=np.int32(0), name="GatherV2") for ix in op.inputs[:n]]
    return [None] * n + gathered


register_op("DynamicStitch", ["indices: N * int32", "data: N * T"], ["merged: T"], ["N: int >= 1", "T: type"],
            shape=_stitch_shape, kernel=_dynamic_stitch, grad=_stitch_grad)  # fmt: skip


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
def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """``params`` entries at ``indices`` along ``axis`` (TF1 ``tf.gather``, a ``GatherV2``)."""
    del validate_indices
    return apply_with_indices("GatherV2", name, {"indices": indices}, params=params, axis=0 if axis is None else axis,
                              batch_dims=batch_dims)  # fmt: skip


def gather_nd(params, indices, name=None, batch_dims=0):
    """Slices of ``params`` addressed by the last axis of ``indices`` (``GatherNd``)."""
    if batch_dims != 0:
        raise errors.UnimplementedError("tf.gather_nd with batch_dims != 0 is not supported by nanotf yet")
    return apply_with_indices("GatherNd", name, {"indices": indices}, params=params)


def scatter_nd(indices, updates, shape, name=None):
    """A zero tensor of ``shape`` with ``updates`` added at ``indices`` (``ScatterNd``)."""
    return apply_with_indices("ScatterNd", name, {"indices": indices, "shape": shape}, updates=updates)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """Sums of the rows of ``data`` grouped by ``segment_ids`` (negative ids are dropped)."""
    return apply_with_indices("UnsortedSegmentSum", name, {"segment_ids": segment_ids}, data=data,
                              num_segments=num_segments)  # fmt: skip


def dynamic_stitch(indices, data, name=None):
    """Interleaves ``data`` rows into one tensor at positions ``indices`` (``DynamicStitch``)."""
    return apply_op("DynamicStitch", indices=list(indices), data=list(data), name=name or "DynamicStitch")


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
    if x is None and y is None:
        return apply_op("Where", input=condition, name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return apply_op("Select", condition=condition, t=x, e=y, name=name or "Select")


def where_v2(condition, x=None, y=None, name=None):
    """Like ``where``, but ``condition``, ``x`` and ``y`` broadcast (``SelectV2``)."""
    if x is None and y is None:
        return apply_op("Where", input=condition, name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    return apply_op("SelectV2", condition=condition, t=x, e=y, name=name or "SelectV2")


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

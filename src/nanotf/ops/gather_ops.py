"""Array ops that index: gather/scatter, segment sums and dynamic stitch (one-hot, where and select: ``select_ops``).

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
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._array_util import apply_with_indices
from nanotf.ops._array_util import axis_value
from nanotf.ops._array_util import merge_shapes
from nanotf.ops._array_util import shape_tensor
from nanotf.ops._types import NUMBER
from nanotf.ops.gradient_util import zeros_like

__all__ = ["gather", "gather_nd", "scatter_nd", "unsorted_segment_sum", "dynamic_stitch"]

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

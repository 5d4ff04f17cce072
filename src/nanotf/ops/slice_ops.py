"""Array ops that cut out or grow regions: Slice, StridedSlice, Pad (constant and mirrored), Tile, BroadcastTo.

Each op is one ``register_op`` block (TensorFlow's signature, shape function,
NumPy kernel, gradient). The gradients pair up as TensorFlow's do: a slice's
gradient pads (``Pad``, ``StridedSliceGrad``), a pad's gradient slices
(``Slice``, ``MirrorPadGrad``), and ``Tile``/``BroadcastTo`` sum the copies.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import register_op
from nanotf.framework.tensor import Tensor
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._array_util import apply_with_indices
from nanotf.ops._array_util import int_list
from nanotf.ops._array_util import rank_tensor
from nanotf.ops._array_util import shape_tensor
from nanotf.ops.gradient_util import reduce_to_shape
from nanotf.ops.gradient_util import static_reduction_axes

__all__ = ["slice", "strided_slice", "pad", "tile", "broadcast_to"]


def _rank_from(x, vector) -> int | None:
    # The rank of `x`, else the length of the 1-D (or [rank, 2]) tensor `vector` describing it.
    if x.shape.ndims is not None:
        return x.shape.ndims
    return vector.shape[0].value if vector.shape.ndims else None


# -- Slice ------------------------------------------------------------------------------
def _slice_shape(op):
    x, begin, size = op.inputs
    rank = _rank_from(x, begin)
    rank = _rank_from(x, size) if rank is None else rank
    if rank is None:
        return [TensorShape(None)]
    b, s = int_list(begin), int_list(size)
    if s is None:
        return [TensorShape([None] * rank)]
    dims = x.shape.as_list() if x.shape.ndims is not None else [None] * rank
    out = []
    for i, (d, n) in enumerate(zip(dims, s)):
        start = None if b is None else b[i]
        if n == -1:
            out.append(None if d is None or start is None else d - start)
        else:
            out.append(n)
    return [TensorShape(out)]


def _slice(attrs, x, begin, size):
    if begin.size != x.ndim or size.size != x.ndim:
        raise errors.InvalidArgumentError(
            f"Expected begin and size arguments to be 1-D tensors of size {x.ndim}, but got shapes "
            f"{list(begin.shape)} and {list(size.shape)} instead."
        )
    index = []
    for i, (b, s, d) in enumerate(zip(begin.tolist(), size.tolist(), x.shape)):
        s = d - b if s == -1 else s
        if not 0 <= b <= d:
            raise errors.InvalidArgumentError(f"Expected begin[{i}] in [0, {d}], but got {b}")
        if not 0 <= s <= d - b:
            raise errors.InvalidArgumentError(f"Expected size[{i}] in [0, {d - b}], but got {s}")
        index.append(builtins.slice(b, b + s))
    return x[tuple(index)]


def _slice_grad(op, grad):
    # Pad the gradient back out: `begin` zeros before, (input - output - begin) zeros after each dim.
    x, begin, out = op.inputs[0], op.inputs[1], op.outputs[0]
    index_type = begin.dtype.base_dtype
    b = int_list(begin)
    if b is not None and x.shape.is_fully_defined() and out.shape.is_fully_defined():
        after = [d - n - s for d, n, s in zip(x.shape.as_list(), out.shape.as_list(), b)]
        paddings = constant(np.array([b, after], index_type.as_numpy_dtype).T, name="paddings")
    else:
        if x.shape.ndims is not None:
            stack = constant(np.array([x.shape.ndims, 1], np.int32), name="stack")
        else:
            stack = apply_op("Pack", values=[rank_tensor(x), np.int32(1)], axis=0, name="stack")
        before = apply_op("Reshape", tensor=begin, shape=stack, name="Reshape")
        grown = apply_op("Sub", x=shape_tensor(x, index_type, "Shape_1"), y=shape_tensor(out, index_type), name="sub")
        after = apply_op("Sub", x=grown, y=begin, name="sub_1")
        after = apply_op("Reshape", tensor=after, shape=stack, name="Reshape_1")
        paddings = apply_op("ConcatV2", values=[before, after], axis=np.int32(1), name="concat")
    return [apply_op("Pad", input=grad, paddings=paddings, name="Pad"), None, None]


register_op("Slice", ["input: T", "begin: Index", "size: Index"], ["output: T"], ["T: type", "Index: {int32, int64}"],
            shape=_slice_shape, kernel=_slice, grad=_slice_grad)  # fmt: skip


# -- StridedSlice / StridedSliceGrad ---------------------------------------------------------
# The size an unknown dim is probed at: large enough that any index into it is in range.
_UNKNOWN_PROBE = 2**31 - 1
_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _strided_slice_index(attrs, begin, end, strides):
    # The NumPy index equivalent to TF's sparse slice spec (bit i of each mask applies to entry i).
    index = []
    for i, (b, e, s) in enumerate(zip(begin.tolist(), end.tolist(), strides.tolist())):
        bit = 1 << i
        if attrs["ellipsis_mask"] & bit:
            index.append(Ellipsis)
        elif attrs["new_axis_mask"] & bit:
            index.append(None)
        elif attrs["shrink_axis_mask"] & bit:
            index.append(b)
        else:
            index.append(builtins.slice(None if attrs["begin_mask"] & bit else b, None if attrs["end_mask"] & bit else e, s))
    return tuple(index)


def _slice_sources(attrs, n_spec: int, ndims: int) -> list:
    """For each output dim of a strided slice, the input dim it comes from (None for a new axis)."""
    bits = [1 << i for i in range(n_spec)]
    consumed = sum(1 for b in bits if not (attrs["ellipsis_mask"] | attrs["new_axis_mask"]) & b)
    sources, d = [], 0
    for b in bits:
        if attrs["ellipsis_mask"] & b:
            sources.extend(range(d, d + ndims - consumed))
            d += ndims - consumed
        elif attrs["new_axis_mask"] & b:
            sources.append(None)
        else:
            if not attrs["shrink_axis_mask"] & b:
                sources.append(d)
            d += 1
    return sources + list(range(d, ndims))


def _strided_slice_shape(op):
    shape = op.inputs[0].shape
    consts = [common_shapes.constant_value(t) for t in op.inputs[1:]]
    n = op.inputs[1].shape.num_elements()
    if shape.ndims is None or (n is None and any(c is None for c in consts)):
        return [TensorShape(None)]
    attrs = _masks(op)
    known = all(c is not None for c in consts)
    if not known:
        # Only the masks fix the output rank; index with stand-in values and keep no sizes.
        consts = [np.zeros(n, np.int64), np.ones(n, np.int64), np.ones(n, np.int64)]
    # Index a zero-stride probe; as in TF, a dim sliced from an unknown input dim stays unknown.
    dims = shape.as_list()
    probe = np.broadcast_to(np.int8(0), [_UNKNOWN_PROBE if d is None else d for d in dims])
    try:
        out = probe[_strided_slice_index(attrs, *consts)].shape
    except (IndexError, ValueError) as err:
        raise ValueError(f"Invalid StridedSlice of shape {shape}: {err}") from None
    sources = _slice_sources(attrs, int(consts[0].size), len(dims))
    return [TensorShape([None if not known or (src is not None and dims[src] is None) else size
                         for size, src in zip(out, sources)])]  # fmt: skip


def _strided_slice(attrs, x, begin, end, strides):
    try:
        return np.asarray(x[_strided_slice_index(attrs, begin, end, strides)])
    except (IndexError, ValueError) as err:
        raise errors.InvalidArgumentError(f"StridedSlice of shape {list(x.shape)}: {err}") from None


def _strided_slice_grad_kernel(attrs, shape, begin, end, strides, dy):
    out = np.zeros(shape, dy.dtype)
    try:
        out[_strided_slice_index(attrs, begin, end, strides)] = dy
    except (IndexError, ValueError) as err:
        raise errors.InvalidArgumentError(f"StridedSliceGrad into shape {shape.tolist()}: {err}") from None
    return out


def _masks(op) -> dict:
    return {k: op.get_attr(k) for k in _MASKS}


def _strided_slice_grad(op, grad):
    x, begin, end, strides = op.inputs
    shape = shape_tensor(x, begin.dtype.base_dtype)
    dx = apply_op("StridedSliceGrad", shape=shape, begin=begin, end=end, strides=strides, dy=grad,
                  name="StridedSliceGrad", **_masks(op))  # fmt: skip
    return [dx, None, None, None]


register_op(
    "StridedSlice", ["input: T", "begin: Index", "end: Index", "strides: Index"], ["output: T"],
    ["T: type", "Index: {int16, int32, int64}", "begin_mask: int = 0", "end_mask: int = 0", "ellipsis_mask: int = 0",
     "new_axis_mask: int = 0", "shrink_axis_mask: int = 0"],
    shape=_strided_slice_shape, kernel=_strided_slice, grad=_strided_slice_grad,
)  # fmt: skip
register_op(
    "StridedSliceGrad", ["shape: Index", "begin: Index", "end: Index", "strides: Index", "dy: T"], ["output: T"],
    ["T: type", "Index: {int32, int64}", "begin_mask: int = 0", "end_mask: int = 0", "ellipsis_mask: int = 0",
     "new_axis_mask: int = 0", "shrink_axis_mask: int = 0"],
    shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[0])], kernel=_strided_slice_grad_kernel,
    grad=lambda op, grad: [None, None, None, None, apply_op(
        "StridedSlice", input=grad, begin=op.inputs[1], end=op.inputs[2], strides=op.inputs[3], name="StridedSlice",
        **_masks(op))],
)  # fmt: skip


# -- Pad / PadV2 / MirrorPad / MirrorPadGrad -----------------------------------------------
def _padded_shape(sign: int):
    # Output dims are input dims + sign * (before + after); unknown paddings leave the rank only.
    def shape_fn(op):
        x, paddings = op.inputs[0], op.inputs[1]
        rank = _rank_from(x, paddings)
        if rank is None:
            return [TensorShape(None)]
        p = common_shapes.constant_value(paddings)
        if p is None:
            return [TensorShape([None] * rank)]
        if p.shape != (rank, 2):
            raise ValueError(f"paddings must be a [{rank}, 2] matrix for an input of rank {rank}, got shape {list(p.shape)}")
        dims = x.shape.as_list() if x.shape.ndims is not None else [None] * rank
        return [TensorShape([None if d is None else d + sign * int(a + b) for d, (a, b) in zip(dims, p)])]

    return shape_fn


def _check_paddings(x, paddings):
    if paddings.shape != (x.ndim, 2):
        raise errors.InvalidArgumentError(
            f"The first dimension of paddings must be the rank of inputs{list(paddings.shape)} {list(x.shape)}"
        )
    if np.any(paddings < 0):
        raise errors.InvalidArgumentError(f"Paddings must be non-negative: {paddings.tolist()}")


def _pad(attrs, x, paddings, constant_values=None):
    _check_paddings(x, paddings)
    fill = 0 if constant_values is None else constant_values
    if np.ndim(fill) != 0:
        raise errors.InvalidArgumentError(f"constant_values must be a scalar, got shape {list(np.shape(fill))}")
    return np.pad(x, paddings, mode="constant", constant_values=fill).astype(x.dtype, copy=False)


def _pad_grad(op, grad):
    # Slice the un-padded region back out of the gradient; no gradient for paddings or the fill value.
    x, paddings = op.inputs[0], op.inputs[1]
    index_type = paddings.dtype.base_dtype
    p = common_shapes.constant_value(paddings)
    if p is not None:
        begin = constant(np.ascontiguousarray(p[:, 0]), name="begin")
    else:
        if x.shape.ndims is not None:
            size = constant(np.array([x.shape.ndims, 1], index_type.as_numpy_dtype), name="stack")
        else:
            rank = rank_tensor(x)
            if index_type != dtypes.int32:
                rank = apply_op("Cast", x=rank, DstT=index_type, Truncate=False, name="Cast")
            size = apply_op("Pack", values=[rank, np.array(1, index_type.as_numpy_dtype)], axis=0, name="stack")
        before = apply_op("Slice", input=paddings, begin=np.zeros(2, index_type.as_numpy_dtype), size=size, name="Slice")
        begin = apply_op("Reshape", tensor=before, shape=np.array([-1], np.int32), name="Reshape")
    x_grad = apply_op("Slice", input=grad, begin=begin, size=shape_tensor(x, index_type), name="Slice_1")
    return [x_grad] + [None] * (len(op.inputs) - 1)


register_op("Pad", ["input: T", "paddings: Tpaddings"], ["output: T"], ["T: type", "Tpaddings: {int32, int64} = DT_INT32"],
            shape=_padded_shape(1), kernel=_pad, grad=_pad_grad)  # fmt: skip
register_op("PadV2", ["input: T", "paddings: Tpaddings", "constant_values: T"], ["output: T"],
            ["T: type", "Tpaddings: {int32, int64} = DT_INT32"], shape=_padded_shape(1), kernel=_pad,
            grad=_pad_grad)  # fmt: skip

_MIRROR_MODES = {"REFLECT": "reflect", "SYMMETRIC": "symmetric"}


def _text(value) -> str:
    # String attrs arrive as bytes.
    return value.decode() if isinstance(value, bytes) else value


def _mirror_pad(attrs, x, paddings):
    _check_paddings(x, paddings)
    mode = _text(attrs["mode"])
    # REFLECT leaves out the edge element, so it can repeat one element fewer than SYMMETRIC.
    limit_offset = 1 if mode == "REFLECT" else 0
    for d, (a, b) in zip(x.shape, paddings.tolist()):
        if max(a, b) > d - limit_offset:
            raise errors.InvalidArgumentError(
                f"paddings must be no greater than the dimension size{' minus 1' if limit_offset else ''}: "
                f"{a}, {b} greater than {d - limit_offset}"
            )
    return np.pad(x, paddings, mode=_MIRROR_MODES[mode])


def _mirror_pad_grad_kernel(attrs, dy, paddings):
    # Each output element adds into the input element it mirrors: pad the index range, then scatter-add.
    mode = _text(attrs["mode"])
    out = dy
    for axis, (a, b) in enumerate(paddings.tolist()):
        n = out.shape[axis] - a - b
        source = np.pad(np.arange(n), (a, b), mode=_MIRROR_MODES[mode])
        moved = np.moveaxis(out, axis, 0)
        summed = np.zeros((n,) + moved.shape[1:], dy.dtype)
        np.add.at(summed, source, moved)
        out = np.moveaxis(summed, 0, axis)
    return out


def _mirror_grad(op_type: str):
    # MirrorPad and MirrorPadGrad are each other's gradient; paddings get none.
    def grad_fn(op, grad):
        out = apply_op(op_type, input=grad, paddings=op.inputs[1], mode=_text(op.get_attr("mode")), name=op_type)
        return [out, None]

    return grad_fn


register_op("MirrorPad", ["input: T", "paddings: Tpaddings"], ["output: T"],
            ["T: type", "Tpaddings: {int32, int64} = DT_INT32", "mode: {'REFLECT', 'SYMMETRIC'}"],
            shape=_padded_shape(1), kernel=_mirror_pad, grad=_mirror_grad("MirrorPadGrad"))  # fmt: skip
register_op("MirrorPadGrad", ["input: T", "paddings: Tpaddings"], ["output: T"],
            ["T: type", "Tpaddings: {int32, int64} = DT_INT32", "mode: {'REFLECT', 'SYMMETRIC'}"],
            shape=_padded_shape(-1), kernel=_mirror_pad_grad_kernel, grad=_mirror_grad("MirrorPad"))  # fmt: skip


# -- Tile / BroadcastTo -------------------------------------------------------------------
def _tile_shape(op):
    x, multiples = op.inputs
    rank = _rank_from(x, multiples)
    if rank is None:
        return [TensorShape(None)]
    m = common_shapes.constant_value_as_shape(multiples)
    m = m.as_list() if m.ndims is not None else [None] * rank
    dims = x.shape.as_list() if x.shape.ndims is not None else [None] * rank
    if len(m) != rank:
        raise ValueError(f"Shape must be rank {rank} for multiples of Tile, got {len(m)} multiples")
    return [TensorShape([None if d is None or k is None else d * k for d, k in zip(dims, m)])]


def _tile(attrs, x, multiples):
    if multiples.shape != (x.ndim,):
        raise errors.InvalidArgumentError(
            f"Expected multiples argument to be a vector of length {x.ndim} but got length {multiples.size}"
        )
    if np.any(multiples < 0):
        raise errors.InvalidArgumentError(f"Expected multiples to be non-negative, got {multiples.tolist()}")
    return np.tile(x, multiples)


def _tile_grad(op, grad):
    # View the gradient as [m0, d0, m1, d1, ...] and sum the copies (the even axes).
    x, multiples = op.inputs
    m = int_list(multiples)
    if m is not None and x.shape.is_fully_defined():
        split_shape = np.array([v for pair in zip(m, x.shape.as_list()) for v in pair], np.int32)
        axes = np.arange(0, split_shape.size, 2, dtype=np.int32)
    else:
        index_type = multiples.dtype.base_dtype
        stacked = apply_op("Pack", values=[multiples, shape_tensor(x, index_type)], axis=0, name="stack")
        pairs = apply_op("Transpose", x=stacked, perm=np.array([1, 0], np.int32), name="transpose")
        split_shape = apply_op("Reshape", tensor=pairs, shape=np.array([-1], np.int32), name="Reshape")
        rank = _rank_from(x, multiples)
        if rank is not None:
            axes = np.arange(0, 2 * rank, 2, dtype=np.int32)
        else:
            size = apply_op("Size", input=split_shape, name="Size")
            axes = apply_op("Range", start=np.int32(0), limit=size, delta=np.int32(2), name="range")
    grouped = apply_op("Reshape", tensor=grad, shape=split_shape, name="Reshape_1")
    return [apply_op("Sum", input=grouped, reduction_indices=axes, keep_dims=False, name="Sum"), None]


register_op("Tile", ["input: T", "multiples: Tmultiples"], ["output: T"], ["T: type", "Tmultiples: {int32, int64} = DT_INT32"],
            shape=_tile_shape, kernel=_tile, grad=_tile_grad)  # fmt: skip


def _broadcast_to(attrs, x, shape):
    try:
        return np.broadcast_to(x, shape).copy()
    except ValueError:
        raise errors.InvalidArgumentError(
            f"Incompatible shapes: {list(x.shape)} vs. {shape.tolist()} (BroadcastTo)"
        ) from None


def _broadcast_to_grad(op, grad):
    # Sum over the broadcast axes, decided statically when the shapes allow it.
    x, target = op.inputs
    axes = static_reduction_axes(x.shape, op.outputs[0].shape)
    if axes is not None:
        return [reduce_to_shape(grad, x, axes), None]
    x_shape = shape_tensor(x, target.dtype.base_dtype)
    r0, _ = apply_op("BroadcastGradientArgs", s0=x_shape, s1=target, name="BroadcastGradientArgs")
    total = apply_op("Sum", input=grad, reduction_indices=r0, keep_dims=True, name="Sum")
    return [apply_op("Reshape", tensor=total, shape=x_shape, name="Reshape"), None]


def _broadcast_to_shape(op):
    # The target's known sizes; an unknown one is the input's size there when that is not 1.
    target = common_shapes.constant_value_as_shape(op.inputs[1])
    x = op.inputs[0].shape
    if target.ndims is None or x.ndims is None or x.ndims > target.ndims:
        return [target]
    dims = target.as_list()
    lead = len(dims) - x.ndims
    for i, d in enumerate(x.as_list()):
        if d in (None, 1):
            continue
        if dims[lead + i] is None:
            dims[lead + i] = d
        elif dims[lead + i] != d:
            raise ValueError(f"Dimensions must be equal, but are {d} and {dims[lead + i]}: cannot broadcast "
                             f"{x} to {target}")  # fmt: skip
    return [TensorShape(dims)]


register_op("BroadcastTo", ["input: T", "shape: Tidx"], ["output: T"], ["T: type", "Tidx: {int32, int64} = DT_INT32"],
            shape=_broadcast_to_shape, kernel=_broadcast_to,
            grad=_broadcast_to_grad)  # fmt: skip


# -- Python API -----------------------------------------------------------------
def slice(input_, begin, size, name=None):  # noqa: A001
    """The ``size``-sized block of ``input_`` starting at ``begin`` (-1 in ``size``: to the end)."""
    return apply_op("Slice", input=input_, begin=begin, size=size, name=name or "Slice")


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                  shrink_axis_mask=0, var=None, name=None):  # fmt: skip
    """``StridedSlice`` with explicit masks (TF1 ``tf.strided_slice``); ``strides`` default to ones."""
    del var
    if strides is None:
        strides = (apply_op("OnesLike", x=begin, name="ones_like") if isinstance(begin, Tensor)
                   else np.ones(np.shape(begin), np.int32))  # fmt: skip
    return apply_with_indices("StridedSlice", name, {"begin": begin, "end": end, "strides": strides}, input=input_,
                              begin_mask=begin_mask, end_mask=end_mask, ellipsis_mask=ellipsis_mask,
                              new_axis_mask=new_axis_mask, shrink_axis_mask=shrink_axis_mask)  # fmt: skip


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """Pads ``tensor`` (TF1 ``tf.pad``).

    Args:
        tensor: the input.
        paddings: an int ``[rank, 2]`` matrix: elements added before and after each dimension.
        mode: ``"CONSTANT"`` (``Pad``, or ``PadV2`` for a non-zero ``constant_values``),
            ``"REFLECT"`` or ``"SYMMETRIC"`` (``MirrorPad``); case-insensitive.
        name: the op name.
        constant_values: the fill value in CONSTANT mode.

    Returns:
        The padded tensor.
    """
    mode = mode.upper()
    if mode == "CONSTANT":
        if not isinstance(constant_values, Tensor) and np.ndim(constant_values) == 0 and constant_values == 0:
            return apply_op("Pad", input=tensor, paddings=paddings, name=name or "Pad")
        tensor = convert_to_tensor(tensor)
        return apply_op("PadV2", input=tensor, paddings=paddings, constant_values=constant_values, name=name or "PadV2")
    if mode in _MIRROR_MODES:
        return apply_op("MirrorPad", input=tensor, paddings=paddings, mode=mode, name=name or "MirrorPad")
    raise ValueError(f'Value of argument `mode` expected to be one of "CONSTANT", "REFLECT", or "SYMMETRIC". '
                     f"Received `mode` = {mode}")  # fmt: skip


def tile(input, multiples, name=None):  # noqa: A002
    return apply_op("Tile", input=input, multiples=multiples, name=name or "Tile")


def broadcast_to(input, shape, name=None):  # noqa: A002
    return apply_op("BroadcastTo", input=input, shape=shape, name=name or "BroadcastTo")

"""Array ops that rearrange elements: reshape, expand/squeeze, transpose, concat/split, pack/unpack, reverse.

Each op is one ``register_op`` block (TensorFlow's signature, shape function,
NumPy kernel, gradient). Gradients are built from the op types TensorFlow's
rules use (``InvertPermutation`` for ``Transpose``, ``ConcatOffset`` +
``Slice`` for ``ConcatV2``, ``ConcatV2`` for the splits), so the graphs run in
TensorFlow too.
"""

from __future__ import annotations

import numbers

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
from nanotf.framework.tensor_shape import Dimension
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._array_util import as_outputs
from nanotf.ops._array_util import axis_value
from nanotf.ops._array_util import int_list
from nanotf.ops._array_util import merge_shapes
from nanotf.ops._array_util import rank_tensor
from nanotf.ops._array_util import shape_tensor

__all__ = ["reshape", "expand_dims", "squeeze", "transpose", "invert_permutation", "concat", "stack", "unstack",
           "split", "reverse", "reverse_v2"]  # fmt: skip


def _check_axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        raise ValueError(f"{what} {axis} is out of range for a tensor of rank {rank}; expected [{-rank}, {rank})")
    return axis % rank


# -- Reshape ----------------------------------------------------------------------
def _reshape_shape(op):
    target = common_shapes.constant_value_as_shape(op.inputs[1])
    n = op.inputs[0].shape.num_elements()
    if target.ndims is None or n is None:
        return [target]
    dims = target.as_list()
    unknown = [i for i, d in enumerate(dims) if d is None]
    known = int(np.prod([d for d in dims if d is not None]))
    if not unknown and known != n:
        raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims} ({known} elements)")
    if len(unknown) == 1 and known:
        if n % known:
            raise ValueError(f"Cannot reshape a tensor with {n} elements to shape {dims}: {n} is not a multiple of {known}")
        dims[unknown[0]] = n // known
    return [TensorShape(dims)]


def _reshape(attrs, x, shape):
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"Input to reshape is a tensor with {x.size} values, but the requested shape has "
            f"{int(np.prod(shape[shape >= 0]))}"
        ) from None


def _reshape_grad(op, grad):
    # Back to the input's shape; a single unknown dim becomes -1 so the target stays a constant.
    x = op.inputs[0]
    if x.shape.ndims is not None and not x.shape.is_fully_defined():
        dims = x.shape.as_list()
        if dims.count(None) == 1 and 0 not in dims:
            target = np.array([-1 if d is None else d for d in dims], np.int32)
            return [apply_op("Reshape", tensor=grad, shape=target, name="Reshape"), None]
    return [apply_op("Reshape", tensor=grad, shape=shape_tensor(x), name="Reshape"), None]


def _reshape_to_input(op, grad):
    return apply_op("Reshape", tensor=grad, shape=shape_tensor(op.inputs[0]), name="Reshape")


register_op("Reshape", ["tensor: T", "shape: Tshape"], ["output: T"], ["T: type", "Tshape: {int32, int64} = DT_INT32"],
            shape=_reshape_shape, kernel=_reshape, grad=_reshape_grad)  # fmt: skip


# -- ExpandDims / Squeeze -------------------------------------------------------------
def _expand_dims_shape(op):
    shape, dim = op.inputs[0].shape, common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or dim is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    d = _check_axis(int(np.reshape(dim, -1)[0]), len(dims) + 1, "ExpandDims dim")
    return [TensorShape(dims[:d] + [1] + dims[d:])]


register_op("ExpandDims", ["input: T", "dim: Tdim"], ["output: T"], ["T: type", "Tdim: {int32, int64} = DT_INT32"],
            shape=_expand_dims_shape, kernel=lambda attrs, x, d: np.expand_dims(x, int(np.reshape(d, -1)[0])),
            grad=lambda op, grad: [_reshape_to_input(op, grad), None])  # fmt: skip


def _squeeze_shape(op):
    shape, axes = op.inputs[0].shape, op.get_attr("squeeze_dims")
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    if not axes:
        return [TensorShape([d for d in dims if d != 1])] if None not in dims else [TensorShape(None)]
    axes = {_check_axis(a, len(dims), "Squeeze dim") for a in axes}
    for a in sorted(axes):
        if dims[a] not in (1, None):
            raise ValueError(f"Can not squeeze dim[{a}], expected a dimension of 1, got {dims[a]}")
    return [TensorShape([d for i, d in enumerate(dims) if i not in axes])]


def _squeeze(attrs, x):
    axes = tuple(attrs["squeeze_dims"])
    for a in axes:
        if x.shape[a] != 1:
            raise errors.InvalidArgumentError(
                f"Can not squeeze dim[{a % x.ndim}], expected a dimension of 1, got {x.shape[a]}"
            )
    return np.squeeze(x, axis=axes or None)


register_op("Squeeze", ["input: T"], ["output: T"], ["T: type", "squeeze_dims: list(int) >= 0 = []"],
            shape=_squeeze_shape, kernel=_squeeze, grad=lambda op, grad: [_reshape_to_input(op, grad)])  # fmt: skip


# -- Transpose / InvertPermutation ----------------------------------------------------
def _transpose_shape(op):
    shape, perm = op.inputs[0].shape, int_list(op.inputs[1])
    if perm is None:
        n = shape.ndims if shape.ndims is not None else op.inputs[1].shape.num_elements()
        return [TensorShape(None if n is None else [None] * n)]
    if shape.ndims is None:
        return [TensorShape([None] * len(perm))]
    # Like TF, only the range is checked statically; the kernel rejects repeats.
    if len(perm) != shape.ndims or any(not -shape.ndims <= p < shape.ndims for p in perm):
        raise ValueError(f"perm {perm} does not index the {shape.ndims} axes of shape {shape}")
    dims = shape.as_list()
    return [TensorShape([dims[p] for p in perm])]


def _transpose(attrs, x, perm):
    if sorted(perm.tolist()) != list(range(x.ndim)):
        raise errors.InvalidArgumentError(f"transpose expects a permutation of {x.ndim} axes, got {perm.tolist()}")
    return np.transpose(x, perm)


def _transpose_grad(op, grad):
    inverse = apply_op("InvertPermutation", x=op.inputs[1], name="InvertPermutation")
    return [apply_op("Transpose", x=grad, perm=inverse, name="transpose"), None]


register_op("Transpose", ["x: T", "perm: Tperm"], ["y: T"], ["T: type", "Tperm: {int32, int64} = DT_INT32"],
            shape=_transpose_shape, kernel=_transpose, grad=_transpose_grad)  # fmt: skip


def _invert_permutation(attrs, x):
    if x.ndim != 1 or sorted(x.tolist()) != list(range(x.size)):
        raise errors.InvalidArgumentError(f"InvertPermutation expects a permutation of 0..n-1, got {x.tolist()}")
    y = np.empty_like(x)
    y[x] = np.arange(x.size, dtype=x.dtype)
    return y


register_op("InvertPermutation", ["x: T"], ["y: T"], ["T: {int32, int64} = DT_INT32"],
            shape=lambda op: [op.inputs[0].shape.with_rank(1)], kernel=_invert_permutation,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- ConcatV2 / ConcatOffset --------------------------------------------------------------
def _concat_shape(op):
    shapes = [t.shape for t in op.inputs[:-1]]
    ranks = {s.ndims for s in shapes if s.ndims is not None}
    if not ranks:
        return [TensorShape(None)]
    if len(ranks) > 1:
        raise ValueError(f"Shape must be of the same rank for every input of ConcatV2, got {[str(s) for s in shapes]}")
    rank = ranks.pop()
    axis = common_shapes.constant_value(op.inputs[-1])
    if axis is None:
        return [TensorShape([None] * rank)]
    axis = _check_axis(int(axis), rank, "ConcatV2 axis")
    known = [s.as_list() for s in shapes if s.ndims is not None]
    merged = merge_shapes(TensorShape(d[:axis] + [None] + d[axis + 1 :]) for d in known).as_list()
    sizes = [d[axis] for d in known]
    merged[axis] = sum(sizes) if len(known) == len(shapes) and None not in sizes else None
    return [TensorShape(merged)]


def _concat(attrs, *xs):
    try:
        return np.concatenate(xs[:-1], axis=int(xs[-1]))
    except ValueError as err:
        raise errors.InvalidArgumentError(f"ConcatOp: {err}; shapes {[list(x.shape) for x in xs[:-1]]}") from None


def _concat_grad(op, grad):
    # Each input's gradient is the slice of `grad` at that input's offset along the axis.
    values, axis = op.inputs[:-1], op.inputs[-1]
    static_axis = axis_value(axis, values[0].shape.ndims)
    if static_axis is not None and values[0].shape.ndims is not None:
        concat_dim = constant(np.int32(static_axis), name="concat_dim")
    else:
        if axis.dtype.base_dtype != dtypes.int32:
            axis = apply_op("Cast", x=axis, DstT=dtypes.int32, Truncate=False, name="Cast")
        concat_dim = apply_op("FloorMod", x=axis, y=rank_tensor(values[0]), name="mod")
    if all(v.shape.is_fully_defined() for v in values):
        shapes = [shape_tensor(v, name="Shape") for v in values]
    else:
        shapes = apply_op("ShapeN", input=list(values), name="ShapeN")
    offsets = apply_op("ConcatOffset", concat_dim=concat_dim, shape=shapes, name="ConcatOffset")
    return [apply_op("Slice", input=grad, begin=o, size=s, name="Slice") for o, s in zip(offsets, shapes)] + [None]


register_op("ConcatV2", ["values: N * T", "axis: Tidx"], ["output: T"],
            ["N: int >= 2", "T: type", "Tidx: {int32, int64} = DT_INT32"], shape=_concat_shape, kernel=_concat,
            grad=_concat_grad)  # fmt: skip


def _concat_offset(attrs, concat_dim, *shapes):
    rank = shapes[0].size
    dim = int(concat_dim)
    if not -rank <= dim < rank:
        raise errors.InvalidArgumentError(f"Concat dim is out of range: {dim} vs. {rank}")
    dim %= rank
    offsets, offset = [], 0
    for i, s in enumerate(shapes):
        if s.size != rank:
            raise errors.InvalidArgumentError(f"input {i} should contain {rank} elements, but got {s.size}")
        mismatch = [j for j in range(rank) if j != dim and s[j] != shapes[0][j]]
        if mismatch:
            j = mismatch[0]
            raise errors.InvalidArgumentError(f"input[{i},{j}] mismatch: {shapes[0][j]} vs. {s[j]}")
        o = np.zeros_like(s)
        o[dim] = offset
        offset += s[dim]
        offsets.append(o)
    return tuple(offsets)


register_op("ConcatOffset", ["concat_dim: int32", "shape: N * shape_type"], ["offset: N * shape_type"],
            ["N: int >= 2", "shape_type: {int32, int64} = DT_INT32"],
            shape=lambda op: [t.shape for t in op.inputs[1:]], kernel=_concat_offset,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Pack / Unpack ----------------------------------------------------------------------
def _pack_shape(op):
    try:
        shape = merge_shapes(t.shape for t in op.inputs)
    except ValueError:
        raise ValueError(f"Shapes of all inputs must match for Pack: {[str(t.shape) for t in op.inputs]}") from None
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    a = _check_axis(op.get_attr("axis"), len(dims) + 1, "Pack axis")
    return [TensorShape(dims[:a] + [len(op.inputs)] + dims[a:])]


def _pack(attrs, *xs):
    if any(x.shape != xs[0].shape for x in xs):
        raise errors.InvalidArgumentError(f"Shapes of all inputs must match: {[list(x.shape) for x in xs]}")
    return np.stack(xs, axis=attrs["axis"])


register_op("Pack", ["values: N * T"], ["output: T"], ["N: int >= 1", "T: type", "axis: int = 0"],
            shape=_pack_shape, kernel=_pack,
            grad=lambda op, grad: apply_op("Unpack", value=grad, num=len(op.inputs), axis=op.get_attr("axis"),
                                           name="unstack"))  # fmt: skip


def _unpack_shape(op):
    shape, n = op.inputs[0].shape, op.get_attr("num")
    if shape.ndims is None:
        return [TensorShape(None)] * n
    dims = shape.as_list()
    a = _check_axis(op.get_attr("axis"), len(dims), "Unpack axis")
    if dims[a] not in (None, n):
        raise ValueError(f"Dimension {a} of {shape} is {dims[a]}, but Unpack was asked for num={n}")
    del dims[a]
    return [TensorShape(dims)] * n


def _unpack(attrs, x):
    axis = attrs["axis"]
    if x.shape[axis] != attrs["num"]:
        raise errors.InvalidArgumentError(f"Input shape axis {axis} must equal {attrs['num']}, got shape {list(x.shape)}")
    return as_outputs(np.moveaxis(x, axis, 0))


register_op("Unpack", ["value: T"], ["output: num * T"], ["num: int >= 0", "T: type", "axis: int = 0"],
            shape=_unpack_shape, kernel=_unpack,
            grad=lambda op, *grads: [apply_op("Pack", values=list(grads), axis=op.get_attr("axis"), name="stack")])  # fmt: skip


# -- Split / SplitV ---------------------------------------------------------------------
def _split_dims(value, axis_tensor):
    # (dims, axis) of the split input, or (None, None) / (dims, None) where unknown.
    shape = value.shape
    if shape.ndims is None:
        return None, None
    return shape.as_list(), axis_value(axis_tensor, shape.ndims)


def _split_shape(op):
    n = op.get_attr("num_split")
    dims, axis = _split_dims(op.inputs[1], op.inputs[0])
    if dims is None:
        return [TensorShape(None)] * n
    if axis is None:
        return [TensorShape([None] * len(dims))] * n
    if dims[axis] is not None:
        if dims[axis] % n:
            raise ValueError(f"Dimension size must be evenly divisible by {n} but is {dims[axis]} for Split "
                             f"along axis {axis} of shape {dims}")  # fmt: skip
        dims[axis] //= n
    return [TensorShape(dims)] * n


def _split(attrs, axis, x):
    n, axis = attrs["num_split"], int(axis)
    if x.shape[axis] % n:
        raise errors.InvalidArgumentError(
            f"Number of ways to split should evenly divide the split dimension, but got split_dim {axis} "
            f"(size = {x.shape[axis]}) and num_split {n}"
        )
    return as_outputs(np.split(x, n, axis=axis))


def _concat_grads(grads, axis):
    if len(grads) == 1:
        return apply_op("Identity", input=grads[0], name="concat")
    return apply_op("ConcatV2", values=list(grads), axis=axis, name="concat")


register_op("Split", ["split_dim: int32", "value: T"], ["output: num_split * T"], ["num_split: int >= 1", "T: type"],
            shape=_split_shape, kernel=_split,
            grad=lambda op, *grads: [None, _concat_grads(grads, op.inputs[0])])  # fmt: skip


def _resolve_sizes(sizes: list, total: int | None) -> list:
    # Fill in the one -1 entry of SplitV's size_splits (None when the total is unknown).
    if sizes.count(-1) > 1:
        raise ValueError(f"size_splits may contain at most one -1, got {sizes}")
    known = sum(s for s in sizes if s != -1)
    if total is not None and (known > total or (-1 not in sizes and known != total)):
        raise ValueError(f"size_splits {sizes} do not add up to the split dimension's size {total}")
    rest = None if total is None else total - known
    return [rest if s == -1 else s for s in sizes]


def _split_v_shape(op):
    n = op.get_attr("num_split")
    dims, axis = _split_dims(op.inputs[0], op.inputs[2])
    if dims is None:
        return [TensorShape(None)] * n
    sizes = int_list(op.inputs[1])
    if axis is None:
        return [TensorShape([None] * len(dims))] * n
    sizes = [None] * n if sizes is None else _resolve_sizes(sizes, dims[axis])
    return [TensorShape(dims[:axis] + [s] + dims[axis + 1 :]) for s in sizes]


def _split_v(attrs, x, size_splits, axis):
    axis = int(axis)
    try:
        sizes = _resolve_sizes([int(s) for s in size_splits], x.shape[axis])
    except ValueError as err:
        raise errors.InvalidArgumentError(str(err)) from None
    return as_outputs(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


register_op("SplitV", ["value: T", "size_splits: Tlen", "split_dim: int32"], ["output: num_split * T"],
            ["num_split: int >= 1", "T: type", "Tlen: {int8, int32, int64} = DT_INT64"],
            shape=_split_v_shape, kernel=_split_v,
            grad=lambda op, *grads: [_concat_grads(grads, op.inputs[2]), None, None])  # fmt: skip


# -- ReverseV2 ----------------------------------------------------------------------------
def _reverse(attrs, x, axis):
    axes = [a % x.ndim if x.ndim else a for a in axis.tolist()]
    if len(set(axes)) != len(axes):
        raise errors.InvalidArgumentError(f"axis {axis.tolist()} specifies an axis more than once")
    return np.flip(x, axis=tuple(axes)) if axes else x


register_op("ReverseV2", ["tensor: T", "axis: Tidx"], ["output: T"],
            ["Tidx: {int32, int64} = DT_INT32",
             ("T: {uint8, int8, uint16, int16, int32, uint32, int64, uint64, bool, bfloat16, half, float, double, "
              "complex64, complex128, string}")],
            shape=common_shapes.same_as_input, kernel=_reverse,
            grad=lambda op, grad: [apply_op("ReverseV2", tensor=grad, axis=op.inputs[1], name="ReverseV2"), None])  # fmt: skip


# -- Python API -----------------------------------------------------------------
def reshape(tensor, shape, name=None):
    return apply_op("Reshape", tensor=tensor, shape=shape, name=name or "Reshape")


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    return apply_op("ExpandDims", input=input, dim=dim if axis is None else axis, name=name or "ExpandDims")


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    axis = squeeze_dims if axis is None else axis
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return apply_op("Squeeze", input=input, squeeze_dims=axis, name=name or "Squeeze")


def transpose(a, perm=None, name="transpose"):
    """``a`` with its axes permuted by ``perm`` (default: reversed, computed at run time for unknown rank)."""
    a = convert_to_tensor(a)
    if perm is not None or a.shape.ndims:
        if perm is None:
            perm = np.arange(a.shape.ndims - 1, -1, -1, dtype=np.int32)
        return apply_op("Transpose", x=a, perm=perm, name=name)
    with name_scope(name, "transpose", [a]) as scope:
        rank = apply_op("Rank", input=a, name="Rank")
        last = apply_op("Sub", x=rank, y=np.int32(1), name="sub")
        perm = apply_op("Range", start=last, limit=np.int32(-1), delta=np.int32(-1), name="Range")
        return apply_op("Transpose", x=a, perm=perm, name=scope)


def invert_permutation(x, name=None):
    """The inverse of permutation ``x`` (``InvertPermutation``): ``y[x[i]] = i``."""
    return apply_op("InvertPermutation", x=x, name=name or "InvertPermutation")


def concat(values, axis, name="concat"):
    """Concatenation along ``axis``; one value gives an ``Identity`` as TF."""
    if len(values) == 1:
        with name_scope(name) as scope:
            return apply_op("Identity", input=values[0], name=scope)
    return apply_op("ConcatV2", values=list(values), axis=axis, name=name)


def stack(values, axis=0, name="stack"):
    return apply_op("Pack", values=list(values), axis=axis, name=name)


def unstack(value, num=None, axis=0, name="unstack"):
    value = convert_to_tensor(value)
    if num is None:
        num = value.shape.as_list()[axis]
        if num is None:
            raise ValueError(f"Cannot infer argument `num` from shape {value.shape}")
    return apply_op("Unpack", value=value, num=num, axis=axis, name=name)


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Splits ``value`` along ``axis`` (TF1 ``tf.split``).

    Args:
        value: the tensor to split.
        num_or_size_splits: an int (``Split`` into that many equal parts) or a
            1-D list/tensor of sizes (``SplitV``; one entry may be -1).
        axis: the dimension to split along.
        num: the number of outputs when it cannot be read from the sizes' shape.
        name: the op name.

    Returns:
        A list of tensors.
    """
    if isinstance(num_or_size_splits, (numbers.Integral, Dimension)):
        return apply_op("Split", split_dim=axis, value=value, num_split=int(num_or_size_splits), name=name)
    size_splits = convert_to_tensor(num_or_size_splits)
    if size_splits.shape.ndims == 0:
        raise ValueError(f"Rank-0 tensors are not supported as the num_or_size_splits argument to split: "
                         f"{num_or_size_splits}")  # fmt: skip
    if num is None:
        num = size_splits.shape[0].value if size_splits.shape.ndims else None
        if num is None:
            raise ValueError(f"Cannot infer argument `num` from shape {size_splits.shape}")
    return apply_op("SplitV", value=value, size_splits=size_splits, split_dim=axis, num_split=num, name=name)


def reverse(tensor, axis, name=None):
    """``tensor`` with the dimensions in ``axis`` reversed (``ReverseV2``)."""
    return apply_op("ReverseV2", tensor=tensor, axis=axis, name=name or "ReverseV2")


reverse_v2 = reverse

"""Array ops: constants, placeholders, Identity, and shape manipulation.

Each op is one ``register_op`` block (signature copied from TensorFlow's OpDef,
shape function, NumPy kernel); the Python API functions below compose them with
TensorFlow's default op names.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework import tensor_util
from nanotf.framework.graph import get_default_graph
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.framework.tensor_shape import as_shape

_UNKNOWN_SHAPE_DEFAULT = "{ unknown_rank: true }"


def _const_kernel(attrs):
    return tensor_util.make_ndarray(attrs["value"])


register_op("Const", [], ["output: dtype"], ["value: tensor", "dtype: type"],
            shape=lambda op: [TensorShape(op.get_attr("value").tensor_shape)], kernel=_const_kernel,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _placeholder_kernel(ctx, attrs):
    raise errors.InvalidArgumentError(
        f"You must feed a value for placeholder tensor '{ctx.name}' with dtype {attrs['dtype'].name}"
        + (f" and shape {_shape_text(attrs['shape'])}" if not attrs["shape"].unknown_rank else "")
    )


def _shape_text(proto) -> str:
    return "[" + ",".join(str(d.size) for d in proto.dim) + "]"


register_op("Placeholder", [], ["output: dtype"], ["dtype: type", f"shape: shape = {_UNKNOWN_SHAPE_DEFAULT}"],
            shape=lambda op: [TensorShape(op.get_attr("shape"))], kernel=_placeholder_kernel, uses_store=True)  # fmt: skip
register_op("PlaceholderWithDefault", ["input: dtype"], ["output: dtype"], ["dtype: type", "shape: shape"],
            shape=lambda op: [TensorShape(op.get_attr("shape"))], kernel=lambda attrs, x: x)  # fmt: skip
register_op("Identity", ["input: T"], ["output: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: x, grad=lambda op, grad: [grad])  # fmt: skip
register_op("StopGradient", ["input: T"], ["output: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: x, grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _reshape_shape(op):
    target = common_shapes.constant_value_as_shape(op.inputs[1])
    n = op.inputs[0].shape.num_elements()
    if target.ndims is not None and n is not None and sum(d is None for d in target.as_list()) == 1:
        known = int(np.prod([d for d in target.as_list() if d is not None]))
        if known:
            return [TensorShape([n // known if d is None else d for d in target.as_list()])]
    return [target]


def _reshape(attrs, x, shape):
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise errors.InvalidArgumentError(
            f"Input to reshape is a tensor with {x.size} values, but the requested shape has "
            f"{int(np.prod(shape[shape >= 0]))}"
        ) from None


register_op("Reshape", ["tensor: T", "shape: Tshape"], ["output: T"], ["T: type", "Tshape: {int32, int64} = DT_INT32"],
            shape=_reshape_shape, kernel=_reshape)  # fmt: skip
register_op("Fill", ["dims: index_type", "value: T"], ["output: T"], ["T: type", "index_type: {int32, int64} = DT_INT32"],
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[0])],
            kernel=lambda attrs, dims, value: np.full(dims, value, dtype=value.dtype))  # fmt: skip
register_op("ZerosLike", ["x: T"], ["y: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: np.zeros_like(x))  # fmt: skip
register_op("OnesLike", ["x: T"], ["y: T"],
            ["T: {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64, complex64, complex128, bool}"],
            shape=common_shapes.same_as_input, kernel=lambda attrs, x: np.ones_like(x))  # fmt: skip


def _rank1(op):
    ndims = op.inputs[0].shape.ndims
    return [TensorShape([ndims])]


register_op("Shape", ["input: T"], ["output: out_type"], ["T: type", "out_type: {int32, int64} = DT_INT32"],
            shape=_rank1, kernel=lambda attrs, x: np.array(x.shape, dtype=attrs["out_type"].as_numpy_dtype),
            grad=NOT_DIFFERENTIABLE,
            full_types={"output": 'type_id: TFT_SHAPE_TENSOR args { type_id: TFT_VAR s: "out_type" }'})  # fmt: skip
register_op("Size", ["input: T"], ["output: out_type"], ["T: type", "out_type: {int32, int64} = DT_INT32"],
            shape=lambda op: [TensorShape([])], grad=NOT_DIFFERENTIABLE,
            kernel=lambda attrs, x: np.array(x.size, dtype=attrs["out_type"].as_numpy_dtype))  # fmt: skip
register_op("Rank", ["input: T"], ["output: int32"], ["T: type"], shape=lambda op: [TensorShape([])],
            kernel=lambda attrs, x: np.array(x.ndim, dtype=np.int32), grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _expand_dims_shape(op):
    shape, dim = op.inputs[0].shape, common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or dim is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    d = int(dim.reshape(-1)[0])
    d = d if d >= 0 else len(dims) + 1 + d
    return [TensorShape(dims[:d] + [1] + dims[d:])]


register_op("ExpandDims", ["input: T", "dim: Tdim"], ["output: T"], ["T: type", "Tdim: {int32, int64} = DT_INT32"],
            shape=_expand_dims_shape, kernel=lambda attrs, x, d: np.expand_dims(x, int(np.reshape(d, -1)[0])))  # fmt: skip


def _squeeze_shape(op):
    shape, axes = op.inputs[0].shape, op.get_attr("squeeze_dims")
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    axes = {a % len(dims) for a in axes}
    if not axes:
        return [TensorShape([d for d in dims if d != 1])] if None not in dims else [TensorShape(None)]
    return [TensorShape([d for i, d in enumerate(dims) if i not in axes])]


register_op("Squeeze", ["input: T"], ["output: T"], ["T: type", "squeeze_dims: list(int) >= 0 = []"],
            shape=_squeeze_shape,
            kernel=lambda attrs, x: np.squeeze(x, axis=tuple(attrs["squeeze_dims"]) or None))  # fmt: skip


def _concat_shape(op):
    axis = common_shapes.constant_value(op.inputs[-1])
    shapes = [t.shape for t in op.inputs[:-1]]
    if axis is None or any(s.ndims is None for s in shapes):
        return [TensorShape(None)]
    a = int(axis) % shapes[0].ndims
    dims = shapes[0].as_list()
    sizes = [s.as_list()[a] for s in shapes]
    dims[a] = None if None in sizes else sum(sizes)
    return [TensorShape(dims)]


register_op("ConcatV2", ["values: N * T", "axis: Tidx"], ["output: T"],
            ["N: int >= 2", "T: type", "Tidx: {int32, int64} = DT_INT32"], shape=_concat_shape,
            kernel=lambda attrs, *xs: np.concatenate(xs[:-1], axis=int(xs[-1])))  # fmt: skip


def _pack_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [TensorShape(None)]
    dims = shape.as_list()
    a = op.get_attr("axis")
    a = a if a >= 0 else len(dims) + 1 + a
    return [TensorShape(dims[:a] + [len(op.inputs)] + dims[a:])]


register_op("Pack", ["values: N * T"], ["output: T"], ["N: int >= 1", "T: type", "axis: int = 0"],
            shape=_pack_shape, kernel=lambda attrs, *xs: np.stack(xs, axis=attrs["axis"]))  # fmt: skip


def _unpack_shape(op):
    shape, a, n = op.inputs[0].shape, op.get_attr("axis"), op.get_attr("num")
    if shape.ndims is None:
        return [TensorShape(None)] * n
    dims = shape.as_list()
    del dims[a]
    return [TensorShape(dims)] * n


register_op("Unpack", ["value: T"], ["output: num * T"], ["num: int >= 0", "T: type", "axis: int = 0"],
            shape=_unpack_shape,
            kernel=lambda attrs, x: tuple(np.moveaxis(x, attrs["axis"], 0)))  # fmt: skip


def _transpose_shape(op):
    shape, perm = op.inputs[0].shape, common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or perm is None:
        return [TensorShape(None) if shape.ndims is None else TensorShape([None] * shape.ndims)]
    dims = shape.as_list()
    return [TensorShape([dims[int(p)] for p in perm])]


register_op("Transpose", ["x: T", "perm: Tperm"], ["y: T"], ["T: type", "Tperm: {int32, int64} = DT_INT32"],
            shape=_transpose_shape, kernel=lambda attrs, x, perm: np.transpose(x, perm))  # fmt: skip


def _slice(attrs, x, begin, size):
    index = tuple(builtins.slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    return x[index]


register_op("Slice", ["input: T", "begin: Index", "size: Index"], ["output: T"], ["T: type", "Index: {int32, int64}"],
            shape=lambda op: [TensorShape(None)], kernel=_slice)  # fmt: skip


def _strided_slice_index(attrs, begin, end, strides):
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


def _strided_slice_shape(op):
    shape = op.inputs[0].shape
    consts = [common_shapes.constant_value(t) for t in op.inputs[1:]]
    if shape.ndims is None or any(c is None for c in consts):
        return [TensorShape(None)]
    attrs = {k: op.get_attr(k) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    # Index zero-stride probes; a dim unknown in the input is tried at two sizes,
    # and output dims that differ between the probes stay unknown.
    results = []
    for fill in (7919, 7927):
        probe = np.broadcast_to(np.int8(0), [fill if d is None else d for d in shape.as_list()])
        try:
            results.append(probe[_strided_slice_index(attrs, *consts)].shape)
        except IndexError:
            return [TensorShape(None)]
    return [TensorShape([a if a == b else None for a, b in zip(*results)])]


register_op(
    "StridedSlice", ["input: T", "begin: Index", "end: Index", "strides: Index"], ["output: T"],
    ["T: type", "Index: {int16, int32, int64}", "begin_mask: int = 0", "end_mask: int = 0", "ellipsis_mask: int = 0",
     "new_axis_mask: int = 0", "shrink_axis_mask: int = 0"],
    shape=_strided_slice_shape,
    kernel=lambda attrs, x, b, e, s: np.asarray(x[_strided_slice_index(attrs, b, e, s)]),
)  # fmt: skip


def _gather(attrs, params, indices, axis):
    axis = int(axis)
    if np.any(indices < 0) or np.any(indices >= params.shape[axis]):
        bad = indices[(indices < 0) | (indices >= params.shape[axis])].reshape(-1)[0]
        raise errors.InvalidArgumentError(f"indices = {bad} is not in [0, {params.shape[axis]})")
    return np.take(params, indices, axis=axis)


register_op("GatherV2", ["params: Tparams", "indices: Tindices", "axis: Taxis"], ["output: Tparams"],
            ["batch_dims: int = 0", "Tparams: type", "Tindices: {int16, int32, int64}", "Taxis: {int32, int64}"],
            shape=lambda op: [TensorShape(None)], kernel=_gather)  # fmt: skip
register_op("Tile", ["input: T", "multiples: Tmultiples"], ["output: T"], ["T: type", "Tmultiples: {int32, int64} = DT_INT32"],
            shape=lambda op: [TensorShape(None) if op.inputs[0].shape.ndims is None else TensorShape([None] * op.inputs[0].shape.ndims)],
            kernel=lambda attrs, x, m: np.tile(x, m))  # fmt: skip
register_op("BroadcastTo", ["input: T", "shape: Tidx"], ["output: T"], ["T: type", "Tidx: {int32, int64} = DT_INT32"],
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[1])],
            kernel=lambda attrs, x, s: np.broadcast_to(x, s).copy())  # fmt: skip
for _select in ("Select", "SelectV2"):
    register_op(_select, ["condition: bool", "t: T", "e: T"], ["output: T"], ["T: type"],
                shape=lambda op: [op.inputs[1].shape],
                kernel=lambda attrs, c, t, e: np.where(c.reshape(c.shape + (1,) * (t.ndim - c.ndim)), t, e))  # fmt: skip


# -- Python API -----------------------------------------------------------------
def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A ``Const`` op holding ``value`` (TF1 ``tf.constant``)."""
    if verify_shape and shape is not None and list(np.shape(value)) != list(as_shape(shape).as_list()):
        raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, got {np.shape(value)}.")
    if shape is not None and np.size(value) not in (1, int(np.prod(as_shape(shape).as_list()))):
        value = np.reshape(value, as_shape(shape).as_list())
    proto = tensor_util.make_tensor_proto(value, dtype=dtype, shape=shape)
    op = get_default_graph()._create_op("Const", [], {"value": proto, "dtype": proto.dtype}, name)
    return op.outputs[0]


def placeholder(dtype, shape=None, name=None):
    """A ``Placeholder``; feeding a value of another shape raises ValueError at ``run``."""
    return apply_op("Placeholder", dtype=dtypes.as_dtype(dtype), shape=as_shape(shape), name=name or "Placeholder")


def placeholder_with_default(input, shape, name=None):  # noqa: A002
    """``input`` unless fed (``PlaceholderWithDefault``)."""
    x = convert_to_tensor(input)
    return apply_op("PlaceholderWithDefault", input=x, dtype=x.dtype, shape=as_shape(shape),
                    name=name or "PlaceholderWithDefault")  # fmt: skip


def identity(input, name=None):  # noqa: A002
    if hasattr(input, "_as_tensor") and getattr(input, "_is_resource", False):
        input = input.read_value()
    return apply_op("Identity", input=input, name=name or "Identity")


def stop_gradient(input, name=None):  # noqa: A002
    return apply_op("StopGradient", input=input, name=name or "StopGradient")


def _filled(value, shape, dtype, name):
    dtype = dtypes.as_dtype(dtype).base_dtype
    with name_scope(name, "zeros" if value == 0 else "ones", [shape]) as scope:
        if isinstance(shape, (list, tuple, TensorShape)) and not any(hasattr(d, "op") for d in shape):
            dims = as_shape(shape).as_list()
            return constant(value, dtype=dtype, shape=dims, name=scope)
        shape = convert_to_tensor(shape, dtype=dtypes.int32, name="shape")
        return apply_op("Fill", dims=shape, value=np.array(value, dtype=dtype.as_numpy_dtype), name=scope)


def zeros(shape, dtype=dtypes.float32, name=None):
    """All-zeros tensor; a splat ``Const`` named ``zeros`` when the shape is static (as TF)."""
    return _filled(0, shape, dtype, name)


def ones(shape, dtype=dtypes.float32, name=None):
    """All-ones tensor; a splat ``Const`` named ``ones`` when the shape is static (as TF)."""
    return _filled(1, shape, dtype, name)


def zeros_like(tensor, dtype=None, name=None):
    x = convert_to_tensor(tensor)
    if dtype is not None and dtypes.as_dtype(dtype) != x.dtype.base_dtype:
        return zeros(apply_op("Shape", input=x), dtype, name)
    return apply_op("ZerosLike", x=x, name=name or "zeros_like")


def ones_like(tensor, dtype=None, name=None):
    x = convert_to_tensor(tensor)
    return apply_op("OnesLike", x=x, name=name or "ones_like")


def fill(dims, value, name=None):
    return apply_op("Fill", dims=dims, value=value, name=name or "Fill")


def reshape(tensor, shape, name=None):
    return apply_op("Reshape", tensor=tensor, shape=shape, name=name or "Reshape")


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    return apply_op("Shape", input=input, out_type=out_type, name=name or "Shape")


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    return apply_op("Size", input=input, out_type=out_type, name=name or "Size")


def rank(input, name=None):  # noqa: A002
    return apply_op("Rank", input=input, name=name or "Rank")


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    return apply_op("ExpandDims", input=input, dim=dim if axis is None else axis, name=name or "ExpandDims")


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    axis = squeeze_dims if axis is None else axis
    axis = [] if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    return apply_op("Squeeze", input=input, squeeze_dims=axis, name=name or "Squeeze")


def concat(values, axis, name="concat"):
    """Concatenation along ``axis``; one value gives an ``Identity`` as TF."""
    if len(values) == 1:
        with name_scope(name) as scope:
            return identity(values[0], name=scope)
    return apply_op("ConcatV2", values=list(values), axis=axis, name=name)


def stack(values, axis=0, name="stack"):
    return apply_op("Pack", values=list(values), axis=axis, name=name)


def unstack(value, num=None, axis=0, name="unstack"):
    value = convert_to_tensor(value)
    if num is None:
        num = value.shape.as_list()[axis]
    return apply_op("Unpack", value=value, num=num, axis=axis, name=name)


def transpose(a, perm=None, name="transpose"):
    a = convert_to_tensor(a)
    if perm is None:
        perm = np.arange(a.shape.ndims - 1, -1, -1, dtype=np.int32)
    return apply_op("Transpose", x=a, perm=perm, name=name)


def slice(input_, begin, size, name=None):  # noqa: A001
    return apply_op("Slice", input=input_, begin=begin, size=size, name=name or "Slice")


def gather(params, indices, axis=0, name=None):
    return apply_op("GatherV2", params=params, indices=indices, axis=axis, name=name or "GatherV2")


def tile(input, multiples, name=None):  # noqa: A002
    return apply_op("Tile", input=input, multiples=multiples, name=name or "Tile")


def broadcast_to(input, shape, name=None):  # noqa: A002
    return apply_op("BroadcastTo", input=input, shape=shape, name=name or "BroadcastTo")


def where(condition, x=None, y=None, name=None):
    if x is None or y is None:
        raise errors.UnimplementedError("tf.where with one argument (the indices of true elements) is not supported yet; pass x and y")
    return apply_op("Select", condition=condition, t=x, e=y, name=name or "Select")

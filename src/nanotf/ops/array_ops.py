"""Array ops: constants, placeholders, Identity, fills, and shape queries; the array-family façade.

Each op is one ``register_op`` block (TensorFlow's signature, shape function,
NumPy kernel, gradient); the Python API functions compose them with
TensorFlow's default op names. The rest of the family lives in
``manip_ops`` (reshape, transpose, concat, split, reverse), ``slice_ops``
(slice, strided slice, pad, tile, broadcast), ``gather_ops`` (gather,
scatter, segments) and ``select_ops`` (one-hot, where, select, masks); their API functions are
re-exported here, so ``from nanotf.ops.array_ops import *`` gives them all.
"""

from __future__ import annotations

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
from nanotf.ops import gather_ops
from nanotf.ops import manip_ops
from nanotf.ops import select_ops
from nanotf.ops import slice_ops
from nanotf.ops._array_util import as_outputs
from nanotf.ops.gather_ops import *  # noqa: F403
from nanotf.ops.manip_ops import *  # noqa: F403
from nanotf.ops.select_ops import *  # noqa: F403
from nanotf.ops.slice_ops import *  # noqa: F403

__all__ = [
    "constant", "placeholder", "placeholder_with_default", "identity", "stop_gradient", "zeros", "ones",
    "zeros_like", "ones_like", "fill", "shape", "shape_n", "size", "rank",
] + manip_ops.__all__ + slice_ops.__all__ + gather_ops.__all__ + select_ops.__all__  # fmt: skip

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
# An unfed PlaceholderWithDefault is its input, so the gradient passes straight through.
register_op("PlaceholderWithDefault", ["input: dtype"], ["output: dtype"], ["dtype: type", "shape: shape"],
            shape=lambda op: [TensorShape(op.get_attr("shape"))], kernel=lambda attrs, x: x,
            grad=lambda op, grad: [grad])  # fmt: skip
register_op("Identity", ["input: T"], ["output: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: x, grad=lambda op, grad: [grad])  # fmt: skip
register_op("StopGradient", ["input: T"], ["output: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: x, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Fill: every element is the scalar `value` --------------------------------------
def _fill(attrs, dims, value):
    if value.ndim != 0:
        raise errors.InvalidArgumentError(f"value must be a scalar, got shape {list(value.shape)}")
    if np.any(dims < 0):
        raise errors.InvalidArgumentError(f"dims must be non-negative, got {dims.tolist()}")
    return np.full(dims, value, dtype=value.dtype)


def _fill_grad(op, grad):
    # d(sum of all outputs)/d(value): the sum of the incoming gradient over every axis.
    ndims = grad.shape.ndims
    if ndims is not None:
        axes = np.arange(ndims, dtype=np.int32)
    else:
        axes = apply_op("Range", start=np.int32(0), limit=apply_op("Rank", input=grad), delta=np.int32(1))
    return [None, apply_op("Sum", input=grad, reduction_indices=axes, keep_dims=False, name="Sum")]


register_op("Fill", ["dims: index_type", "value: T"], ["output: T"], ["T: type", "index_type: {int32, int64} = DT_INT32"],
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[0])], kernel=_fill,
            grad=_fill_grad)  # fmt: skip
register_op("ZerosLike", ["x: T"], ["y: T"], ["T: type"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: np.zeros_like(x), grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("OnesLike", ["x: T"], ["y: T"],
            ["T: {bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64, complex64, complex128, bool}"],
            shape=common_shapes.same_as_input, kernel=lambda attrs, x: np.ones_like(x),
            grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Shape queries ----------------------------------------------------------------
def _rank1(op):
    return [TensorShape([t.shape.ndims]) for t in op.inputs]


def _shape_n(attrs, *xs):
    return as_outputs(np.array(x.shape, dtype=attrs["out_type"].as_numpy_dtype) for x in xs)


register_op("Shape", ["input: T"], ["output: out_type"], ["T: type", "out_type: {int32, int64} = DT_INT32"],
            shape=_rank1, kernel=lambda attrs, x: np.array(x.shape, dtype=attrs["out_type"].as_numpy_dtype),
            grad=NOT_DIFFERENTIABLE,
            full_types={"output": 'type_id: TFT_SHAPE_TENSOR args { type_id: TFT_VAR s: "out_type" }'})  # fmt: skip
register_op("ShapeN", ["input: N * T"], ["output: N * out_type"],
            ["N: int >= 1", "T: type", "out_type: {int32, int64} = DT_INT32"],
            shape=_rank1, kernel=_shape_n, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("Size", ["input: T"], ["output: out_type"], ["T: type", "out_type: {int32, int64} = DT_INT32"],
            shape=lambda op: [TensorShape([])], grad=NOT_DIFFERENTIABLE,
            kernel=lambda attrs, x: np.array(x.size, dtype=attrs["out_type"].as_numpy_dtype))  # fmt: skip
register_op("Rank", ["input: T"], ["output: int32"], ["T: type"], shape=lambda op: [TensorShape([])],
            kernel=lambda attrs, x: np.array(x.ndim, dtype=np.int32), grad=NOT_DIFFERENTIABLE)  # fmt: skip


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


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    return apply_op("Shape", input=input, out_type=out_type, name=name or "Shape")


def shape_n(input, out_type=dtypes.int32, name=None):  # noqa: A002
    """The shapes of a list of same-typed tensors, one ``ShapeN`` op (TF1 ``tf.shape_n``).

    Returns:
        A list with one 1-D ``out_type`` tensor per input.
    """
    return apply_op("ShapeN", input=list(input), out_type=out_type, name=name or "ShapeN")


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    return apply_op("Size", input=input, out_type=out_type, name=name or "Size")


def rank(input, name=None):  # noqa: A002
    return apply_op("Rank", input=input, name=name or "Rank")

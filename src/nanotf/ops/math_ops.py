"""Math ops: elementwise arithmetic and comparisons, MatMul, reductions, Cast, Range.

Kernels keep TensorFlow's dtype semantics: the output has the OpDef's type
(float32 stays float32, int32 sums stay int32), integer ``Div`` truncates
toward zero while ``FloorDiv``/``FloorMod`` floor, and comparisons give bool.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import FLOAT_COMPLEX
from nanotf.ops._types import INDEX
from nanotf.ops._types import NUMBER
from nanotf.ops._types import REAL_NUMBER
from nanotf.ops.gradient_util import unbroadcast

_ARITH = "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}"
_MINMAX = "{bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64}"
_SIGNED = "{bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}"


def _broadcast(op):
    return [common_shapes.broadcast_shape(op.inputs[0].shape, op.inputs[1].shape)]


def _typed(fn):
    # Wrap a NumPy ufunc so the result keeps the input dtype (NumPy may promote 0-d operands).
    def kernel(attrs, x, y):
        out = fn(x, y)
        return np.asarray(out, dtype=x.dtype) if out.dtype != x.dtype else out

    return kernel


def _int_div(x, y):
    if x.dtype.kind in "iu":
        if np.any(y == 0):
            raise errors.InvalidArgumentError("Integer division by zero")
        q = np.abs(x) // np.abs(y)
        return np.where((x < 0) != (y < 0), -q, q).astype(x.dtype)
    return np.true_divide(x, y).astype(x.dtype)


def _floor_div(x, y):
    if x.dtype.kind in "iu" and np.any(y == 0):
        raise errors.InvalidArgumentError("Integer division by zero")
    return np.floor_divide(x, y) if x.dtype.kind in "iu" else np.floor(np.true_divide(x, y)).astype(x.dtype)


def _binary(name, types, fn, **flags):
    register_op(name, ["x: T", "y: T"], ["z: T"], [f"T: {types}"], shape=_broadcast, kernel=_typed(fn), **flags)


_binary("AddV2", "{bfloat16, half, float, double, uint8, uint16, uint32, uint64, int8, int16, int32, int64, complex64, complex128}",
        np.add, is_commutative=True, is_aggregate=True)  # fmt: skip
_binary("Add", "{bfloat16, half, float, double, uint8, int8, int16, int32, int64, complex64, complex128, string}", np.add)
_binary("Sub", "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, int64, complex64, complex128, uint32, uint64}",
        np.subtract)  # fmt: skip
_binary("Mul", "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, complex128}",
        np.multiply, is_commutative=True)  # fmt: skip
_binary("RealDiv", _ARITH, np.true_divide)
_binary("Div", _ARITH, _int_div)
_binary("TruncateDiv", _ARITH, _int_div)
_binary("FloorDiv", _ARITH, _floor_div)
_binary("FloorMod", "{int8, int16, int32, int64, uint8, uint16, uint32, uint64, bfloat16, half, float, double}", np.mod)
_binary("Maximum", _MINMAX, np.maximum)
_binary("Minimum", _MINMAX, np.minimum)
_binary("Pow", "{bfloat16, float, half, double, int8, int16, int32, int64, complex64, complex128}", np.power)
_binary("SquaredDifference", "{bfloat16, half, float, double, int32, int64, complex64, complex128}",
        lambda x, y: np.square(x - y), is_commutative=True)  # fmt: skip


@register_gradient("AddV2")
def _add_grad(op, grad):
    return unbroadcast(op, grad, grad)


@register_gradient("Sub")
def _sub_grad(op, grad):
    return unbroadcast(op, grad, apply_op("Neg", x=grad, name="Neg"))


@register_gradient("Mul")
def _mul_grad(op, grad):
    x, y = op.inputs
    return unbroadcast(op, apply_op("Mul", x=grad, y=y, name="Mul"), apply_op("Mul", x=x, y=grad, name="Mul_1"))


def _unary(name, types, fn):
    register_op(name, ["x: T"], ["y: T"], [f"T: {types}"], shape=common_shapes.same_as_input,
                kernel=lambda attrs, x: np.asarray(fn(x), dtype=x.dtype))  # fmt: skip


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_unary("Neg", _SIGNED, np.negative)
_unary("Square", "{bfloat16, half, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}",
       np.square)  # fmt: skip
_unary("Sqrt", FLOAT_COMPLEX, np.sqrt)
_unary("Rsqrt", FLOAT_COMPLEX, lambda x: 1.0 / np.sqrt(x))
_unary("Exp", FLOAT_COMPLEX, np.exp)
_unary("Log", FLOAT_COMPLEX, np.log)
_unary("Abs", "{bfloat16, half, float, double, int8, int16, int32, int64}", np.abs)
_unary("Sign", _SIGNED, np.sign)
_unary("Reciprocal", _SIGNED, lambda x: 1 / x if x.dtype.kind not in "iu" else np.floor_divide(1, x))
_unary("Floor", "{bfloat16, half, float, double}", np.floor)
_unary("Ceil", "{bfloat16, half, float, double}", np.ceil)
_unary("Round", _SIGNED, np.round)  # banker's rounding, as TF
_unary("Tanh", FLOAT_COMPLEX, np.tanh)
_unary("Sigmoid", FLOAT_COMPLEX, _sigmoid)


def _compare(name, fn, types=REAL_NUMBER, commutative=False):
    attrs = [f"T: {types}"] + (["incompatible_shape_error: bool = true"] if types == "type" else [])
    register_op(name, ["x: T", "y: T"], ["z: bool"], attrs, shape=_broadcast,
                kernel=lambda attrs, x, y: np.asarray(fn(x, y)), is_commutative=commutative,
                grad=NOT_DIFFERENTIABLE)  # fmt: skip


_compare("Equal", np.equal, "type", True)
_compare("NotEqual", np.not_equal, "type", True)
_compare("Less", np.less)
_compare("LessEqual", np.less_equal)
_compare("Greater", np.greater)
_compare("GreaterEqual", np.greater_equal)
register_op("LogicalAnd", ["x: bool", "y: bool"], ["z: bool"], shape=_broadcast,
            kernel=lambda attrs, x, y: np.logical_and(x, y), is_commutative=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("LogicalOr", ["x: bool", "y: bool"], ["z: bool"], shape=_broadcast,
            kernel=lambda attrs, x, y: np.logical_or(x, y), is_commutative=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("LogicalNot", ["x: bool"], ["y: bool"], shape=common_shapes.same_as_input,
            kernel=lambda attrs, x: np.logical_not(x), grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- MatMul -------------------------------------------------------------------
def _matmul_shape(op):
    a, b = op.inputs[0].shape, op.inputs[1].shape
    if a.ndims is None or b.ndims is None:
        return [TensorShape([None, None])]
    a, b = a.as_list(), b.as_list()
    if op.get_attr("transpose_a"):
        a = a[::-1]
    if op.get_attr("transpose_b"):
        b = b[::-1]
    if a[1] is not None and b[0] is not None and a[1] != b[0]:
        raise ValueError(f"Dimensions must be equal, but are {a[1]} and {b[0]} for '{op.name}' (op: 'MatMul')")
    return [TensorShape([a[0], b[1]])]


def _matmul(attrs, a, b):
    if attrs["transpose_a"]:
        a = a.T
    if attrs["transpose_b"]:
        b = b.T
    if a.shape[1] != b.shape[0]:
        raise errors.InvalidArgumentError(f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)}")
    return np.matmul(a, b)


register_op(
    "MatMul", ["a: T", "b: T"], ["product: T"],
    ["transpose_a: bool = false", "transpose_b: bool = false",
     "T: {bfloat16, half, float, double, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}",
     "grad_a: bool = false", "grad_b: bool = false"],
    shape=_matmul_shape, kernel=_matmul,
)  # fmt: skip


@register_gradient("MatMul")
def _matmul_grad(op, grad):
    # d(a@b): grad@b.T and a.T@grad, with the transposes folded into MatMul's attrs as TF does.
    a, b = op.inputs
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")

    def mm(x, y, tx, ty, name, **flag):
        return apply_op("MatMul", a=x, b=y, transpose_a=tx, transpose_b=ty, name=name, **flag)

    if not ta and not tb:
        return [mm(grad, b, False, True, "MatMul", grad_a=True), mm(a, grad, True, False, "MatMul_1", grad_b=True)]
    if not ta:
        return [mm(grad, b, False, False, "MatMul", grad_a=True), mm(grad, a, True, False, "MatMul_1", grad_b=True)]
    if not tb:
        return [mm(b, grad, False, True, "MatMul", grad_a=True), mm(a, grad, False, False, "MatMul_1", grad_b=True)]
    return [mm(b, grad, True, True, "MatMul", grad_a=True), mm(grad, a, True, True, "MatMul_1", grad_b=True)]


def _batch_matmul(attrs, x, y):
    if attrs["adj_x"]:
        x = np.conj(np.swapaxes(x, -1, -2))
    if attrs["adj_y"]:
        y = np.conj(np.swapaxes(y, -1, -2))
    return np.matmul(x, y)


register_op(
    "BatchMatMulV2", ["x: T", "y: T"], ["output: T"],
    ["T: {bfloat16, half, float, double, int16, int32, int64, uint8, uint16, uint32, uint64, complex64, complex128}",
     "adj_x: bool = false", "adj_y: bool = false", "grad_x: bool = false", "grad_y: bool = false"],
    shape=common_shapes.unknown, kernel=_batch_matmul,
)  # fmt: skip


# -- reductions ---------------------------------------------------------------
def _axes(axis, rank):
    axes = np.asarray(axis).reshape(-1)
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise errors.InvalidArgumentError(f"Invalid reduction dimension {a} for input with {rank} dimensions.")
    return tuple(int(a) % rank for a in axes) if rank else ()


def _reduction_shape(op):
    shape = op.inputs[0].shape
    keep = op.get_attr("keep_dims")
    axis = common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or axis is None:
        return [TensorShape(None) if keep or shape.ndims is None else TensorShape(None)]
    axes = set(_axes(axis, shape.ndims))
    dims = shape.as_list()
    return [TensorShape([1 if i in axes else d for i, d in enumerate(dims)] if keep else
                        [d for i, d in enumerate(dims) if i not in axes])]  # fmt: skip


def _reduction(name, fn, types=NUMBER, input_type="T"):
    def kernel(attrs, x, axis):
        out = fn(x, axis=_axes(axis, x.ndim), keepdims=attrs["keep_dims"])
        return np.asarray(out, dtype=x.dtype)

    t_attr = [f"T: {types}"] if input_type == "T" else []
    register_op(name, [f"input: {input_type}", "reduction_indices: Tidx"], [f"output: {input_type}"],
                ["keep_dims: bool = false"] + t_attr + ["Tidx: {int32, int64} = DT_INT32"],
                shape=_reduction_shape, kernel=kernel)  # fmt: skip


def _mean(x, axis, keepdims):
    if x.dtype.kind in "iu":
        n = int(np.prod([x.shape[a] for a in axis])) if axis else 1
        return np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype) // max(n, 1)
    return np.mean(x, axis=axis, keepdims=keepdims)


_reduction("Sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype))
_reduction("Mean", _mean)
_reduction("Prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype))
_MAX_TYPES = ("{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, "
              "qint8, quint8, qint32, qint16, quint16}")  # fmt: skip
_reduction("Max", np.max, _MAX_TYPES)
_reduction("Min", np.min, _MAX_TYPES)
_reduction("All", np.all, input_type="bool")
_reduction("Any", np.any, input_type="bool")


def _arg_shape(op):
    shape = op.inputs[0].shape
    axis = common_shapes.constant_value(op.inputs[1])
    if shape.ndims is None or axis is None:
        return [TensorShape(None)]
    a = int(axis) % shape.ndims
    return [TensorShape([d for i, d in enumerate(shape.as_list()) if i != a])]


_ARG_T = ("{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64, "
          "qint8, quint8, qint32, qint16, quint16, bool}")  # fmt: skip
for _name, _fn, _tidx, _out in (("ArgMax", np.argmax, "{int16, int32, int64}", "{int16, uint16, int32, int64}"),
                                ("ArgMin", np.argmin, INDEX, INDEX)):  # fmt: skip
    register_op(_name, ["input: T", "dimension: Tidx"], ["output: output_type"],
                [f"T: {_ARG_T}", f"Tidx: {_tidx} = DT_INT32", f"output_type: {_out} = DT_INT64"],
                shape=_arg_shape, grad=NOT_DIFFERENTIABLE,
                kernel=lambda attrs, x, axis, fn=_fn: fn(x, axis=int(axis)).astype(attrs["output_type"].as_numpy_dtype))  # fmt: skip


def _cast(attrs, x):
    target = attrs["DstT"]
    if target == dtypes.string:
        raise errors.UnimplementedError("Cast to string is not supported")
    return x.astype(target.as_numpy_dtype)


register_op("Cast", ["x: SrcT"], ["y: DstT"], ["SrcT: type", "DstT: type", "Truncate: bool = false"],
            shape=common_shapes.same_as_input, kernel=_cast)  # fmt: skip


def _range_shape(op):
    vals = [common_shapes.constant_value(t) for t in op.inputs]
    if any(v is None for v in vals):
        return [TensorShape([None])]
    return [TensorShape([len(np.arange(*[v.item() for v in vals]))])]


register_op(
    "Range", ["start: Tidx", "limit: Tidx", "delta: Tidx"], ["output: Tidx"],
    ["Tidx: {bfloat16, half, float, double, int8, int16, int32, int64, uint16, uint32, uint64} = DT_INT32"],
    shape=_range_shape, kernel=lambda attrs, start, limit, delta: np.arange(start, limit, delta, dtype=attrs["Tidx"].as_numpy_dtype),
    grad=NOT_DIFFERENTIABLE,
)  # fmt: skip
register_op(
    "AddN", ["inputs: N * T"], ["sum: T"],
    ["N: int >= 1", f"T: {NUMBER[:-1]}, variant}}"],
    shape=lambda op: [op.inputs[0].shape], kernel=lambda attrs, *xs: np.asarray(sum(xs[1:], xs[0]), dtype=xs[0].dtype),
    is_commutative=True, is_aggregate=True,
)  # fmt: skip


def _bcast_args(attrs, s0, s1):
    n = max(len(s0), len(s1))
    a = [1] * (n - len(s0)) + list(s0)
    b = [1] * (n - len(s1)) + list(s1)
    r0 = [i for i in builtins.range(n) if a[i] == 1]
    r1 = [i for i in builtins.range(n) if b[i] == 1]
    return np.array(r0, dtype=s0.dtype), np.array(r1, dtype=s0.dtype)


register_op("BroadcastGradientArgs", ["s0: T", "s1: T"], ["r0: T", "r1: T"], ["T: {int32, int64} = DT_INT32"],
            shape=lambda op: [TensorShape([None]), TensorShape([None])], kernel=_bcast_args,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Python API -----------------------------------------------------------------
def add(x, y, name=None):
    """``x + y`` elementwise as an ``AddV2`` (``Add`` for strings), default name ``Add``."""
    with _scope(name, "Add", [x, y]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype.base_dtype == dtypes.string:
            return apply_op("Add", x=x, y=y, name=scope)
        return apply_op("AddV2", x=x, y=y, name=scope)


def _scope(name, default, values):
    from nanotf.framework.graph import name_scope

    return name_scope(name, default, values)


def _api(op_type, default, args):
    """A TF API function applying ``op_type`` to positional ``args`` (input names), default op name ``default``."""

    def fn(*values, name=None):
        return apply_op(op_type, name=name or default, **dict(zip(args, values)))

    fn.__name__ = default.lower()
    fn.__doc__ = f"Elementwise ``{op_type}`` (default op name ``{default}``)."
    return fn


def _binary_api(op_type, default):
    return _api(op_type, default, ("x", "y"))


subtract = _binary_api("Sub", "Sub")
multiply = _binary_api("Mul", "Mul")
maximum = _binary_api("Maximum", "Maximum")
minimum = _binary_api("Minimum", "Minimum")
pow = _binary_api("Pow", "Pow")  # noqa: A001 - TensorFlow's name
floordiv = _binary_api("FloorDiv", "FloorDiv")
floormod = _binary_api("FloorMod", "FloorMod")
realdiv = _binary_api("RealDiv", "RealDiv")
squared_difference = _binary_api("SquaredDifference", "SquaredDifference")
equal = _binary_api("Equal", "Equal")
not_equal = _binary_api("NotEqual", "NotEqual")
less = _binary_api("Less", "Less")
less_equal = _binary_api("LessEqual", "LessEqual")
greater = _binary_api("Greater", "Greater")
greater_equal = _binary_api("GreaterEqual", "GreaterEqual")
logical_and = _binary_api("LogicalAnd", "LogicalAnd")
logical_or = _binary_api("LogicalOr", "LogicalOr")
mod = floormod


def divide(x, y, name=None):
    """Python-3 division (``x / y``), default name ``truediv``."""
    from nanotf.framework.op_def_library import truediv

    return truediv(x, y, name=name)


truediv = divide


def div(x, y, name=None):
    """TF1 ``tf.div``: ``Div`` (truncating for integers)."""
    return apply_op("Div", x=x, y=y, name=name or "div")


def _unary_api(op_type, default):
    return _api(op_type, default, ("x",))


negative = _unary_api("Neg", "Neg")
square = _unary_api("Square", "Square")
sqrt = _unary_api("Sqrt", "Sqrt")
rsqrt = _unary_api("Rsqrt", "Rsqrt")
exp = _unary_api("Exp", "Exp")
log = _unary_api("Log", "Log")
abs = _unary_api("Abs", "Abs")  # noqa: A001
sign = _unary_api("Sign", "Sign")
reciprocal = _unary_api("Reciprocal", "Reciprocal")
floor = _unary_api("Floor", "Floor")
ceil = _unary_api("Ceil", "Ceil")
round = _unary_api("Round", "Round")  # noqa: A001
tanh = _unary_api("Tanh", "Tanh")
sigmoid = _unary_api("Sigmoid", "Sigmoid")
logical_not = _unary_api("LogicalNot", "LogicalNot")


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    """Matrix product (``MatMul``; ``BatchMatMulV2`` for rank > 2), default name ``MatMul``."""
    a = convert_to_tensor(a, name="a")
    if a.shape.ndims is not None and a.shape.ndims > 2:
        return apply_op("BatchMatMulV2", x=a, y=b, adj_x=transpose_a, adj_y=transpose_b, name=name or "MatMul")
    return apply_op("MatMul", a=a, b=b, transpose_a=transpose_a, transpose_b=transpose_b, name=name or "MatMul")


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (no op if it already has it), default name ``Cast``."""
    dtype = dtypes.as_dtype(dtype).base_dtype
    with _scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype.base_dtype == dtype:
            return x
        return apply_op("Cast", x=x, DstT=dtype, Truncate=False, name=scope)


def to_float(x, name="ToFloat"):
    return cast(x, dtypes.float32, name=name)


def _reduce_api(op_type, default):
    def fn(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
        axis = reduction_indices if axis is None else axis
        keep = bool(keep_dims if keepdims is None else keepdims)
        x = convert_to_tensor(input_tensor, name="input_tensor")
        if axis is None:
            # As TF: the all-axes list is a Const built outside the op's name scope.
            rank = x.shape.ndims
            if rank is not None:
                axis = convert_to_tensor(np.arange(rank, dtype=np.int32))
            else:
                axis = apply_op("Range", start=0, limit=apply_op("Rank", input=x), delta=1)
        return apply_op(op_type, input=x, reduction_indices=axis, keep_dims=keep, name=name or default)

    fn.__name__ = "reduce_" + op_type.lower()
    fn.__doc__ = f"``{op_type}`` over ``axis`` (all axes if None), default op name ``{default}``."
    return fn


reduce_sum = _reduce_api("Sum", "Sum")
reduce_mean = _reduce_api("Mean", "Mean")
reduce_prod = _reduce_api("Prod", "Prod")
reduce_max = _reduce_api("Max", "Max")
reduce_min = _reduce_api("Min", "Min")
reduce_all = _reduce_api("All", "All")
reduce_any = _reduce_api("Any", "Any")


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    return apply_op("ArgMax", input=input, dimension=0 if axis is None else axis, output_type=output_type,
                    name=name or "ArgMax")  # fmt: skip


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    axis = dimension if axis is None else axis
    return apply_op("ArgMin", input=input, dimension=0 if axis is None else axis, output_type=output_type,
                    name=name or "ArgMin")  # fmt: skip


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """``tf.range``: ``Range`` with TF's argument shuffling (``range(5)`` is 0..4)."""
    if limit is None:
        start, limit = 0, start
    with _scope(name, "Range", [start, limit, delta]) as scope:
        values = [start, limit, delta]
        kinds = [convert_to_tensor(v, dtype=dtype, name=n) for v, n in zip(values, ("start", "limit", "delta"))]
        widest = max((k.dtype for k in kinds), key=lambda d: (d.is_floating, d.size))
        kinds = [cast(k, widest) for k in kinds]
        return apply_op("Range", start=kinds[0], limit=kinds[1], delta=kinds[2], name=scope)


def add_n(inputs, name=None):
    """Sum of a list of same-shaped tensors (``AddN``; ``Identity`` for one input as TF)."""
    if len(inputs) == 1:
        return apply_op("Identity", input=inputs[0], name=name or "Identity")
    return apply_op("AddN", inputs=list(inputs), name=name or "AddN")

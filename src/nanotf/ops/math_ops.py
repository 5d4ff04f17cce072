"""Math ops: binary elementwise arithmetic, comparisons, Cast, AddN, Range; and the math API.

The family is split by kind: this module (binary elementwise ops and the
odd ones out), ``unary_ops`` (unary elementwise ops and their ``*Grad``
ops), ``reduction_ops`` (Sum, Mean, ..., ArgMax, Cumsum) and ``matmul_ops``.
This module re-exports all of their Python API, which ``nanotf`` exposes.

Kernels keep TensorFlow's dtype semantics: the output has the OpDef's type
(float32 stays float32, int32 sums stay int32), integer ``Div``/``TruncateDiv``
and ``Mod``/``TruncateMod`` truncate toward zero while ``FloorDiv``/``FloorMod``
floor, integer division by zero is an error, and comparisons give bool.
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.op_def_library import truediv as _truediv
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops import matmul_ops
from nanotf.ops import reduction_ops
from nanotf.ops import unary_ops
from nanotf.ops._api import elementwise_api
from nanotf.ops._types import NUMBER
from nanotf.ops._types import REAL_NUMBER
from nanotf.ops.gradient_util import conj
from nanotf.ops.gradient_util import ones_like
from nanotf.ops.gradient_util import unbroadcast
from nanotf.ops.gradient_util import zeros_like
from nanotf.ops.matmul_ops import *  # noqa: F403 - re-exported API
from nanotf.ops.reduction_ops import *  # noqa: F403
from nanotf.ops.unary_ops import *  # noqa: F403

# The top-level (tf.*) API of this module; multiply_no_nan exists only as tf.math.multiply_no_nan.
__all__ = [
    "add", "add_n", "cast", "div", "div_no_nan", "divide", "equal", "floor_div", "floordiv", "floormod", "greater",
    "greater_equal", "less", "less_equal", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum",
    "minimum", "mod", "multiply", "not_equal", "pow", "range", "realdiv", "scalar_mul", "squared_difference",
    "subtract", "to_double", "to_float", "to_int32", "to_int64", "truediv", "truncatediv", "truncatemod",
]  # fmt: skip
__all__ += unary_ops.__all__
__all__ += reduction_ops.__all__
__all__ += matmul_ops.__all__

_ARITH = ("{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, "
          "complex128}")  # fmt: skip
_MINMAX = "{bfloat16, half, float, double, int8, uint8, int16, uint16, int32, uint32, int64, uint64}"
_NO_NAN = "{bfloat16, half, float, double, complex64, complex128}"


def _broadcast(op):
    return [common_shapes.broadcast_shape(op.inputs[0].shape, op.inputs[1].shape)]


def _typed(fn):
    # Wrap a NumPy ufunc so the result keeps the input dtype (NumPy may promote 0-d operands).
    # Float results follow IEEE quietly (inf, nan), as TF's kernels do, without NumPy's warnings.
    def kernel(attrs, x, y):
        with np.errstate(all="ignore"):
            out = np.asarray(fn(x, y))
        return out.astype(x.dtype) if out.dtype != x.dtype else out

    return kernel


def _check_int_divisor(x, y):
    # Every divisor entry reaches some output entry unless the output is empty.
    if x.dtype.kind in "iu" and np.broadcast(x, y).size and np.any(y == 0):
        raise errors.InvalidArgumentError("Integer division by zero")


def _trunc_div(x, y):
    if x.dtype.kind not in "iu":
        return np.true_divide(x, y)
    _check_int_divisor(x, y)
    q = np.abs(x) // np.abs(y)
    return np.where((x < 0) != (y < 0), -q, q)


def _floor_div(x, y):
    if x.dtype.kind not in "iu":
        return np.floor(np.true_divide(x, y))
    _check_int_divisor(x, y)
    return np.floor_divide(x, y)


def _floor_mod(x, y):
    _check_int_divisor(x, y)
    return np.mod(x, y)


def _trunc_mod(x, y):
    # C's %: the remainder has the dividend's sign.
    if x.dtype.kind not in "iu":
        return np.fmod(x, y)
    return x - _trunc_div(x, y) * y


def _pow(x, y):
    if x.dtype.kind in "iu" and np.any(y < 0):
        raise errors.InvalidArgumentError("Integers to negative integer powers are not allowed")
    return np.power(x, y)


def _mul_no_nan(x, y):
    return np.where(y == 0, np.zeros((), x.dtype), x * y)


def _div_no_nan(x, y):
    safe = np.where(y == 0, np.ones((), y.dtype), y)
    return np.where(y == 0, np.zeros((), x.dtype), x / safe)


def _binary(name, types, fn, grad=None, **flags):
    register_op(name, ["x: T", "y: T"], ["z: T"], [f"T: {types}"], shape=_broadcast, kernel=_typed(fn), grad=grad,
                **flags)  # fmt: skip


# -- sums and differences -------------------------------------------------------------
def _add_grad(op, grad):
    return unbroadcast(op, grad, grad)


_binary("AddV2", "{bfloat16, half, float, double, uint8, uint16, uint32, uint64, int8, int16, int32, int64, "
        "complex64, complex128}", np.add, _add_grad, is_commutative=True, is_aggregate=True)  # fmt: skip
_binary("Add", "{bfloat16, half, float, double, uint8, int8, int16, int32, int64, complex64, complex128, string}",
        np.add, _add_grad)  # fmt: skip
_binary("Sub", "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, int64, complex64, complex128, "
        "uint32, uint64}", np.subtract, lambda op, grad: unbroadcast(op, grad, -grad))  # fmt: skip


def _squared_difference_grad(op, grad):
    x, y = op.inputs
    x_grad = scalar_mul(2.0, grad) * (x - y)
    return unbroadcast(op, x_grad, -x_grad)


_binary("SquaredDifference", "{bfloat16, half, float, double, int32, int64, complex64, complex128}",
        lambda x, y: np.square(x - y), _squared_difference_grad, is_commutative=True)  # fmt: skip


# -- products and quotients -----------------------------------------------------------
def _mul_grad(op, grad):
    x, y = conj(op.inputs[0]), conj(op.inputs[1])
    return unbroadcast(op, apply_op("Mul", x=grad, y=y, name="Mul"), apply_op("Mul", x=x, y=grad, name="Mul_1"))


_binary("Mul", "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, uint32, uint64, int64, complex64, "
        "complex128}", np.multiply, _mul_grad, is_commutative=True)  # fmt: skip


def _mul_no_nan_grad(op, grad):
    x, y = op.inputs
    return unbroadcast(op, apply_op("MulNoNan", x=grad, y=y, name="MulNoNan"),
                       apply_op("MulNoNan", x=x, y=grad, name="MulNoNan_1"))  # fmt: skip


_binary("MulNoNan", _NO_NAN, _mul_no_nan, _mul_no_nan_grad)


def _quotient_grad(divide):
    """The rule of ``x / y`` for a division op built by ``divide(a, b, name_suffix)``."""

    def rule(op, grad):
        x, y = conj(op.inputs[0]), conj(op.inputs[1])
        gx = divide(grad, y, "")
        gy = grad * divide(divide(-x, y, "_1"), y, "_2")
        return unbroadcast(op, gx, gy)

    return rule


def _by_op(op_type, name):
    return lambda a, b, suffix: apply_op(op_type, x=a, y=b, name=name + suffix)


_binary("RealDiv", _ARITH, np.true_divide, _quotient_grad(_by_op("RealDiv", "RealDiv")))
_binary("Div", _ARITH, _trunc_div, _quotient_grad(lambda a, b, suffix: a / b))
_binary("DivNoNan", "{half, float, bfloat16, double, complex64, complex128}", _div_no_nan,
        _quotient_grad(_by_op("DivNoNan", "div_no_nan")))  # fmt: skip
_binary("TruncateDiv", _ARITH, _trunc_div, NOT_DIFFERENTIABLE)
_binary("FloorDiv", _ARITH, _floor_div, NOT_DIFFERENTIABLE)


def _floor_mod_grad(op, grad):
    # x mod y = x - floor(x / y) * y, with floor(x / y) piecewise constant.
    x, y = conj(op.inputs[0]), conj(op.inputs[1])
    return unbroadcast(op, grad, grad * -apply_op("FloorDiv", x=x, y=y, name="FloorDiv"))


_binary("FloorMod", "{int8, int16, int32, int64, uint8, uint16, uint32, uint64, bfloat16, half, float, double}",
        _floor_mod, _floor_mod_grad)  # fmt: skip
# TensorFlow defines no gradient for the truncating remainders.
_binary("Mod", "{int32, int64, float16, half, bfloat16, float, double}", _trunc_mod)
_binary("TruncateMod", "{int32, int64, bfloat16, half, float, double}", _trunc_mod)


def _pow_grad(op, grad):
    # d(x^y)/dx = y x^(y-1); d(x^y)/dy = x^y log x, taken as 0 where x <= 0 (log x is not real there).
    x, y = conj(op.inputs[0]), conj(op.inputs[1])
    z = conj(op.outputs[0])
    gx = grad * y * apply_op("Pow", x=x, y=y - 1, name="Pow")
    if x.dtype.base_dtype.is_complex:
        mask = apply_op("NotEqual", x=x, y=np.zeros((), x.dtype.as_numpy_dtype), name="NotEqual")
    else:
        mask = x > 0
    safe_x = apply_op("Select", condition=mask, t=x, e=ones_like(x), name="Select")
    log_x = apply_op("Log", x=safe_x, name="Log")
    log_x = apply_op("Select", condition=mask, t=log_x, e=zeros_like(x), name="Select_1")
    return unbroadcast(op, gx, grad * z * log_x)


_binary("Pow", "{bfloat16, float, half, double, int8, int16, int32, int64, complex64, complex128}", _pow, _pow_grad)


def _min_max_grad(selector):
    # The gradient goes to x where selector(x, y) holds (ties go to x), else to y.
    def rule(op, grad):
        x, y = op.inputs
        zeros = zeros_like(grad)
        x_mask = apply_op(selector, x=x, y=y, name=selector)
        gx = apply_op("SelectV2", condition=x_mask, t=grad, e=zeros, name="SelectV2")
        gy = apply_op("SelectV2", condition=x_mask, t=zeros, e=grad, name="SelectV2_1")
        return unbroadcast(op, gx, gy)

    return rule


_binary("Maximum", _MINMAX, np.maximum, _min_max_grad("GreaterEqual"))
_binary("Minimum", _MINMAX, np.minimum, _min_max_grad("LessEqual"))


# -- comparisons and logic ------------------------------------------------------------
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


# -- Cast, AddN, Range, BroadcastGradientArgs -----------------------------------------------
def _cast(attrs, x):
    target = attrs["DstT"]
    if target == dtypes.string:
        raise errors.UnimplementedError("Cast to string is not supported")
    return x.astype(target.as_numpy_dtype)


def _cast_grad(op, grad):
    # Only float <-> float (and complex) casts carry a gradient, as in TF.
    src = op.inputs[0].dtype.base_dtype
    differentiable = src.is_floating or src.is_complex
    target = grad.dtype.base_dtype
    if not (differentiable and (target.is_floating or target.is_complex)):
        return [None]
    return [cast(grad, src)]


register_op("Cast", ["x: SrcT"], ["y: DstT"], ["SrcT: type", "DstT: type", "Truncate: bool = false"],
            shape=common_shapes.same_as_input, kernel=_cast, grad=_cast_grad)  # fmt: skip
register_op(
    "AddN", ["inputs: N * T"], ["sum: T"],
    ["N: int >= 1", f"T: {NUMBER[:-1]}, variant}}"],
    shape=lambda op: [op.inputs[0].shape], kernel=lambda attrs, *xs: np.asarray(sum(xs[1:], xs[0]), dtype=xs[0].dtype),
    grad=lambda op, grad: [grad] * len(op.inputs), is_commutative=True, is_aggregate=True,
)  # fmt: skip


def _range_shape(op):
    vals = [common_shapes.constant_value(t) for t in op.inputs]
    if any(v is None for v in vals):
        return [TensorShape([None])]
    return [TensorShape([len(np.arange(*[v.item() for v in vals]))])]


def _range(attrs, start, limit, delta):
    if delta == 0:
        raise errors.InvalidArgumentError(f"Requires delta != 0: {delta}")
    if (delta > 0 and start > limit) or (delta < 0 and start < limit):
        relation = "<=" if delta > 0 else ">="
        raise errors.InvalidArgumentError(f"Requires start {relation} limit when delta {'>' if delta > 0 else '<'} 0: "
                                          f"{start}/{limit}")  # fmt: skip
    return np.arange(start, limit, delta, dtype=attrs["Tidx"].as_numpy_dtype)


register_op(
    "Range", ["start: Tidx", "limit: Tidx", "delta: Tidx"], ["output: Tidx"],
    ["Tidx: {bfloat16, half, float, double, int8, int16, int32, int64, uint16, uint32, uint64} = DT_INT32"],
    shape=_range_shape, kernel=_range, grad=NOT_DIFFERENTIABLE,
)  # fmt: skip


def _bcast_args(attrs, s0, s1):
    # The axes each operand was broadcast along (size 1 or missing); none for equal shapes, as TF.
    if list(s0) == list(s1):
        return np.zeros([0], s0.dtype), np.zeros([0], s0.dtype)
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
    with name_scope(name, "Add", [x, y]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype.base_dtype == dtypes.string:
            return apply_op("Add", x=x, y=y, name=scope)
        return apply_op("AddV2", x=x, y=y, name=scope)


def _binary_api(op_type, default, public_name):
    return elementwise_api(op_type, default, ("x", "y"), public_name)


subtract = _binary_api("Sub", "Sub", "subtract")
multiply = _binary_api("Mul", "Mul", "multiply")
maximum = _binary_api("Maximum", "Maximum", "maximum")
minimum = _binary_api("Minimum", "Minimum", "minimum")
pow = _binary_api("Pow", "Pow", "pow")  # noqa: A001 - TensorFlow's name
floordiv = _binary_api("FloorDiv", "FloorDiv", "floordiv")
floor_div = _binary_api("FloorDiv", "FloorDiv", "floor_div")
floormod = _binary_api("FloorMod", "FloorMod", "floormod")
mod = floormod
truncatediv = _binary_api("TruncateDiv", "TruncateDiv", "truncatediv")
truncatemod = _binary_api("TruncateMod", "TruncateMod", "truncatemod")
realdiv = _binary_api("RealDiv", "RealDiv", "realdiv")
div_no_nan = _binary_api("DivNoNan", "div_no_nan", "div_no_nan")
multiply_no_nan = _binary_api("MulNoNan", "multiply_no_nan", "multiply_no_nan")
squared_difference = _binary_api("SquaredDifference", "SquaredDifference", "squared_difference")
equal = _binary_api("Equal", "Equal", "equal")
not_equal = _binary_api("NotEqual", "NotEqual", "not_equal")
less = _binary_api("Less", "Less", "less")
less_equal = _binary_api("LessEqual", "LessEqual", "less_equal")
greater = _binary_api("Greater", "Greater", "greater")
greater_equal = _binary_api("GreaterEqual", "GreaterEqual", "greater_equal")
logical_and = _binary_api("LogicalAnd", "LogicalAnd", "logical_and")
logical_or = _binary_api("LogicalOr", "LogicalOr", "logical_or")
logical_not = elementwise_api("LogicalNot", "LogicalNot", ("x",), "logical_not")


def logical_xor(x, y, name="LogicalXor"):
    """``(x | y) & ~(x & y)``, built from the logical ops as TF builds it."""
    either = apply_op("LogicalOr", x=x, y=y, name="LogicalOr")
    both = apply_op("LogicalAnd", x=x, y=y, name="LogicalAnd")
    return apply_op("LogicalAnd", x=either, y=apply_op("LogicalNot", x=both, name="LogicalNot"), name=name)


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` as one ``Mul`` with the scalar a ``Const`` named ``scalar`` (TF's ``tf.scalar_mul``)."""
    x = convert_to_tensor(x, name="x")
    if np.ndim(scalar) != 0:
        raise ValueError(f"Only scalar multiply works, got shape {np.shape(scalar)}")
    factor = constant(scalar, dtype=x.dtype.base_dtype, name="scalar")
    return apply_op("Mul", x=factor, y=x, name=name or "Mul")


def divide(x, y, name=None):
    """Python-3 division (``x / y``), default name ``truediv``."""
    return _truediv(x, y, name=name)


truediv = divide


def div(x, y, name=None):
    """TF1 ``tf.div``: Python 2 division, ``RealDiv`` for floats and ``FloorDiv`` for integers, named ``div``."""
    with name_scope(name, "div", [x, y]) as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, dtype=x.dtype.base_dtype, name="y")
        base = x.dtype.base_dtype
        op_type = "RealDiv" if base.is_floating or base.is_complex else "FloorDiv"
        return apply_op(op_type, x=x, y=y, name=scope)


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (no op if it already has it), default name ``Cast``."""
    dtype = dtypes.as_dtype(dtype).base_dtype
    with name_scope(name, "Cast", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        if x.dtype.base_dtype == dtype:
            return x
        return apply_op("Cast", x=x, DstT=dtype, Truncate=False, name=scope)


def to_float(x, name="ToFloat"):
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    return cast(x, dtypes.int64, name=name)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """``tf.range``: ``Range`` with TF's argument shuffling (``range(5)`` is 0..4)."""
    if limit is None:
        start, limit = 0, start
    with name_scope(name, "Range", [start, limit, delta]) as scope:
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

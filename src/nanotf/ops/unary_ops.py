"""Unary elementwise math ops, with the ``*Grad`` ops their gradients are built from.

Each op's output has its input's dtype. ``Tanh``, ``Sigmoid``, ``Sqrt``,
``Rsqrt`` and ``Reciprocal`` differentiate through a fused ``*Grad`` op taking
the forward output ``y`` and the incoming gradient ``dy`` (as TensorFlow's
rules do), and those ops have gradients of their own for second derivatives.
"""

from __future__ import annotations

import math

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.ops._api import elementwise_api
from nanotf.ops._types import FLOAT_COMPLEX
from nanotf.ops.gradient_util import conj as _conj
from nanotf.ops.gradient_util import zeros_like

__all__ = [
    "abs", "ceil", "conj", "cos", "erf", "exp", "expm1", "floor", "is_finite", "is_inf", "is_nan", "log", "log1p",
    "negative", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sqrt", "square", "tanh",
]  # fmt: skip

_SIGNED = "{bfloat16, half, float, double, int8, int16, int32, int64, complex64, complex128}"
_REAL_FLOAT = "{bfloat16, half, float, double}"


def _quiet(fn):
    # IEEE results (log 0 = -inf, sqrt -1 = nan) without NumPy's warnings, as TF's kernels give them.
    def kernel(attrs, *xs):
        with np.errstate(all="ignore"):
            return np.asarray(fn(*xs), dtype=xs[0].dtype)

    return kernel


def _unary(name, types, fn, grad=None):
    register_op(name, ["x: T"], ["y: T"], [f"T: {types}"], shape=common_shapes.same_as_input, kernel=_quiet(fn),
                grad=grad)  # fmt: skip


def _predicate(name, fn):
    register_op(name, ["x: T"], ["y: bool"], [f"T: {_REAL_FLOAT}"], shape=common_shapes.same_as_input,
                kernel=lambda attrs, x: fn(x), grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _reciprocal(x):
    if x.dtype.kind not in "iu":
        return 1 / x
    if np.any(x == 0):
        raise errors.InvalidArgumentError("Integer division by zero")
    return np.where(np.abs(x) == 1, x, 0)  # 1 / x truncated toward zero


_erf = np.vectorize(math.erf, otypes=[np.float64])


# -- ops with a fused gradient op -----------------------------------------------
def _grad_op(name, fn):
    """``name(y, dy) -> z``: the derivative of a unary op given its output ``y``, times ``dy``."""
    register_op(name, ["y: T", "dy: T"], ["z: T"], [f"T: {FLOAT_COMPLEX}"], shape=common_shapes.same_as_input,
                kernel=_quiet(fn))  # fmt: skip


def _fused(op_type):
    # The rule of Tanh, Sigmoid, ...: one fused op of the (conjugated) output and the incoming gradient.
    def rule(op, grad):
        return [apply_op(op_type, y=_conj(op.outputs[0]), dy=grad, name=op_type)]

    return rule


_unary("Tanh", FLOAT_COMPLEX, np.tanh, grad=_fused("TanhGrad"))
_grad_op("TanhGrad", lambda y, dy: dy * np.conj(1 - y * y))


@register_gradient("TanhGrad")
def _tanh_grad_grad(op, grad):
    y, dy = op.inputs
    return [grad * -2.0 * dy * _conj(y), apply_op("TanhGrad", y=_conj(y), dy=grad, name="TanhGrad")]


_unary("Sigmoid", FLOAT_COMPLEX, _sigmoid, grad=_fused("SigmoidGrad"))
_grad_op("SigmoidGrad", lambda y, dy: dy * np.conj(y * (1 - y)))


@register_gradient("SigmoidGrad")
def _sigmoid_grad_grad(op, grad):
    y, dy = op.inputs
    gb = grad * dy
    return [gb - 2.0 * gb * y, apply_op("SigmoidGrad", y=y, dy=grad, name="SigmoidGrad")]


_unary("Sqrt", FLOAT_COMPLEX, np.sqrt, grad=_fused("SqrtGrad"))
_grad_op("SqrtGrad", lambda y, dy: dy * 0.5 / np.conj(y))


@register_gradient("SqrtGrad")
def _sqrt_grad_grad(op, grad):
    # z = dy / (2 y): dz/dy = -z / y, dz/d(dy) = 1 / (2 y).
    y = op.inputs[0]
    ga = grad / y
    return [-_conj(ga) * op.outputs[0], 0.5 * ga]


_unary("Rsqrt", FLOAT_COMPLEX, lambda x: 1.0 / np.sqrt(x), grad=_fused("RsqrtGrad"))
_grad_op("RsqrtGrad", lambda y, dy: dy * -0.5 * np.conj(y) ** 3)


@register_gradient("RsqrtGrad")
def _rsqrt_grad_grad(op, grad):
    y, dy = op.inputs
    cy = _conj(y)
    return [-1.5 * _conj(grad) * dy * apply_op("Square", x=cy, name="Square"),
            apply_op("RsqrtGrad", y=cy, dy=grad, name="RsqrtGrad")]  # fmt: skip


_unary("Reciprocal", _SIGNED, _reciprocal, grad=_fused("ReciprocalGrad"))
_grad_op("ReciprocalGrad", lambda y, dy: -dy * np.conj(y * y))


@register_gradient("ReciprocalGrad")
def _reciprocal_grad_grad(op, grad):
    y, dy = op.inputs
    cy = _conj(y)
    return [_conj(grad) * -2.0 * dy * cy, apply_op("ReciprocalGrad", y=cy, dy=grad, name="ReciprocalGrad")]


# -- the other differentiable ops -----------------------------------------------------
_unary("Neg", _SIGNED, np.negative, grad=lambda op, grad: [-grad])


def _square_grad(op, grad):
    x = op.inputs[0]
    two = constant(2, dtype=x.dtype.base_dtype, name="Const")
    return [apply_op("Mul", x=grad, y=apply_op("Mul", x=_conj(x), y=two, name="Mul"), name="Mul_1")]


_unary("Square", "{bfloat16, half, float, double, int8, int16, int32, int64, uint8, uint16, uint32, uint64, "
       "complex64, complex128}", np.square, grad=_square_grad)  # fmt: skip
_unary("Exp", FLOAT_COMPLEX, np.exp, grad=lambda op, grad: [grad * _conj(op.outputs[0])])
_unary("Expm1", FLOAT_COMPLEX, np.expm1,
       grad=lambda op, grad: [grad * apply_op("Exp", x=_conj(op.inputs[0]), name="Exp")])  # fmt: skip
_unary("Log", FLOAT_COMPLEX, np.log,
       grad=lambda op, grad: [grad * apply_op("Reciprocal", x=_conj(op.inputs[0]), name="Reciprocal")])  # fmt: skip
_unary("Log1p", FLOAT_COMPLEX, np.log1p,
       grad=lambda op, grad: [grad * apply_op("Reciprocal", x=1 + _conj(op.inputs[0]), name="Reciprocal")])  # fmt: skip
_unary("Sin", FLOAT_COMPLEX, np.sin, grad=lambda op, grad: [grad * apply_op("Cos", x=_conj(op.inputs[0]), name="Cos")])
_unary("Cos", FLOAT_COMPLEX, np.cos,
       grad=lambda op, grad: [-grad * apply_op("Sin", x=_conj(op.inputs[0]), name="Sin")])  # fmt: skip


def _erf_grad(op, grad):
    # d erf(x) = 2 / sqrt(pi) * exp(-x^2).
    x = op.inputs[0]
    two_over_root_pi = constant(2 / np.sqrt(np.pi), dtype=x.dtype.base_dtype, name="Const")
    return [grad * two_over_root_pi * apply_op("Exp", x=-apply_op("Square", x=_conj(x), name="Square"), name="Exp")]


_unary("Erf", _REAL_FLOAT, lambda x: _erf(x.astype(np.float64)), grad=_erf_grad)
_unary("Abs", "{bfloat16, half, float, double, int8, int16, int32, int64}", np.abs,
       grad=lambda op, grad: [grad * apply_op("Sign", x=op.inputs[0], name="Sign")])  # fmt: skip
_unary("Sign", _SIGNED, np.sign, grad=lambda op, grad: [zeros_like(op.inputs[0])])
# Piecewise constant: TensorFlow's rules give no gradient.
_unary("Floor", _REAL_FLOAT, np.floor, grad=NOT_DIFFERENTIABLE)
_unary("Ceil", _REAL_FLOAT, np.ceil, grad=NOT_DIFFERENTIABLE)
_unary("Round", _SIGNED, np.round, grad=NOT_DIFFERENTIABLE)  # half to even, as TF

_predicate("IsNan", np.isnan)
_predicate("IsInf", np.isinf)
_predicate("IsFinite", np.isfinite)

register_op("Conj", ["input: T"], ["output: T"], ["T: {complex64, complex128, variant} = DT_COMPLEX64"],
            shape=common_shapes.same_as_input, kernel=lambda attrs, x: np.conj(x),
            grad=lambda op, grad: [apply_op("Conj", input=grad, name="Conj")])  # fmt: skip


# -- Python API -----------------------------------------------------------------
def _api(op_type, public_name):
    return elementwise_api(op_type, op_type, ("x",), public_name)


negative = _api("Neg", "negative")
square = _api("Square", "square")
sqrt = _api("Sqrt", "sqrt")
rsqrt = _api("Rsqrt", "rsqrt")
exp = _api("Exp", "exp")
log = _api("Log", "log")
log1p = _api("Log1p", "log1p")
expm1 = _api("Expm1", "expm1")
sin = _api("Sin", "sin")
cos = _api("Cos", "cos")
erf = _api("Erf", "erf")
abs = _api("Abs", "abs")  # noqa: A001 - TensorFlow's name
sign = _api("Sign", "sign")
reciprocal = _api("Reciprocal", "reciprocal")
floor = _api("Floor", "floor")
ceil = _api("Ceil", "ceil")
tanh = _api("Tanh", "tanh")
sigmoid = _api("Sigmoid", "sigmoid")
is_nan = _api("IsNan", "is_nan")
is_inf = _api("IsInf", "is_inf")
is_finite = _api("IsFinite", "is_finite")


def round(x, name=None):  # noqa: A001 - TensorFlow's name
    """Rounds half to even (``Round``); integer tensors come back unchanged, as in TF."""
    x = convert_to_tensor(x, name="x")
    if x.dtype.base_dtype.is_integer:
        return x
    return apply_op("Round", x=x, name=name or "Round")


def conj(x, name=None):
    """Complex conjugate (``Conj``); real tensors come back unchanged, as in TF."""
    x = convert_to_tensor(x, name="x")
    if not x.dtype.base_dtype.is_complex:
        return x
    return apply_op("Conj", input=x, name=name or "Conj")

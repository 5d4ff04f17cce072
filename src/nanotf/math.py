"""``tf.math``: the math functions under their ``tf.math`` names (re-exports)."""

from nanotf.ops.math_ops import abs  # noqa: A004
from nanotf.ops.math_ops import add
from nanotf.ops.math_ops import add_n
from nanotf.ops.math_ops import argmax
from nanotf.ops.math_ops import argmin
from nanotf.ops.math_ops import ceil
from nanotf.ops.math_ops import conj
from nanotf.ops.math_ops import cos
from nanotf.ops.math_ops import count_nonzero
from nanotf.ops.math_ops import cumprod
from nanotf.ops.math_ops import cumsum
from nanotf.ops.math_ops import div_no_nan as divide_no_nan
from nanotf.ops.math_ops import divide
from nanotf.ops.math_ops import equal
from nanotf.ops.math_ops import erf
from nanotf.ops.math_ops import exp
from nanotf.ops.math_ops import expm1
from nanotf.ops.math_ops import floor
from nanotf.ops.math_ops import floordiv
from nanotf.ops.math_ops import floormod
from nanotf.ops.math_ops import greater
from nanotf.ops.math_ops import greater_equal
from nanotf.ops.math_ops import is_finite
from nanotf.ops.math_ops import is_inf
from nanotf.ops.math_ops import is_nan
from nanotf.ops.math_ops import less
from nanotf.ops.math_ops import less_equal
from nanotf.ops.math_ops import log
from nanotf.ops.math_ops import log1p
from nanotf.ops.math_ops import logical_and
from nanotf.ops.math_ops import logical_not
from nanotf.ops.math_ops import logical_or
from nanotf.ops.math_ops import logical_xor
from nanotf.ops.math_ops import maximum
from nanotf.ops.math_ops import minimum
from nanotf.ops.math_ops import mod
from nanotf.ops.math_ops import multiply
from nanotf.ops.math_ops import multiply_no_nan
from nanotf.ops.math_ops import negative
from nanotf.ops.math_ops import not_equal
from nanotf.ops.math_ops import pow  # noqa: A004
from nanotf.ops.math_ops import reciprocal
from nanotf.ops.math_ops import reduce_all
from nanotf.ops.math_ops import reduce_any
from nanotf.ops.math_ops import reduce_logsumexp
from nanotf.ops.math_ops import reduce_max
from nanotf.ops.math_ops import reduce_mean
from nanotf.ops.math_ops import reduce_min
from nanotf.ops.math_ops import reduce_prod
from nanotf.ops.math_ops import reduce_sum
from nanotf.ops.math_ops import round  # noqa: A004
from nanotf.ops.math_ops import rsqrt
from nanotf.ops.math_ops import scalar_mul
from nanotf.ops.math_ops import sigmoid
from nanotf.ops.math_ops import sign
from nanotf.ops.math_ops import sin
from nanotf.ops.math_ops import sqrt
from nanotf.ops.math_ops import square
from nanotf.ops.math_ops import squared_difference
from nanotf.ops.math_ops import subtract
from nanotf.ops.math_ops import tanh
from nanotf.ops.math_ops import truediv
from nanotf.ops.reduction_ops import reduce_std
from nanotf.ops.reduction_ops import reduce_variance

__all__ = [
    "abs",
    "add",
    "add_n",
    "argmax",
    "argmin",
    "ceil",
    "conj",
    "cos",
    "count_nonzero",
    "cumprod",
    "cumsum",
    "divide",
    "divide_no_nan",
    "equal",
    "erf",
    "exp",
    "expm1",
    "floor",
    "floordiv",
    "floormod",
    "greater",
    "greater_equal",
    "is_finite",
    "is_inf",
    "is_nan",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "multiply_no_nan",
    "negative",
    "not_equal",
    "pow",
    "reciprocal",
    "reduce_all",
    "reduce_any",
    "reduce_logsumexp",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_std",
    "reduce_sum",
    "reduce_variance",
    "round",
    "rsqrt",
    "scalar_mul",
    "sigmoid",
    "sign",
    "sin",
    "sqrt",
    "square",
    "squared_difference",
    "subtract",
    "tanh",
    "truediv",
]

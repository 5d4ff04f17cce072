"""Op-table rows for the math family: elementwise ops, reductions, scans, matmuls, clipping.

Gradient rows use float64 inputs for precise finite differences, keep away
from kinks and ties (Abs at 0, Max ties, clip bounds), and use positive
inputs where the function needs them (Log, Sqrt, Pow's base). Rows named
``*_partial`` / ``*_unknown_rank`` hide static dims behind
``placeholder_with_default`` so the gradients take their run-time-shape paths.
"""

import numpy as np

import nanotf as tf
from nanotf.framework.op_def_library import apply_op
from tests.ops.op_table import OpCase

RNG = np.random.default_rng(42)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 2))
ROW = RNG.standard_normal((4,))
POS = RNG.uniform(0.5, 2.0, (3, 4))
POS_ROW = RNG.uniform(0.5, 2.0, (4,))
AWAY = np.array([[-1.7, -0.6, 0.4], [0.9, 1.3, -2.2]])  # no entry near 0 or a tie
X3 = RNG.standard_normal((2, 2, 3))
Y3 = RNG.standard_normal((2, 4, 3))
V = np.array([0.3, -1.2, 2.5, 0.8])
INT_A = np.array([[7, -7, 3], [-1, 8, -9]], np.int32)
INT_B = np.array([[2, 2, -2], [3, -3, 4]], np.int32)
SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf, -0.0], np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    import math

    return np.vectorize(math.erf)(x)


def _raw(op_type, *names):
    """A build function applying ``op_type`` to the placeholders bound to input ``names``."""
    return lambda *xs: apply_op(op_type, **dict(zip(names, xs)))


def _partial(x):
    """``x`` with its first dimension hidden from the static shape."""
    return tf.placeholder_with_default(x, [None] + x.shape.as_list()[1:])


def _two_unknown(x):
    """``x`` with its first two dimensions hidden (no single ``-1`` can stand for them)."""
    return tf.placeholder_with_default(x, [None, None] + x.shape.as_list()[2:])


def _unknown_rank(x):
    return tf.placeholder_with_default(x, None)


def _unary(id, op, fn, x, reference, grad=True, **kw):
    return OpCase(id, (op,), fn, [x], reference, grad=grad, **kw)


ELEMENTWISE = [
    OpCase("add_broadcast", ("AddV2",), lambda x, y: x + y, [A, ROW], lambda x, y: x + y, grad=True),
    OpCase("add_legacy_op", ("Add",), _raw("Add", "x", "y"), [A, ROW], lambda x, y: x + y, grad=True),
    OpCase("add_partial_shapes", ("AddV2", "BroadcastGradientArgs"), lambda x, y: _partial(x) + _unknown_rank(y),
           [A, ROW], lambda x, y: x + y, grad=True),
    OpCase("sub_broadcast", ("Sub",), lambda x, y: x - y, [A, ROW], lambda x, y: x - y, grad=True),
    OpCase("mul_broadcast", ("Mul",), lambda x, y: x * y, [A, ROW], lambda x, y: x * y, grad=True),
    OpCase("mul_no_nan", ("MulNoNan",), tf.math.multiply_no_nan, [A, ROW], lambda x, y: x * y, grad=True),
    OpCase("mul_no_nan_zeros", ("MulNoNan",), tf.math.multiply_no_nan,
           [np.array([np.inf, np.nan, 2.0]), np.array([0.0, 0.0, 3.0])], lambda x, y: np.array([0.0, 0.0, 6.0])),
    OpCase("realdiv_broadcast", ("RealDiv",), tf.realdiv, [A, POS_ROW], lambda x, y: x / y, grad=True),
    OpCase("div_float", ("Div",), _raw("Div", "x", "y"), [A, POS], lambda x, y: x / y, grad=True),
    OpCase("div_no_nan", ("DivNoNan",), tf.div_no_nan, [A, POS_ROW], lambda x, y: x / y, grad=True),
    OpCase("div_no_nan_zeros", ("DivNoNan",), tf.div_no_nan, [np.array([1.0, 0.0, 2.0]), np.array([0.0, 0.0, 4.0])],
           lambda x, y: np.array([0.0, 0.0, 0.5])),
    OpCase("floordiv_float", ("FloorDiv",), tf.floordiv, [A, POS_ROW], lambda x, y: np.floor(x / y)),
    OpCase("floordiv_int", ("FloorDiv",), tf.floordiv, [INT_A, INT_B], lambda x, y: x // y),
    OpCase("truncatediv_int", ("TruncateDiv",), tf.truncatediv, [INT_A, INT_B],
           lambda x, y: np.trunc(x / y).astype(np.int32)),
    OpCase("floormod_float", ("FloorMod",), tf.floormod, [A, POS_ROW], np.mod, grad=True),
    OpCase("floormod_int", ("FloorMod",), tf.floormod, [INT_A, INT_B], np.mod),
    OpCase("mod_truncates", ("Mod",), _raw("Mod", "x", "y"), [INT_A, INT_B], lambda x, y: np.fmod(x, y)),
    OpCase("mod_float", ("Mod",), _raw("Mod", "x", "y"), [A, POS_ROW], np.fmod),
    OpCase("truncatemod_int", ("TruncateMod",), tf.truncatemod, [INT_A, INT_B], lambda x, y: np.fmod(x, y)),
    OpCase("maximum_broadcast", ("Maximum",), tf.maximum, [A, ROW], np.maximum, grad=True),
    OpCase("minimum_broadcast", ("Minimum",), tf.minimum, [A, ROW], np.minimum, grad=True),
    OpCase("pow_broadcast", ("Pow",), tf.pow, [POS, ROW], np.power, grad=True),
    OpCase("pow_negative_base", ("Pow",), tf.pow, [AWAY, np.array([2.0, 3.0, 2.0])], np.power, grad=True,
           grad_inputs=(0,)),
    OpCase("squared_difference", ("SquaredDifference",), tf.squared_difference, [A, ROW],
           lambda x, y: (x - y) ** 2, grad=True),
    _unary("neg", "Neg", tf.negative, A, np.negative),
    _unary("square", "Square", tf.square, A, np.square),
    _unary("sqrt", "Sqrt", tf.sqrt, POS, np.sqrt),
    _unary("rsqrt", "Rsqrt", tf.rsqrt, POS, lambda x: 1 / np.sqrt(x)),
    _unary("exp", "Exp", tf.exp, A, np.exp),
    _unary("expm1", "Expm1", tf.expm1, A, np.expm1),
    _unary("log", "Log", tf.log, POS, np.log),
    _unary("log1p", "Log1p", tf.log1p, POS, np.log1p),
    _unary("sin", "Sin", tf.sin, A, np.sin),
    _unary("cos", "Cos", tf.cos, A, np.cos),
    _unary("erf", "Erf", tf.erf, A, _erf),
    _unary("erf_float32", "Erf", tf.erf, A.astype(np.float32), _erf, grad=False, rtol=1e-6),
    _unary("abs", "Abs", tf.abs, AWAY, np.abs),
    _unary("sign", "Sign", tf.sign, AWAY, np.sign),
    _unary("reciprocal", "Reciprocal", tf.reciprocal, AWAY, lambda x: 1 / x),
    _unary("tanh", "Tanh", tf.tanh, A, np.tanh),
    _unary("sigmoid", "Sigmoid", tf.sigmoid, A, _sigmoid),
    _unary("floor", "Floor", tf.floor, AWAY, np.floor, grad=False),
    _unary("ceil", "Ceil", tf.ceil, AWAY, np.ceil, grad=False),
    _unary("round_half_to_even", "Round", tf.round, np.array([0.5, 1.5, 2.5, -0.5, -1.7]), np.round, grad=False),
    _unary("is_nan", "IsNan", tf.is_nan, SPECIAL, np.isnan, grad=False),
    _unary("is_inf", "IsInf", tf.is_inf, SPECIAL, np.isinf, grad=False),
    _unary("is_finite", "IsFinite", tf.is_finite, SPECIAL, np.isfinite, grad=False),
    OpCase("conj", ("Conj",), lambda x, y: tf.equal(tf.conj(x), y), [np.array([1 + 2j, -3j]), np.array([1 - 2j, 3j])],
           lambda x, y: np.array([True, True])),
    # The fused gradient ops, differentiated in both inputs (second derivatives).
    OpCase("tanh_grad", ("TanhGrad",), _raw("TanhGrad", "y", "dy"), [np.tanh(A), POS],
           lambda y, dy: dy * (1 - y * y), grad=True),
    OpCase("sigmoid_grad", ("SigmoidGrad",), _raw("SigmoidGrad", "y", "dy"), [_sigmoid(A), POS],
           lambda y, dy: dy * y * (1 - y), grad=True),
    OpCase("sqrt_grad", ("SqrtGrad",), _raw("SqrtGrad", "y", "dy"), [POS, A], lambda y, dy: dy * 0.5 / y, grad=True),
    OpCase("rsqrt_grad", ("RsqrtGrad",), _raw("RsqrtGrad", "y", "dy"), [POS, A], lambda y, dy: dy * -0.5 * y**3,
           grad=True),
    OpCase("reciprocal_grad", ("ReciprocalGrad",), _raw("ReciprocalGrad", "y", "dy"), [POS, A],
           lambda y, dy: -dy * y * y, grad=True),
    OpCase("sigmoid_second_derivative", ("Sigmoid", "SigmoidGrad"), lambda x: tf.gradients(tf.sigmoid(x), x)[0], [A],
           lambda x: _sigmoid(x) * (1 - _sigmoid(x)), grad=True),
]  # fmt: skip

LOGIC = [
    OpCase("equal", ("Equal",), tf.equal, [INT_A, np.abs(INT_A)], np.equal),
    OpCase("not_equal", ("NotEqual",), tf.not_equal, [INT_A, np.abs(INT_A)], np.not_equal),
    OpCase("less", ("Less",), tf.less, [A, ROW], np.less),
    OpCase("less_equal", ("LessEqual",), tf.less_equal, [INT_A, INT_B], np.less_equal),
    OpCase("greater", ("Greater",), tf.greater, [A, ROW], np.greater),
    OpCase("greater_equal", ("GreaterEqual",), tf.greater_equal, [INT_A, INT_B], np.greater_equal),
    OpCase("logical_ops", ("LogicalAnd", "LogicalOr", "LogicalNot"), lambda x, y: tf.logical_xor(x, y),
           [np.array([True, True, False, False]), np.array([True, False, True, False])], np.logical_xor),
    OpCase("cast_float32_to_float64", ("Cast",), lambda x: tf.cast(x, tf.float64), [A.astype(np.float32)],
           lambda x: x.astype(np.float64), grad=True, grad_rtol=1e-3),
    OpCase("cast_to_int_truncates", ("Cast",), lambda x: tf.cast(x, tf.int32), [AWAY], lambda x: x.astype(np.int32)),
    OpCase("add_n", ("AddN",), lambda x, y, z: tf.add_n([x, y, z]), [A, POS, A], lambda x, y, z: x + y + z,
           grad=True),
    OpCase("range", ("Range",), lambda a, b, c: tf.range(a, b, c), [np.int32(2), np.int32(11), np.int32(3)],
           lambda a, b, c: np.arange(a, b, c, dtype=np.int32)),
    OpCase("broadcast_gradient_args", ("BroadcastGradientArgs",), _raw("BroadcastGradientArgs", "s0", "s1"),
           [np.array([2, 3, 1], np.int32), np.array([3, 4], np.int32)],
           lambda a, b: (np.array([2], np.int32), np.array([0], np.int32))),
]  # fmt: skip

MATMUL = [
    OpCase("matmul", ("MatMul",), tf.matmul, [A, B], lambda x, y: x @ y, grad=True),
    OpCase("matmul_transpose_a", ("MatMul",), lambda x, y: tf.matmul(x, y, transpose_a=True), [A, A],
           lambda x, y: x.T @ y, grad=True),
    OpCase("matmul_transpose_both", ("MatMul",), lambda x, y: tf.matmul(x, y, transpose_a=True, transpose_b=True),
           [B, A], lambda x, y: x.T @ y.T, grad=True),
    OpCase("batch_matmul_broadcast", ("BatchMatMulV2",), tf.matmul, [X3, B[:3]], lambda x, y: x @ y, grad=True),
    OpCase("batch_matmul_adjoint_b", ("BatchMatMulV2",), lambda x, y: tf.matmul(x, y, adjoint_b=True), [X3, Y3],
           lambda x, y: x @ np.swapaxes(y, -1, -2), grad=True),
    OpCase("batch_matmul_adjoint_both", ("BatchMatMulV2",),
           lambda x, y: tf.matmul(x, y, adjoint_a=True, adjoint_b=True), [X3, Y3[:, :, :2]],
           lambda x, y: np.swapaxes(x, -1, -2) @ np.swapaxes(y, -1, -2), grad=True),
    OpCase("batch_matmul_partial_batch", ("BatchMatMulV2", "StridedSlice"),
           lambda x, y: tf.matmul(_partial(x), _unknown_rank(y)), [X3, B[:3]], lambda x, y: x @ y, grad=True),
]  # fmt: skip

REDUCTIONS = [
    OpCase("sum_axis", ("Sum",), lambda x: tf.reduce_sum(x, 1), [A], lambda x: x.sum(1), grad=True),
    OpCase("sum_all", ("Sum",), tf.reduce_sum, [A], np.sum, grad=True),
    OpCase("sum_keepdims_negative_axis", ("Sum",), lambda x: tf.reduce_sum(x, -1, keepdims=True), [X3],
           lambda x: x.sum(-1, keepdims=True), grad=True),
    OpCase("sum_partial", ("Sum",), lambda x: tf.reduce_sum(_partial(x), 1), [A], lambda x: x.sum(1), grad=True),
    OpCase("sum_partial_batch_axis", ("Sum",), lambda x: tf.reduce_sum(_partial(x), 0), [X3], lambda x: x.sum(0),
           grad=True),
    OpCase("sum_two_unknown_dims", ("Sum",), lambda x: tf.reduce_sum(_two_unknown(x), 2), [X3], lambda x: x.sum(2),
           grad=True),
    OpCase("sum_unknown_rank", ("Sum", "DynamicStitch"), lambda x: tf.reduce_sum(_unknown_rank(x), [0, 2]), [X3],
           lambda x: x.sum((0, 2)), grad=True),
    OpCase("sum_fed_axis", ("Sum", "DynamicStitch"), lambda x, a: tf.reduce_sum(x, a), [X3, np.int32(1)],
           lambda x, a: x.sum(1), grad=True),
    OpCase("sum_int_keeps_dtype", ("Sum",), lambda x: tf.reduce_sum(x, 0), [INT_A],
           lambda x: x.sum(0).astype(np.int32)),
    OpCase("mean_axis", ("Mean",), lambda x: tf.reduce_mean(x, 0), [A], lambda x: x.mean(0), grad=True),
    OpCase("mean_all", ("Mean",), tf.reduce_mean, [X3], np.mean, grad=True),
    OpCase("mean_partial", ("Mean",), lambda x: tf.reduce_mean(_partial(x), 1), [A], lambda x: x.mean(1), grad=True),
    OpCase("mean_unknown_rank", ("Mean",), lambda x: tf.reduce_mean(_unknown_rank(x), 1), [X3],
           lambda x: x.mean(1), grad=True),
    OpCase("mean_int_truncates", ("Mean",), tf.reduce_mean, [np.array([-7, 2], np.int32)], lambda x: np.int32(-2)),
    OpCase("prod_axis", ("Prod", "Cumprod"), lambda x: tf.reduce_prod(x, 1), [A], lambda x: x.prod(1), grad=True),
    OpCase("prod_two_axes", ("Prod",), lambda x: tf.reduce_prod(x, [2, 0]), [X3], lambda x: x.prod((0, 2)), grad=True),
    OpCase("prod_partial", ("Prod",), lambda x: tf.reduce_prod(_partial(x), -1, keepdims=True), [X3],
           lambda x: x.prod(-1, keepdims=True), grad=True),
    OpCase("max_axis", ("Max",), lambda x: tf.reduce_max(x, 1), [A], lambda x: x.max(1), grad=True),
    OpCase("max_partial", ("Max",), lambda x: tf.reduce_max(_partial(x), 0), [A], lambda x: x.max(0), grad=True),
    OpCase("max_two_unknown_dims", ("Max",), lambda x: tf.reduce_max(_two_unknown(x), 1), [X3], lambda x: x.max(1),
           grad=True),
    OpCase("max_ties_split_gradient", ("Max",), lambda x: tf.gradients(tf.reduce_max(x), x)[0],
           [np.array([1.0, 3.0, 3.0])], lambda x: np.array([0.0, 0.5, 0.5])),
    OpCase("max_empty_is_lowest", ("Max",), lambda x: tf.reduce_max(x, 0), [np.zeros((0, 2))],
           lambda x: np.full(2, -np.inf)),
    OpCase("min_keepdims", ("Min",), lambda x: tf.reduce_min(x, 0, keepdims=True), [A],
           lambda x: x.min(0, keepdims=True), grad=True),
    OpCase("min_unknown_rank", ("Min", "DynamicStitch"), lambda x: tf.reduce_min(_unknown_rank(x), 2), [X3],
           lambda x: x.min(2), grad=True),
    OpCase("all_any", ("All", "Any"), lambda x: tf.stack([tf.reduce_all(x, 1), tf.reduce_any(x, 1)]),
           [np.array([[True, False], [True, True], [False, False]])],
           lambda x: np.stack([x.all(1), x.any(1)])),
    OpCase("argmax_argmin", ("ArgMax", "ArgMin"), lambda x: tf.stack([tf.argmax(x, 1), tf.argmin(x, 1)]), [A],
           lambda x: np.stack([x.argmax(1), x.argmin(1)])),
    OpCase("cumsum", ("Cumsum",), lambda x: tf.cumsum(x, 1), [A], lambda x: np.cumsum(x, 1), grad=True),
    OpCase("cumsum_exclusive_reverse", ("Cumsum",), lambda x: tf.cumsum(x, 0, exclusive=True, reverse=True), [A],
           lambda x: np.flip(np.cumsum(np.flip(x, 0), 0), 0) - x, grad=True),
    OpCase("cumsum_int", ("Cumsum",), lambda x: tf.cumsum(x, exclusive=True), [INT_A],
           lambda x: np.cumsum(x, 0).astype(np.int32) - x),
    OpCase("cumprod", ("Cumprod",), lambda x: tf.cumprod(x, 1), [A], lambda x: np.cumprod(x, 1), grad=True),
    OpCase("cumprod_exclusive_reverse", ("Cumprod",), lambda x: tf.cumprod(x, 1, exclusive=True, reverse=True), [POS],
           lambda x: np.flip(np.cumprod(np.flip(x, 1), 1), 1) / x, grad=True),
    OpCase("reduce_logsumexp", ("Max", "IsFinite", "Exp", "Log"), lambda x: tf.reduce_logsumexp(x, 1), [A],
           lambda x: np.log(np.exp(x).sum(1)), grad=True),
    OpCase("reduce_logsumexp_infinite", ("Max",), lambda x: tf.reduce_logsumexp(x, 1, keepdims=True),
           [np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)]])], lambda x: np.array([[-np.inf], [np.log(4.0)]])),
    OpCase("reduce_std", ("Mean", "Square", "Sqrt"), lambda x: tf.math.reduce_std(x, 0), [A], lambda x: x.std(0),
           grad=True),
    OpCase("count_nonzero", ("NotEqual", "Cast", "Sum"), lambda x: tf.count_nonzero(x, 1),
           [np.array([[0.0, 1.0, 2.0], [0.0, 0.0, -3.0]])], lambda x: np.array([2, 1], np.int64)),
    OpCase("norm_euclidean", ("Sqrt", "Squeeze"), tf.norm, [A], np.linalg.norm, grad=True),
    OpCase("norm_l1_axis", ("Abs",), lambda x: tf.norm(x, ord=1, axis=1), [AWAY], lambda x: np.abs(x).sum(1),
           grad=True),
    OpCase("norm_inf", ("Abs", "Max"), lambda x: tf.norm(x, ord=np.inf), [AWAY], lambda x: np.abs(x).max(), grad=True),
    OpCase("norm_p3_keepdims", ("Pow",), lambda x: tf.norm(x, ord=3, axis=0, keepdims=True), [AWAY],
           lambda x: (np.abs(x) ** 3).sum(0, keepdims=True) ** (1 / 3), grad=True),
    OpCase("norm_matrix_1", ("Abs", "Sum", "Max"), lambda x: tf.norm(x, ord=1, axis=[0, 1]), [AWAY * [1, 1, 0.5]],
           lambda x: np.linalg.norm(x, 1), grad=True),
]  # fmt: skip

CLIPPING = [
    OpCase("clip_by_value", ("Minimum", "Maximum"), lambda x: tf.clip_by_value(x, -0.5, 1.0), [AWAY],
           lambda x: np.clip(x, -0.5, 1.0), grad=True),
    OpCase("clip_by_value_op", ("ClipByValue",), _raw("ClipByValue", "t", "clip_value_min", "clip_value_max"),
           [AWAY, np.float64(-1.0), np.float64(1.0)], lambda t, lo, hi: np.clip(t, lo, hi), grad=True),
    OpCase("clip_by_value_op_elementwise_bounds", ("ClipByValue",),
           _raw("ClipByValue", "t", "clip_value_min", "clip_value_max"),
           [AWAY, np.full(AWAY.shape, -1.0), np.full(AWAY.shape, 1.0)], lambda t, lo, hi: np.clip(t, lo, hi),
           grad=True),
    OpCase("clip_by_value_op_inverted_bounds", ("ClipByValue",),
           _raw("ClipByValue", "t", "clip_value_min", "clip_value_max"),
           [np.array([5.0, -5.0, 0.0]), np.float64(3.0), np.float64(1.0)], lambda t, lo, hi: np.full(3, 3.0)),
    OpCase("clip_by_norm_clips", ("Sqrt", "Maximum"), lambda x: tf.clip_by_norm(x, 1.0), [V],
           lambda x: x / np.linalg.norm(x), grad=True),
    OpCase("clip_by_norm_axes", ("Select",), lambda x: tf.clip_by_norm(x, 2.0, axes=[1]), [AWAY],
           lambda x: x * 2.0 / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 2.0), grad=True),
    OpCase("clip_by_norm_zero", ("Select",), lambda x: tf.clip_by_norm(x, 1.0), [np.zeros(3)], lambda x: x,
           grad=True),
]  # fmt: skip

CASES = ELEMENTWISE + LOGIC + MATMUL + REDUCTIONS + CLIPPING

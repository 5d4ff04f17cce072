"""Ops checked against NumPy references with TF's dtype rules, plus the math family's gradient graphs.

The live tests at the end run the same gradient snippets under real TensorFlow
and compare the values and the op types the gradients are built from.
"""

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import registry
from nanotf.framework.op_def_library import apply_op

X = np.array([[1.5, -2.0, 3.0], [4.0, 0.5, -6.0]], np.float32)
Y = np.array([[2.0, 1.0, -1.0], [0.5, 4.0, 2.0]], np.float32)
I = np.array([[7, -7, 3], [-1, 8, 9]], np.int32)
J = np.array([[2, 2, -2], [3, -3, 4]], np.int32)

CASES = [
    ("add", lambda a, b: tf.add(a, b), X, Y, X + Y),
    ("sub", lambda a, b: a - b, X, Y, X - Y),
    ("mul", lambda a, b: a * b, X, Y, X * Y),
    ("truediv_float", lambda a, b: a / b, X, Y, X / Y),
    ("truediv_int_is_float64", lambda a, b: a / b, I, J, I / J),
    ("floordiv_int", lambda a, b: a // b, I, J, I // J),
    ("floormod_int", lambda a, b: a % b, I, J, I % J),
    ("div_floors_integers_as_tf1", lambda a, b: tf.div(a, b), I, J, I // J),
    ("div_float_is_realdiv", lambda a, b: tf.div(a, b), X, Y, X / Y),
    ("truncatediv_int", tf.truncatediv, I, J, np.trunc(I / J).astype(np.int32)),
    ("truncatemod_int", tf.truncatemod, I, J, np.fmod(I, J)),
    ("pow_int", tf.pow, I, np.abs(J), I ** np.abs(J)),
    ("abs_int", lambda a, b: tf.abs(a), I, None, np.abs(I)),
    ("sign_int", lambda a, b: tf.sign(a), I, None, np.sign(I)),
    ("square_int", lambda a, b: tf.square(a), I, None, I * I),
    ("maximum_int", tf.maximum, I, J, np.maximum(I, J)),
    ("squared_difference_int", tf.squared_difference, I, J, (I - J) ** 2),
    ("add_n_int", lambda a, b: tf.add_n([a, b, a]), I, J, I + J + I),
    ("reduce_prod_int", lambda a, b: tf.reduce_prod(a), J, None, np.int32(J.prod())),
    ("cumprod_int", lambda a, b: tf.cumprod(a, 1), J, None, np.cumprod(J, 1).astype(np.int32)),
    ("round_int_is_identity", lambda a, b: tf.round(a), I, None, I),
    ("maximum", tf.maximum, X, Y, np.maximum(X, Y)),
    ("pow", tf.pow, X, np.float32(2), X**2),
    ("squared_difference", tf.squared_difference, X, Y, (X - Y) ** 2),
    ("less", lambda a, b: a < b, X, Y, X < Y),
    ("equal", tf.equal, I, J, I == J),
    ("matmul", lambda a, b: tf.matmul(a, b, transpose_b=True), X, Y, X @ Y.T),
    ("square", lambda a, b: tf.square(a), X, None, X * X),
    ("neg", lambda a, b: -a, I, None, -I),
    ("abs", lambda a, b: tf.abs(a), X, None, np.abs(X)),
    ("exp", lambda a, b: tf.exp(a), X, None, np.exp(X)),
    ("sigmoid", lambda a, b: tf.sigmoid(a), X, None, 1 / (1 + np.exp(-X))),
    ("reduce_sum_all", lambda a, b: tf.reduce_sum(a), I, None, np.int32(I.sum())),
    ("reduce_mean_axis", lambda a, b: tf.reduce_mean(a, axis=0), X, None, X.mean(axis=0)),
    ("reduce_mean_int_truncates", lambda a, b: tf.reduce_mean(-a), I, None, np.int32(-3)),  # -19 / 6
    ("reduce_max_keepdims", lambda a, b: tf.reduce_max(a, 1, keepdims=True), X, None, X.max(1, keepdims=True)),
    ("argmax", lambda a, b: tf.argmax(a, 1), X, None, X.argmax(1)),
    ("cast", lambda a, b: tf.cast(a, tf.int32), X, None, X.astype(np.int32)),
    ("reshape", lambda a, b: tf.reshape(a, [3, -1]), X, None, X.reshape(3, 2)),
    ("transpose", lambda a, b: tf.transpose(a), X, None, X.T),
    ("concat", lambda a, b: tf.concat([a, b], 1), X, Y, np.concatenate([X, Y], 1)),
    ("stack", lambda a, b: tf.stack([a, b], axis=1), X, Y, np.stack([X, Y], 1)),
    ("expand_squeeze", lambda a, b: tf.squeeze(tf.expand_dims(a, 0)), X, None, X),
    ("slice_item", lambda a, b: a[1, ::2], X, None, X[1, ::2]),
    ("slice_newaxis", lambda a, b: a[None, :, 1], X, None, X[None, :, 1]),
    ("gather", lambda a, b: tf.gather(a, [1, 0, 1]), X, None, X[[1, 0, 1]]),
    ("tile", lambda a, b: tf.tile(a, [2, 1]), X, None, np.tile(X, [2, 1])),
    ("shape_size_rank", lambda a, b: tf.stack([tf.size(a), tf.rank(a)]), X, None, np.array([6, 2], np.int32)),
    ("zeros_ones_fill", lambda a, b: tf.zeros([2, 3]) + tf.ones_like(a) + tf.fill([2, 3], 2.0), X, None,
     np.full((2, 3), 3.0, np.float32)),
    ("where", lambda a, b: tf.where(a > b, a, b), X, Y, np.where(X > Y, X, Y)),
    ("range", lambda a, b: tf.range(5), X, None, np.arange(5, dtype=np.int32)),
    ("add_n", lambda a, b: tf.add_n([a, b, a]), X, Y, X + Y + X),
]  # fmt: skip


@pytest.mark.parametrize("name, build, a, b, expected", CASES, ids=[c[0] for c in CASES])
def test_op_against_numpy(name, build, a, b, expected):
    g = tf.Graph()
    with g.as_default():
        out = build(tf.constant(a), None if b is None else tf.constant(b))
        with tf.Session() as sess:
            got = sess.run(out)
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, f"{name}: dtype {got.dtype} != {expected.dtype}"
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert out.shape.is_compatible_with(got.shape), f"{name}: static shape {out.shape} vs {got.shape}"


def test_static_shapes_follow_tensorflow():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        assert tf.matmul(x, tf.zeros([5, 2])).shape.as_list() == [None, 2]
        assert tf.reduce_sum(x, 1).shape.as_list() == [None]
        assert tf.reshape(x, [-1, 10]).shape.as_list() == [None, 10]
        assert x[:, 1:3].shape.as_list() == [None, 2]
        assert (x + tf.zeros([1, 5])).shape.as_list() == [None, 5]
        with pytest.raises(ValueError):
            tf.matmul(x, tf.zeros([4, 2]))


def test_runtime_errors_are_typed():
    with tf.Graph().as_default():
        bad = tf.reshape(tf.placeholder(tf.float32), [4])
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(bad, {"Placeholder:0": [1.0, 2.0, 3.0]})
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run(tf.constant(1) // tf.constant(0))


def test_random_ops_seeded_are_deterministic_and_advance():
    def draws():
        with tf.Graph().as_default():
            tf.set_random_seed(1)
            r = tf.random_normal([3])
            u = tf.random_uniform([2], 0, 10, dtype=tf.int32)
            t = tf.truncated_normal([100])
            with tf.Session() as sess:
                return sess.run(r), sess.run(r), sess.run(u), sess.run(t)

    first, second = draws(), draws()
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], first[1])  # a stateful op gives new numbers each run
    assert first[0].dtype == np.float32 and first[2].dtype == np.int32
    assert np.all((first[2] >= 0) & (first[2] < 10)) and np.all(np.abs(first[3]) <= 2)


def test_seed_attrs_follow_tensorflow():
    with tf.Graph().as_default() as g:
        tf.random_normal([1])
        assert g.get_operation_by_name("random_normal/RandomStandardNormal").get_attr("seed") == 0
        tf.set_random_seed(7)
        tf.random_normal([1])
        tf.random_normal([1], seed=5)
        op1 = g.get_operation_by_name("random_normal_1/RandomStandardNormal")
        op2 = g.get_operation_by_name("random_normal_2/RandomStandardNormal")
        assert (op1.get_attr("seed"), op1.get_attr("seed2")) == (7, 0)
        assert (op2.get_attr("seed"), op2.get_attr("seed2")) == (7, 5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: tf.floormod(tf.constant([3]), tf.constant([0])),
        lambda: apply_op("Mod", x=tf.constant([3]), y=tf.constant([0])),
        lambda: tf.truncatediv(tf.constant([3]), tf.constant([0])),
        lambda: tf.pow(tf.constant([2]), tf.constant([-1])),
        lambda: tf.cumsum(tf.constant([1.0, 2.0]), axis=1),
        lambda: tf.reduce_sum(tf.constant([1.0, 2.0]), tf.placeholder_with_default(1, [])),
        lambda: apply_op("ClipByValue", t=tf.zeros([2, 2]), clip_value_min=tf.zeros([2]), clip_value_max=1.0),
        lambda: tf.matmul(tf.placeholder_with_default(tf.zeros([2, 2, 3]), None), tf.zeros([2, 4, 2])),
        lambda: tf.range(0, tf.placeholder_with_default(5, []), 0),
        lambda: tf.range(tf.placeholder_with_default(5, []), 1),
    ],
    ids=["floormod_by_zero", "mod_by_zero", "truncatediv_by_zero", "int_negative_power", "cumsum_bad_axis",
         "sum_bad_axis", "clip_bound_shape", "batch_matmul_inner_dims", "range_zero_delta", "range_backwards"],
)  # fmt: skip
def test_math_runtime_errors_are_invalid_argument(build):
    with tf.Graph().as_default():
        out = build()
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(out)


def test_static_reduction_axis_out_of_range_fails_when_building():
    with tf.Graph().as_default(), pytest.raises(ValueError, match="Invalid reduction dimension"):
        tf.reduce_sum(tf.constant([1.0, 2.0]), 1)


def test_integer_division_by_zero_in_an_empty_output_is_fine():
    with tf.Graph().as_default():
        out = tf.floormod(tf.constant(np.zeros(0, np.int32)), tf.constant(0))
        with tf.Session() as sess:
            assert sess.run(out).shape == (0,)


def _grad_op_types(build, *shapes, dtype=tf.float32):
    """Builds ``build(*placeholders)``, differentiates it, and returns (gradients, op types under gradients/)."""
    g = tf.Graph()
    with g.as_default():
        xs = [tf.placeholder(dtype, s, name=f"x{i}") for i, s in enumerate(shapes)]
        grads = tf.gradients(build(*xs), xs)
    return grads, {op.type for op in g.get_operations() if op.name.startswith("gradients/")}


@pytest.mark.parametrize(
    "build, shapes, expected, absent",
    [
        (tf.tanh, [[3]], {"TanhGrad"}, set()),
        (tf.sigmoid, [[3]], {"SigmoidGrad"}, set()),
        (tf.sqrt, [[3]], {"SqrtGrad"}, set()),
        (tf.rsqrt, [[3]], {"RsqrtGrad"}, set()),
        (tf.reciprocal, [[3]], {"ReciprocalGrad"}, set()),
        (tf.log, [[3]], {"Reciprocal", "Mul"}, set()),
        (tf.pow, [[2, 3], [3]], {"Pow", "Greater", "Select", "Log", "Sum", "Reshape"}, {"BroadcastGradientArgs"}),
        (tf.maximum, [[2, 3], [3]], {"GreaterEqual", "SelectV2"}, set()),
        (lambda x: tf.reduce_sum(x, 1), [[2, 3]], {"Reshape", "Tile"}, {"DynamicStitch", "BroadcastTo"}),
        (lambda x: tf.reduce_sum(x, 0), [[None, 3]], {"Reshape", "BroadcastTo"}, {"DynamicStitch"}),
        (lambda x: tf.reduce_sum(x, 1), [None], {"DynamicStitch", "BroadcastTo"}, set()),
        (lambda x: tf.reduce_mean(x, 0), [[2, 3]], {"Tile", "RealDiv"}, {"Size"}),
        (lambda x: tf.reduce_max(x, 1), [[2, 3]], {"Equal", "Cast", "Sum", "RealDiv", "Mul"}, set()),
        (lambda x: tf.reduce_prod(x, 1), [[2, 3]], {"Transpose", "Cumprod", "Reshape"}, {"ListDiff"}),
        (lambda x: tf.cumprod(x, 1), [[2, 3]], {"Cumprod", "Cumsum", "DivNoNan"}, set()),
        (lambda x, y: tf.matmul(x, y), [[2, 2, 3], [3, 4]], {"BatchMatMulV2", "Sum", "Reshape"}, set()),
        (lambda x: tf.clip_by_value(x, 0.0, 1.0), [[3]], {"LessEqual", "GreaterEqual", "SelectV2"}, set()),
    ],
    ids=["tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal", "log", "pow", "maximum", "sum_static", "sum_partial",
         "sum_unknown_rank", "mean_static", "max", "prod", "cumprod", "batch_matmul", "clip_by_value"],
)  # fmt: skip
def test_gradients_use_tensorflows_op_types(build, shapes, expected, absent):
    grads, types = _grad_op_types(build, *shapes)
    assert all(g is not None for g in grads)
    assert expected <= types, f"missing {expected - types}"
    assert not absent & types, f"unexpected {absent & types}"


def test_gradient_names_follow_tensorflow():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [3])
        (gx,) = tf.gradients(tf.tanh(x), x)
        assert gx.name == "gradients/Tanh_grad/TanhGrad:0"
        (gx,) = tf.gradients(tf.log(x), x)
        assert gx.op.name == "gradients_1/Log_grad/mul"
        assert g.get_operation_by_name("gradients_1/Log_grad/Reciprocal").type == "Reciprocal"


def test_non_differentiable_ops_give_no_gradient():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        assert tf.gradients(tf.cast(tf.cast(x, tf.int32), tf.float32), x) == [None]
        assert tf.gradients(tf.cast(tf.floor(x), tf.float32), x) == [None]
        assert tf.gradients(tf.cast(tf.argmax(x), tf.float32), x) == [None]
        y = tf.cast(x, tf.float64)
        (gx,) = tf.gradients(y, x)
        assert gx.op.type == "Cast" and gx.dtype == tf.float32


@pytest.mark.skipif(registry.lookup("ListDiff") is None, reason="needs ListDiff (the array family)")
def test_prod_gradient_with_axes_known_only_at_run_time():
    x = np.array([[1.5, -2.0, 0.5], [3.0, 0.25, -1.0]])
    with tf.Graph().as_default():
        t = tf.placeholder_with_default(x, None)
        axis = tf.placeholder_with_default(np.int32(1), [])
        (grad,) = tf.gradients(tf.reduce_prod(t, axis), t)
        with tf.Session() as sess:
            got = sess.run(grad)
    np.testing.assert_allclose(got, x.prod(1, keepdims=True) / x, rtol=1e-12)


def test_mod_has_no_gradient_as_in_tensorflow():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3])
        with pytest.raises(LookupError, match="Mod"):
            tf.gradients(apply_op("Mod", x=x, y=2.0), x)


def test_math_static_shapes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2, 3])
        assert tf.matmul(x, tf.zeros([3, 4])).shape.as_list() == [None, 2, 4]
        assert tf.matmul(x, tf.zeros([5, 1, 2, 3]), transpose_b=True).shape.as_list() == [5, None, 2, 2]
        assert tf.reduce_sum(x, tf.placeholder(tf.int32), keepdims=True).shape.as_list() == [None, None, None]
        assert tf.reduce_logsumexp(x, 2).shape.as_list() == [None, 2]
        assert tf.norm(x, axis=1).shape.as_list() == [None, 3]
        assert tf.cumsum(x, 1).shape.as_list() == [None, 2, 3]
        with pytest.raises(ValueError):
            tf.matmul(x, tf.zeros([4, 2]))
        with pytest.raises(ValueError):
            tf.clip_by_value(tf.zeros([3]), tf.zeros([2, 3]), 1.0)


def test_tf_math_namespace():
    assert tf.math.reduce_sum is tf.reduce_sum
    assert tf.math.divide_no_nan is tf.div_no_nan
    assert callable(tf.math.reduce_variance) and callable(tf.math.multiply_no_nan)
    with tf.Graph().as_default(), tf.Session() as sess:
        v = sess.run(tf.math.reduce_variance(tf.constant([1.0, 2.0, 3.0, 6.0])))
    assert v == pytest.approx(3.5)


def test_clip_by_value_builds_minimum_then_maximum():
    with tf.Graph().as_default() as g:
        out = tf.clip_by_value(tf.placeholder(tf.float32, [3]), -1.0, 1.0)
        assert out.op.name == "clip_by_value" and out.op.type == "Maximum"
        assert g.get_operation_by_name("clip_by_value/Minimum").type == "Minimum"


@pytest.mark.skipif(registry.lookup("L2Loss") is None, reason="global_norm needs L2Loss (the nn family)")
def test_global_norm_and_clip_by_global_norm():
    a = np.array([3.0, 4.0], np.float32)
    b = np.array([[12.0]], np.float32)
    with tf.Graph().as_default():
        ta, tb = tf.constant(a), tf.constant(b)
        norm = tf.global_norm([ta, None, tb])
        (ca, none, cb), used = tf.clip_by_global_norm([ta, None, tb], 6.5)
        assert none is None and norm.op.name == "global_norm/global_norm"
        assert ca.op.name == "clip_by_global_norm/clip_by_global_norm/_0"
        with tf.Session() as sess:
            n, got_a, got_b, u = sess.run([norm, ca, cb, used])
    assert n == pytest.approx(13.0) and u == pytest.approx(13.0)
    np.testing.assert_allclose(got_a, a / 2, rtol=1e-6)
    np.testing.assert_allclose(got_b, b / 2, rtol=1e-6)


def test_clip_by_global_norm_with_infinite_norm_gives_nan():
    with tf.Graph().as_default():
        (clipped,), _ = tf.clip_by_global_norm([tf.constant([1.0, 2.0])], 1.0, use_norm=tf.constant(np.inf))
        with tf.Session() as sess:
            assert np.all(np.isnan(sess.run(clipped)))


# -- live: the same gradient graphs under real TensorFlow ------------------------------------
LIVE_GRADIENTS = {
    "tanh": ("tf.tanh(x)", [[0.3, -1.2, 2.0]]),
    "erf_log1p": ("tf.erf(x) * tf.log1p(x * x)", [[0.3, -1.2, 2.0]]),
    "pow": ("tf.pow(x, y)", [[[0.5, 1.5, 2.0], [-1.0, 0.0, 3.0]], [2.0, 3.0, 0.5]]),
    "realdiv": ("tf.realdiv(x, y)", [[[0.5, 1.5], [-1.0, 3.0]], [2.0, -4.0]]),
    "floormod": ("tf.floormod(x, y)", [[[2.5, -1.5], [7.0, 3.25]], [2.0, -1.5]]),
    "maximum_ties": ("tf.maximum(x, y)", [[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]]),
    "squared_difference": ("tf.squared_difference(x, y)", [[[1.0, 2.0], [3.0, 4.0]], [0.5, -1.0]]),
    "sum_mean": ("tf.reduce_sum(x, 1) * tf.reduce_mean(x, 0)[0]", [[[1.0, 2.0], [3.0, 4.0]]]),
    "max_ties": ("tf.reduce_max(x, 1)", [[[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]]),
    "min_keepdims": ("tf.reduce_min(x, 0, keepdims=True)", [[[1.0, 3.0], [2.0, 0.0]]]),
    "prod": ("tf.reduce_prod(x, [0, 2])", [[[[1.0, 2.0], [3.0, 0.5]], [[-1.0, 2.0], [0.25, 4.0]]]]),
    "cumsum_cumprod": ("tf.cumsum(x, 1, exclusive=True) + tf.cumprod(x, 1, reverse=True)",
                       [[[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]]),
    "batch_matmul": ("tf.matmul(x, y)", [[[[1.0, 2.0]], [[3.0, 4.0]]], [[1.0, 0.5, 2.0], [-1.0, 2.0, 1.0]]]),
    "logsumexp": ("tf.reduce_logsumexp(x, 1)", [[[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]]),
    "norm": ("tf.norm(x, ord=3, axis=1) + tf.norm(x)", [[[1.0, -2.0, 3.0], [0.5, -1.0, 2.0]]]),
    "clip": ("tf.clip_by_value(x, -1.0, 1.0) * tf.clip_by_norm(x, 1.0)", [[0.5, -2.0, 3.0]]),
    "second_order": ("tf.gradients(tf.sigmoid(x) * tf.tanh(x) + tf.sqrt(x * x + 1.0), x)[0]", [[0.3, -1.2, 2.0]]),
}  # fmt: skip

_LIVE_PROGRAM = """
import json
import numpy as np
results = {}
for key, (expr, inputs) in CASES.items():
    with tf.Graph().as_default() as g:
        names = ["x", "y"][: len(inputs)]
        feeds = {n: tf.constant(np.array(v, np.float64), name=n) for n, v in zip(names, inputs)}
        out = eval(expr, {"tf": tf, **feeds})
        grads = tf.gradients(out, list(feeds.values()))
        types = sorted({op.type for op in g.get_operations() if op.name.startswith("gradients")})
        with tf.Session() as sess:
            values = sess.run([out] + grads)
    results[key] = {"values": [np.asarray(v).tolist() for v in values], "types": types}
print(json.dumps(results))
"""


def _run_with_nanotf(cases):
    # The live program minus its imports and output, run here with nanotf as ``tf``.
    body = "\n".join(line for line in _LIVE_PROGRAM.strip().splitlines() if not line.startswith(("import", "print")))
    namespace = {"np": np, "tf": tf, "CASES": cases}
    exec(body, namespace)  # noqa: S102 - this module's own program text
    return namespace["results"]


def test_live_gradients_match_tensorflow(tf_runner):
    theirs = tf_runner.run_json(f"CASES = {LIVE_GRADIENTS!r}\n" + _LIVE_PROGRAM)
    ours = _run_with_nanotf(LIVE_GRADIENTS)
    for key in LIVE_GRADIENTS:
        for mine, real in zip(ours[key]["values"], theirs[key]["values"]):
            np.testing.assert_allclose(mine, real, rtol=1e-10, atol=1e-12, err_msg=key)
        # The gradients are built from op types TensorFlow's gradients use too (constants aside).
        extra = set(ours[key]["types"]) - set(theirs[key]["types"]) - {"Const"}
        assert not extra, f"{key}: nanotf's gradient uses {sorted(extra)}, TensorFlow's does not"

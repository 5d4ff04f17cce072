"""One table of ops checked against NumPy references, with TF's dtype rules."""

import numpy as np
import pytest

import nanotf as tf

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
    ("div_truncates", lambda a, b: tf.div(a, b), I, J, np.trunc(I / J).astype(np.int32)),
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
    ("reduce_mean_int_truncates", lambda a, b: tf.reduce_mean(a), I, None, np.int32(I.sum() // I.size)),
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

"""``tf.cond`` and ``tf.while_loop`` build the graph TF1 builds, and give TF's results.

The expected node lists were read off TensorFlow 2.21's ``tf.compat.v1``
GraphDefs for the same programs (the live tier checks whole GraphDefs).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import nanotf as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def _nodes(graph):
    return [(n.name, n.op, list(n.input)) for n in graph.as_graph_def().node]


def test_cond_graph_is_tensorflows(fresh_graph):
    x = tf.placeholder(tf.float32, [], name="x")
    a = tf.constant(2.0, name="a")
    r = tf.cond(x < 1.0, lambda: x * a, lambda: tf.constant(7.0) + x)
    assert r.name == "cond/Merge:0"
    assert _nodes(fresh_graph)[4:] == [
        ("cond/Switch", "Switch", ["Less", "Less"]),
        ("cond/switch_t", "Identity", ["cond/Switch:1"]),
        ("cond/switch_f", "Identity", ["cond/Switch"]),
        ("cond/pred_id", "Identity", ["Less"]),
        ("cond/mul", "Mul", ["cond/mul/Switch:1", "cond/mul/Switch_1:1"]),
        ("cond/mul/Switch", "Switch", ["x", "cond/pred_id"]),
        ("cond/mul/Switch_1", "Switch", ["a", "cond/pred_id"]),
        ("cond/Const", "Const", ["^cond/switch_f"]),
        ("cond/add", "AddV2", ["cond/Const", "cond/add/Switch"]),
        ("cond/add/Switch", "Switch", ["x", "cond/pred_id"]),
        ("cond/Merge", "Merge", ["cond/add", "cond/mul"]),
    ]
    assert fresh_graph.get_operation_by_name("cond/mul/Switch").get_attr("_class") == [b"loc:@x"]
    with tf.Session() as sess:
        assert sess.run(r, {x: 0.5}) == 1.0
        assert sess.run(r, {x: 3.0}) == 10.0


def test_while_loop_graph_is_tensorflows(fresh_graph):
    k = tf.constant(3, name="k")
    a = tf.constant(2.0, name="a")
    i, s = tf.while_loop(lambda i, s: i < k, lambda i, s: (i + 1, s * a), [tf.constant(0), tf.constant(1.5)])
    assert (i.name, s.name) == ("while/Exit:0", "while/Exit_1:0")
    nodes = {name: (op, inputs) for name, op, inputs in _nodes(fresh_graph)}
    assert nodes["while/Merge"] == ("Merge", ["while/Enter", "while/NextIteration"])
    assert nodes["while/Less"] == ("Less", ["while/Merge", "while/Less/Enter"])
    assert nodes["while/Switch_1"] == ("Switch", ["while/Merge_1", "while/LoopCond"])
    assert nodes["while/add/y"] == ("Const", ["^while/Identity"])
    assert nodes["while/mul"] == ("Mul", ["while/Identity_1", "while/mul/Enter"])
    enter = fresh_graph.get_operation_by_name("while/mul/Enter")
    assert enter.get_attr("frame_name") == b"while/while_context" and enter.get_attr("is_constant")
    assert not fresh_graph.get_operation_by_name("while/Enter").get_attr("is_constant")
    with tf.Session() as sess:
        assert sess.run([i, s]) == [3, 12.0]


def test_while_loop_structures_and_maximum_iterations():
    Pair = collections.namedtuple("Pair", "a b")
    single = tf.while_loop(lambda v: v < 10, lambda v: v * 2, [tf.constant(1)])
    pair = tf.while_loop(lambda p: p.a < 3, lambda p: Pair(p.a + 1, p.b * 2.0),
                         [Pair(tf.constant(0), tf.constant(1.0))])  # fmt: skip
    capped = tf.while_loop(lambda v: v < 1000, lambda v: v + 1, [tf.constant(0)], maximum_iterations=7)
    assert tf.get_default_graph().get_operation_by_name("while_2/iteration_counter").type == "Const"
    with tf.Session() as sess:
        assert sess.run(single) == 16
        assert sess.run(pair) == Pair(3, 8.0)
        assert sess.run(capped) == 7


def test_while_loop_carries_a_tensor_array():
    ta = tf.TensorArray(tf.float32, size=4)
    _, ta = tf.while_loop(lambda i, ta: i < 4, lambda i, ta: (i + 1, ta.write(i, tf.cast(i * i, tf.float32))),
                          [0, ta])  # fmt: skip
    assert isinstance(ta, tf.TensorArray)
    with tf.Session() as sess:
        assert sess.run(ta.stack()).tolist() == [0.0, 1.0, 4.0, 9.0]


def test_while_loop_shape_must_stay_compatible():
    with pytest.raises(ValueError, match="enters the loop with shape"):
        tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: tf.concat([v, v], 0), [tf.ones([2])])
    grown = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: tf.concat([v, v], 0), [tf.ones([2])],
                          shape_invariants=[tf.TensorShape([None])])  # fmt: skip
    with tf.Session() as sess:
        assert sess.run(grown).shape == (16,)


def test_cond_structures_ops_and_errors():
    p = tf.placeholder(tf.bool, [], name="p")
    x = tf.constant([1.0, 2.0])
    out = tf.cond(p, lambda: {"v": x, "n": tf.constant(1)}, lambda: {"v": -x, "n": tf.constant(2)})
    counter = tf.Variable(0, name="counter")
    bumped = tf.cond(p, lambda: tf.assign_add(counter, 1).op, lambda: tf.no_op())
    with tf.Session() as sess:
        sess.run(counter.initializer)
        got = sess.run(out, {p: False})
        assert got["n"] == 2 and got["v"].tolist() == [-1.0, -2.0]
        sess.run(bumped, {p: True})
        sess.run(bumped, {p: False})
        assert sess.run(counter) == 1
    with pytest.raises(TypeError, match="Python bool"):
        tf.cond(True, lambda: x, lambda: x)
    with pytest.raises(ValueError, match="same type"):
        tf.cond(p, lambda: tf.constant(1), lambda: tf.constant(1.0))
    with pytest.raises(ValueError, match="return value"):
        tf.cond(p, lambda: None, lambda: x)


def test_cond_inside_while_and_while_inside_cond():
    n = tf.placeholder(tf.int32, [], name="n")

    def body(i, acc):
        step = tf.cond(tf.equal(i % 2, 0), lambda: tf.cast(i, tf.float32), lambda: -1.0)
        return i + 1, acc + step

    _, total = tf.while_loop(lambda i, acc: i < n, body, [0, 0.0])
    inner = tf.cond(n > 2, lambda: tf.while_loop(lambda j: j < n, lambda j: j + 2, [0]), lambda: tf.constant(-5))
    with tf.Session() as sess:
        # i = 0..4: 0 - 1 + 2 - 1 + 4
        assert sess.run([total, inner], {n: 5}) == [4.0, 6]
        assert sess.run([total, inner], {n: 1}) == [0.0, -5]


def test_values_match_numpy_for_a_loop_over_a_matrix():
    w = np.array([[0.5, -0.2], [0.1, 0.9]], np.float32)
    h = tf.while_loop(lambda i, h: i < 5, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, w))),
                      [0, tf.constant([[1.0, 2.0]])])[1]  # fmt: skip
    expected = np.array([[1.0, 2.0]], np.float32)
    for _ in range(5):
        expected = np.tanh(expected @ w)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(h), expected, rtol=1e-6)

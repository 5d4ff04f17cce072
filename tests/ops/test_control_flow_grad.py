"""Gradients through ``tf.cond``, ``tf.while_loop`` and TensorArrays: TensorFlow's graph, finite differences' values.

Every program is built in float64 and differentiated with respect to
placeholders; the symbolic gradient must match central differences of the
same graph. The expected node lists were read off TensorFlow 2.21's graphs
for the same programs (``tf.compat.v1``, control flow v1).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import nanotf as tf

EPS = 1e-6
RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def _numeric_grad(sess, y, x, feeds):
    """d sum(y) / d x by central differences, x a fed placeholder."""
    value = np.array(feeds[x], np.float64)
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        total = 0.0
        for sign in (1.0, -1.0):
            moved = value.copy()
            moved[idx] += sign * EPS
            total += sign * np.sum(sess.run(y, {**feeds, x: moved}))
        grad[idx] = total / (2 * EPS)
    return grad


def _check(y, xs, feeds, atol=1e-6):
    grads = tf.gradients(y, xs)
    assert all(g is not None for g in grads), grads
    with tf.Session() as sess:
        got = sess.run(grads, feeds)
        for x, g in zip(xs, got):
            np.testing.assert_allclose(g, _numeric_grad(sess, y, x, feeds), atol=atol, err_msg=x.name)


def _vec(name, shape):
    return tf.placeholder(tf.float64, shape, name=name)


# -- while loops ------------------------------------------------------------------------------
def _loop_with_invariant(shape=(3,)):
    x, w = _vec("x", shape), _vec("w", shape)
    _, r = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.sin(v) * w), [0, x])
    return tf.reduce_sum(r * r), [x, w]


def _loop_with_maximum_iterations(shape=(3,)):
    x = _vec("x", shape)
    r = tf.while_loop(lambda v: tf.reduce_sum(v) < 100.0, lambda v: v * 1.5 + tf.cos(v), [x], maximum_iterations=4)
    return r, [x]


def _nested_loops(shape=(3,)):
    x = _vec("x", shape)

    def outer_body(j, acc):
        scale = tf.cos(acc)  # an outer-loop value, invariant in the inner loop: saved by the outer loop
        inner = tf.while_loop(lambda m, t, u: m < j, lambda m, t, u: (m + 1, tf.sin(t) * x * scale, t * 0.5),
                              [0, acc, x], name="inner")  # fmt: skip
        return j + 1, inner[1]

    _, total = tf.while_loop(lambda j, acc: j < 3, outer_body, [0, x], name="outer")
    return total, [x]


def _cond_inside_loop(shape=(3,)):
    x = _vec("x", shape)

    def body(i, v):
        return i + 1, tf.cond(i % 2 < 1, lambda: v * x, lambda: tf.sin(v) + x)

    _, r = tf.while_loop(lambda i, v: i < 5, body, [0, x])
    return r, [x]


def _loop_inside_cond(shape=(3,)):
    x = _vec("x", shape)
    p = tf.placeholder(tf.bool, [], name="p")
    r = tf.cond(p, lambda: tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * tf.tanh(v)), [0, x])[1],
                lambda: x * 3.0)  # fmt: skip
    return r, [x]


def _loop_with_unused_exit(shape=(3,)):
    # y needs only `a`, but `a` reads `b` every iteration: `b`'s exit backprops zeros.
    x, z = _vec("x", shape), _vec("z", shape)
    _, a, _ = tf.while_loop(lambda i, a, b: i < 3, lambda i, a, b: (i + 1, a + tf.sin(b), b * 1.1), [0, x, z])
    return a, [x, z]


def _loop_with_unused_output(shape=(3,)):
    # One output of a Split inside the loop gets no gradient: zeros of its (run-time) shape.
    x = _vec("x", shape)

    def body(i, v):
        first, _ = tf.split(tf.concat([v, tf.sin(v)], 0), 2)
        return i + 1, first * 1.5

    _, r = tf.while_loop(lambda i, v: i < 3, body, [0, x])
    return r, [x]


def _loop_variable_not_read_by_body(shape=(3,)):
    # The body never reads `v`: its gradient Merge gets a zero back edge.
    x, w = _vec("x", shape), _vec("w", shape)
    _, r = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, w * w), [0, x])
    return r, [x, w]


def _loop_over_tensor_array():
    x = tf.placeholder(tf.float64, [4, 3], name="x")
    inputs = tf.TensorArray(tf.float64, size=4).unstack(x)
    outputs = tf.TensorArray(tf.float64, size=4)

    def body(t, h, out):
        h = tf.tanh(inputs.read(t) + h)
        return t + 1, h, out.write(t, h * h)

    _, _, out = tf.while_loop(lambda t, h, out: t < 4, body, [0, tf.zeros([3], tf.float64), outputs])
    return out.stack(), [x]


LOOPS = {
    "invariant": _loop_with_invariant,
    # Unknown lengths: zeros, accumulators and back edges need shapes saved at run time.
    "invariant_unknown_shape": functools.partial(_loop_with_invariant, [None]),
    "nested_unknown_shape": functools.partial(_nested_loops, [None]),
    "cond_inside_loop_unknown_shape": functools.partial(_cond_inside_loop, [None]),
    "unused_exit_unknown_shape": functools.partial(_loop_with_unused_exit, [None]),
    "body_ignores_variable_unknown_shape": functools.partial(_loop_variable_not_read_by_body, [None]),
    "maximum_iterations": _loop_with_maximum_iterations,
    "nested": _nested_loops,
    "cond_inside_loop": _cond_inside_loop,
    "loop_inside_cond": _loop_inside_cond,
    "unused_exit": _loop_with_unused_exit,
    "unused_output": _loop_with_unused_output,
    "unused_output_unknown_shape": functools.partial(_loop_with_unused_output, [None]),
    "body_ignores_variable": _loop_variable_not_read_by_body,
    "tensor_array": _loop_over_tensor_array,
}


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_while_loop_gradients_match_finite_differences(name):
    y, xs = LOOPS[name]()
    feeds = {x: RNG.uniform(0.2, 0.9, [3 if d is None else d for d in x.shape.as_list()]) for x in xs}
    predicates = [op.outputs[0] for op in tf.get_default_graph().get_operations()
                  if op.type == "Placeholder" and op.get_attr("dtype") == tf.bool]  # fmt: skip
    for case in [{p: value} for p in predicates for value in (True, False)] or [{}]:
        _check(y, xs, {**feeds, **case})


def test_while_loop_gradient_graph_is_tensorflows(fresh_graph):
    x = tf.placeholder(tf.float32, [3], name="x")
    w = tf.constant([1.0, 2.0, 3.0], name="w")
    _, r = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.sin(v) * w), [tf.constant(0), x])
    tf.gradients(tf.reduce_sum(r), [x])
    nodes = {n.name: (n.op, list(n.input)) for n in fresh_graph.as_graph_def().node}
    frames = {n.name: n.attr["frame_name"].s.decode() for n in fresh_graph.as_graph_def().node if n.op == "Enter"}
    expected = {
        # the forward loop counts its iterations ...
        "gradients/f_count_1": ("Enter", ["gradients/f_count"]),
        "gradients/Merge": ("Merge", ["gradients/f_count_1", "gradients/NextIteration"]),
        "gradients/Switch": ("Switch", ["gradients/Merge", "while/LoopCond"]),
        "gradients/Add/y": ("Const", ["^while/Identity"]),
        "gradients/NextIteration": ("NextIteration", ["gradients/Add", "^gradients/while/Sin_grad/Cos/StackPushV2",
                                                      "^gradients/while/mul_grad/Mul_1/StackPushV2"]),
        "gradients/f_count_2": ("Exit", ["gradients/Switch"]),
        # ... and the gradient loop counts them down
        "gradients/b_count_1": ("Enter", ["gradients/f_count_2"]),
        "gradients/GreaterEqual": ("GreaterEqual", ["gradients/Merge_1", "gradients/GreaterEqual/Enter"]),
        "gradients/b_count_2": ("LoopCond", ["gradients/GreaterEqual"]),
        "gradients/Sub": ("Sub", ["gradients/Switch_1:1", "gradients/GreaterEqual/Enter"]),
        "gradients/NextIteration_1": ("NextIteration", ["gradients/Sub", "^gradients/while/mul_grad/Mul_1/b_sync"]),
        # loop variable: Exit -> Enter, Switch -> Merge, Merge -> Switch, Enter -> Exit
        "gradients/while/Switch_1_grad/b_switch": ("Merge", ["gradients/while/Exit_1_grad/b_exit",
                                                              "gradients/while/Switch_1_grad_1/NextIteration"]),
        "gradients/while/Merge_1_grad/Switch": ("Switch", ["gradients/while/Switch_1_grad/b_switch",
                                                           "gradients/b_count_2"]),
        "gradients/while/Enter_1_grad/Exit": ("Exit", ["gradients/while/Merge_1_grad/Switch"]),
        "gradients/while/Switch_1_grad_1/NextIteration": ("NextIteration", ["gradients/while/Sin_grad/mul"]),
        # forward values read by the gradient: pushed per iteration, popped in reverse
        "gradients/while/Sin_grad/Cos/f_acc": ("StackV2", ["gradients/while/Sin_grad/Cos/Const"]),
        "gradients/while/Sin_grad/Cos/StackPushV2": ("StackPushV2", ["gradients/while/Sin_grad/Cos/Enter",
                                                                     "while/Identity_1", "^gradients/Add"]),
        "gradients/while/Sin_grad/Cos/StackPopV2": ("StackPopV2", ["gradients/while/Sin_grad/Cos/StackPopV2/Enter",
                                                                   "^gradients/Sub"]),
        "gradients/while/mul_grad/Mul_1/b_sync": ("ControlTrigger", ["^gradients/while/Sin_grad/Cos/StackPopV2",
                                                                     "^gradients/while/mul_grad/Mul_1/StackPopV2"]),
        # a constant the gradient reads is entered into the gradient loop, not saved
        "gradients/while/mul_grad/Mul/Enter": ("Enter", ["w"]),
    }  # fmt: skip
    assert {k: nodes.get(k) for k in expected} == expected
    assert frames["gradients/f_count_1"] == "while/while_context"
    assert frames["gradients/while/Sin_grad/Cos/Enter"] == "while/while_context"
    assert frames["gradients/while/Exit_1_grad/b_exit"] == "gradients/while/while_context"
    assert frames["gradients/while/Sin_grad/Cos/StackPopV2/Enter"] == "gradients/while/while_context"


def test_loop_invariant_gradient_is_summed_by_an_accumulator_loop(fresh_graph):
    w = tf.placeholder(tf.float32, [2], name="w")
    _, r = tf.while_loop(lambda i, v: i < 4, lambda i, v: (i + 1, v + w), [0, tf.zeros([2])])
    (g,) = tf.gradients(tf.reduce_sum(r), [w])
    assert g.name == "gradients/while/add_1/Enter_grad/b_acc_3:0"
    assert g.op.type == "Exit"
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(g, {w: [1.0, 2.0]}), [4.0, 4.0])


def test_loop_built_without_back_prop_has_no_gradient():
    x = tf.placeholder(tf.float32, [], name="x")
    r = tf.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, [x], back_prop=False)
    assert tf.gradients(r, [x]) == [None]


def test_second_order_gradient_through_a_loop_is_refused():
    x, w = tf.placeholder(tf.float32, [], name="x"), tf.placeholder(tf.float32, [], name="w")
    _, r = tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * w), [0, x])
    (g,) = tf.gradients(r, [w])
    with pytest.raises(TypeError, match="Second-order gradient for while loops"):
        tf.gradients(g, [w])


def test_two_gradient_calls_in_one_run_use_separate_gradient_arrays():
    x = tf.placeholder(tf.float64, [3, 2], name="x")
    ta = tf.TensorArray(tf.float64, size=3).unstack(x)
    y = tf.reduce_sum(ta.read(0) * ta.read(2) * 2.0)
    (g1,) = tf.gradients(y, [x])
    (g2,) = tf.gradients(y * 3.0, [x])
    assert {op.get_attr("source") for op in tf.get_default_graph().get_operations()
            if op.type == "TensorArrayGradV3"} == {b"gradients", b"gradients_1"}  # fmt: skip
    value = RNG.standard_normal((3, 2))
    with tf.Session() as sess:
        got1, got2 = sess.run([g1, g2], {x: value})
    expected = np.zeros((3, 2))
    expected[0], expected[2] = 2 * value[2], 2 * value[0]
    np.testing.assert_allclose(got1, expected)
    np.testing.assert_allclose(got2, 3 * expected)


# -- cond -------------------------------------------------------------------------------------
def test_cond_gradient_graph_is_tensorflows(fresh_graph):
    x = tf.placeholder(tf.float32, [], name="x")
    a = tf.constant(2.0, name="a")
    r = tf.cond(x < 1.0, lambda: x * a, lambda: tf.sin(x))
    (g,) = tf.gradients(r, [x])
    nodes = {n.name: (n.op, list(n.input)) for n in fresh_graph.as_graph_def().node}
    assert nodes["gradients/cond/Merge_grad/cond_grad"] == ("Switch", ["gradients/grad_ys_0", "cond/pred_id"])
    assert nodes["gradients/cond/mul_grad/Mul"][1][0] == "gradients/cond/Merge_grad/cond_grad:1"
    # The untaken side of each branch's Switch gets zeros that are live exactly when it is.
    assert nodes["gradients/cond/Sin/Switch_grad/cond_grad"] == ("Merge", ["gradients/cond/Sin_grad/mul",
                                                                          "gradients/zeros"])  # fmt: skip
    assert nodes["gradients/Switch"] == ("Switch", ["x", "cond/pred_id"])
    assert nodes["gradients/Shape_1"] == ("Shape", ["gradients/Switch:1"])
    assert g.op.type == "AddN"
    with tf.Session() as sess:
        assert sess.run(g, {x: 0.5}) == 2.0
        np.testing.assert_allclose(sess.run(g, {x: 2.0}), np.cos(2.0), rtol=1e-6)


def _cond_programs():
    x, w = _vec("x", [3]), _vec("w", [3])
    p = tf.placeholder(tf.bool, [], name="p")
    yield tf.cond(p, lambda: tf.sin(x) * w, lambda: x * x), [x, w], p
    yield tf.cond(p, lambda: x, lambda: w * 2.0), [x, w], p  # a branch returning an outside tensor
    nested = tf.cond(p, lambda: tf.cond(tf.reduce_sum(x) > 1.5, lambda: x * w, lambda: tf.exp(x)),
                     lambda: tf.tanh(w))  # fmt: skip
    yield nested, [x, w], p


def test_cond_gradients_match_finite_differences_on_both_branches():
    for y, xs, p in _cond_programs():
        for value in (True, False):
            for low, high in ((0.1, 0.4), (0.6, 0.9)):
                feeds = {x: RNG.uniform(low, high, 3) for x in xs}
                _check(y, xs, {**feeds, p: value})


# -- TensorArrays outside loops ----------------------------------------------------------------
def test_tensor_array_gradients_match_finite_differences():
    x = tf.placeholder(tf.float64, [4, 2], name="x")
    scattered = tf.TensorArray(tf.float64, size=4).scatter([3, 0, 2, 1], x)
    gathered = scattered.gather([1, 3])
    split = tf.TensorArray(tf.float64, size=2).split(x * x, [2, 2])
    y = tf.reduce_sum(tf.sin(gathered)) + tf.reduce_sum(split.concat() * 2.0) + tf.reduce_sum(scattered.read(0))
    _check(y, [x], {x: RNG.standard_normal((4, 2))})

"""Session.run: fetch structures, feeds, results, errors, variables per session, plan caching."""

import collections

import numpy as np
import pytest

import nanotf as tf


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()


def _seed():
    w1 = tf.placeholder("float", name="w1")
    w2 = tf.placeholder("float", name="w2")
    b1 = tf.Variable(2.0, name="bias")
    w4 = tf.multiply(tf.add(w1, w2), b1, name="op_to_restore")
    return w1, w2, b1, w4


def test_seed_program_prints_24_then_60():
    w1, w2, b1, w4 = _seed()
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    out = sess.run(w4, {w1: 4, w2: 8})
    assert out == 24.0 and isinstance(out, np.float32)
    assert sess.run("op_to_restore:0", {"w1:0": 13.0, "w2:0": 17.0}) == 60.0
    assert sess.run(w4 * 2, {w1: 13.0, w2: 17.0}) == 120.0


def test_fetch_structures():
    a = tf.constant(1.0, name="a")
    b = tf.constant([1, 2], name="b")
    noop = tf.no_op(name="nothing")
    Pair = collections.namedtuple("Pair", "x y")
    with tf.Session() as sess:
        out = sess.run({"k": [a, (b, "a:0")], "p": Pair(a, noop), "op": "nothing"})
    assert out["k"][0] == 1.0 and out["k"][1][0].tolist() == [1, 2] and out["k"][1][1] == 1.0
    assert isinstance(out["k"][1], tuple) and isinstance(out["p"], Pair)
    assert out["p"].y is None and out["op"] is None


def test_feed_shape_and_type_checks():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = x * 2
    with tf.Session() as sess:
        assert sess.run(y, {x: [1, 2]}).dtype == np.float32
        with pytest.raises(ValueError, match="Cannot feed value of shape"):
            sess.run(y, {x: [1, 2, 3]})
        with pytest.raises(TypeError):
            sess.run(y, {"nope:0": [1, 2]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder tensor 'x'"):
            sess.run(y)


def test_fetching_a_fed_tensor_returns_the_feed_without_running_its_op():
    x = tf.placeholder(tf.float32, name="x")
    y = tf.identity(x)
    with tf.Session() as sess:
        assert sess.run(y, {y: 5.0}) == 5.0


def test_uninitialized_variable_raises_failed_precondition_naming_it():
    _, _, b1, w4 = _seed()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="bias"):
            sess.run(w4, {"w1:0": 1.0, "w2:0": 1.0})


def test_variables_are_per_session_and_results_are_copies():
    v = tf.Variable([1.0, 2.0], name="v")
    inc = v.assign_add([1.0, 1.0])
    s1, s2 = tf.Session(), tf.Session()
    s1.run(v.initializer)
    s2.run(v.initializer)
    s1.run(inc)
    got = s1.run(v)
    got[0] = 100.0  # must not write through into the variable
    assert s1.run(v).tolist() == [2.0, 3.0]
    assert s2.run(v).tolist() == [1.0, 2.0]


def test_eval_and_run_use_the_default_session():
    v = tf.Variable(3, name="v")
    with tf.Session():
        v.initializer.run()
        assert v.eval() == 3
        assert (v.value() * 2).eval() == 6
    with pytest.raises(ValueError, match="No default session"):
        v.value().eval()


def test_closed_session_and_interactive_session():
    x = tf.constant(1)
    sess = tf.Session()
    sess.close()
    with pytest.raises(RuntimeError):
        sess.run(x)
    inter = tf.InteractiveSession()
    try:
        assert x.eval() == 1
    finally:
        inter.close()


def test_plan_is_cached_and_graph_growth_invalidates_it():
    x = tf.placeholder(tf.float32, name="x")
    y = x + 1
    with tf.Session() as sess:
        sess.run(y, {x: 1})
        sess.run(y, {x: 2})
        assert len(sess._plans) == 1
        z = y * 3
        assert sess.run(z, {x: 1}) == 6.0


def test_string_and_scalar_results():
    s = tf.constant("hi")
    with tf.Session() as sess:
        assert sess.run(s) == b"hi"
        assert sess.run(tf.constant(["a", "b"])).tolist() == [b"a", b"b"]


def test_operation_fetched_runs_dependencies_in_order():
    v = tf.Variable(0, name="counter")
    inc = tf.assign_add(v, 1)
    with tf.control_dependencies([inc]):
        read = v.read_value()  # value() is the snapshot made before inc; read_value() reads after it
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(read) == 1
        assert sess.run(read) == 2


def test_stateless_ops_reached_only_through_control_edges_are_skipped():
    # The input gradient of a first layer is gated by tuple() but read by nobody:
    # running it could change nothing, so the plan leaves it out (as TF's optimizer does).
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 3])
        w = tf.Variable(np.ones((3, 1), np.float32))
        loss = tf.reduce_sum(tf.matmul(x, w))
        dx, dw = tf.gradients(loss, [x, w], gate_gradients=True)
        step = tf.assign_sub(w, 0.1 * dw)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step, {x: np.ones((2, 3), np.float32)})
            plan = next(p for p in sess._plans.values() if p.steps and any(s.op is step.op for s in p.steps))
            ran = {s.op for s in plan.steps}
            assert dx.op.inputs[0].op not in ran and dw.op.inputs[0].op in ran
            np.testing.assert_allclose(sess.run(w), np.full((3, 1), 0.8, np.float32))

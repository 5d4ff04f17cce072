"""The dataflow executor: dead tensors, Merge, frames and iterations, variables inside loops.

Graphs are built with nanotf's own builders (``tf.cond``, ``tf.while_loop``)
and with the raw ops where the rule under test needs a shape the builders
never make. Expected values are worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.ops import control_flow_ops as cfo


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_switch_sends_data_to_one_side_and_the_other_is_dead():
    p = tf.placeholder(tf.bool, [], name="p")
    f, t = cfo.switch(tf.constant(3.0), p)
    doubled = t * 2.0
    with tf.Session() as sess:
        assert sess.run(doubled, {p: True}) == 6.0
        with pytest.raises(errors.InvalidArgumentError, match=r"Retval\[0\] does not have value"):
            sess.run(doubled, {p: False})
        assert sess.run(f, {p: False}) == 3.0


def test_merge_forwards_the_live_input_and_its_index():
    p = tf.placeholder(tf.bool, [], name="p")
    f, t = cfo.switch(tf.constant(3.0), p)
    out, index = cfo.merge([f + 1.0, t * 10.0])
    with tf.Session() as sess:
        assert sess.run([out, index], {p: True}) == [30.0, 1]
        assert sess.run([out, index], {p: False}) == [4.0, 0]


def test_control_input_from_a_dead_op_makes_the_consumer_dead():
    p = tf.placeholder(tf.bool, [], name="p")
    _, t = cfo.switch(tf.constant(1.0), p)
    with tf.control_dependencies([tf.identity(t).op]):
        after = tf.constant(5.0)
    with tf.Session() as sess:
        assert sess.run(after, {p: True}) == 5.0
        with pytest.raises(errors.InvalidArgumentError, match="dead"):
            sess.run(after, {p: False})


def test_control_trigger_is_never_dead():
    p = tf.placeholder(tf.bool, [], name="p")
    _, t = cfo.switch(tf.constant(1.0), p)
    with tf.control_dependencies([tf.identity(t).op]):
        trigger = cfo.control_trigger()
    with tf.control_dependencies([trigger]):
        after = tf.constant(5.0)
    with tf.Session() as sess:
        assert sess.run(after, {p: False}) == 5.0


def test_a_graph_without_control_flow_keeps_the_linear_plan():
    x = tf.placeholder(tf.float32, [], name="x")
    y = x * 2.0
    sess = tf.Session()
    assert sess.run(y, {x: 2.0}) == 4.0
    (plan,) = sess._plans.values()
    assert plan.dataflow is None and plan.steps


def test_nested_loops_and_loop_invariants():
    n = tf.placeholder(tf.int32, [], name="n")
    scale = tf.constant(0.5, name="scale")

    def outer(j, acc):
        inner = tf.while_loop(lambda m, t: m < j, lambda m, t: (m + 1, t + scale), [0, 0.0])
        return j + 1, acc + inner[1]

    _, total = tf.while_loop(lambda j, acc: j < n, outer, [0, 0.0])
    with tf.Session() as sess:
        # sum over j < n of 0.5 * j
        assert sess.run(total, {n: 4}) == pytest.approx(3.0)
        assert sess.run(total, {n: 0}) == 0.0


def test_fetching_inside_a_loop_is_refused():
    i = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0)])
    body_value = tf.get_default_graph().get_tensor_by_name("while/Identity:0")
    with tf.Session() as sess:
        assert sess.run(i) == 3
        with pytest.raises(errors.InvalidArgumentError, match="inside a while loop"):
            sess.run(body_value)


def test_loop_on_the_untaken_branch_of_a_cond_is_dead_not_stuck():
    p = tf.placeholder(tf.bool, [], name="p")

    def looping():
        return tf.while_loop(lambda i: i < 5, lambda i: i + 1, [tf.constant(0)])

    out = tf.cond(p, looping, lambda: tf.constant(-1))
    with tf.Session() as sess:
        assert sess.run(out, {p: True}) == 5
        assert sess.run(out, {p: False}) == -1


def test_ref_variable_read_and_updated_inside_a_loop():
    v = tf.Variable(1.0, name="v")
    counter = tf.Variable(0, name="counter")

    def body(i, acc):
        with tf.control_dependencies([tf.assign_add(counter, 1)]):
            return i + 1, acc + v

    _, acc = tf.while_loop(lambda i, acc: i < 3, body, [0, 0.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(acc) == 3.0
        assert sess.run(counter) == 3


def test_resource_variable_handle_enters_the_loop():
    v = tf.Variable(2.0, name="rv", use_resource=True)
    _, acc = tf.while_loop(lambda i, acc: i < 3, lambda i, acc: (i + 1, acc * v.read_value()), [0, 1.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(acc) == 8.0


def test_kernel_errors_inside_a_loop_name_the_node():
    x = tf.placeholder(tf.float32, [None], name="x")
    out = tf.while_loop(lambda i: i < 2, lambda i: i + tf.cast(tf.reduce_sum(tf.reshape(x, [2])), tf.int32),
                        [tf.constant(0)])  # fmt: skip
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError) as info:
            sess.run(out, {x: np.ones(3, np.float32)})
        assert info.value.op is not None and info.value.op.name.startswith("while/")


def test_ref_switch_and_ref_merge_keep_the_reference():
    v = tf.Variable(4.0, name="v")
    p = tf.placeholder(tf.bool, [], name="p")
    f, t = cfo.switch(v._ref(), p)
    merged, index = cfo.merge([f, t])
    assert merged.op.type == "RefMerge" and f.op.type == "RefSwitch"
    doubled = merged * 2.0
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run([doubled, index], {p: True}) == [8.0, 1]


def test_assert_passes_or_fails_with_the_data():
    x = tf.placeholder(tf.float32, [2], name="x")
    check = tf.Assert(tf.reduce_all(x > 0.0), [x])
    with tf.Session() as sess:
        sess.run(check, {x: [1.0, 2.0]})
        with pytest.raises(errors.InvalidArgumentError, match=r"assertion failed: \[1(\.0)? -2(\.0)?\]"):
            sess.run(check, {x: [1.0, -2.0]})

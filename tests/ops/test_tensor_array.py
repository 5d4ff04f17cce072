"""TensorArray and Stack ops: TF's rules for writing, reading and growing, and ``tf.TensorArray``."""

from __future__ import annotations

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.framework.op_def_library import apply_op
from nanotf.ops.data_flow_ops import StackState
from nanotf.ops.data_flow_ops import TensorArrayState


def _ta(size=3, shape=None, dynamic=False, clear=True, identical=False):
    return TensorArrayState(np.float32, size, shape, dynamic, clear, identical, "ta")


def test_write_once_read_once():
    ta = _ta()
    ta.write(1, np.ones(2, np.float32))
    with pytest.raises(errors.InvalidArgumentError, match="already been written"):
        ta.write(1, np.ones(2, np.float32))
    np.testing.assert_array_equal(ta.read(1), [1, 1])
    with pytest.raises(errors.InvalidArgumentError, match="cleared after a previous read"):
        ta.read(1)


def test_unwritten_element_reads_as_zeros_only_with_a_full_shape():
    assert _ta(shape=[2]).read(0).tolist() == [0.0, 0.0]
    with pytest.raises(errors.InvalidArgumentError, match="not fully defined"):
        _ta(shape=[None]).read(0)


def test_bounds_dtype_and_shape_checks():
    ta = _ta(size=2, shape=[2])
    with pytest.raises(errors.InvalidArgumentError, match="not resizeable"):
        ta.write(2, np.ones(2, np.float32))
    with pytest.raises(errors.InvalidArgumentError, match="dtype"):
        ta.write(0, np.ones(2, np.int32))
    with pytest.raises(errors.InvalidArgumentError, match="incompatible"):
        ta.write(0, np.ones(3, np.float32))
    grown = _ta(size=0, dynamic=True)
    grown.write(4, np.float32(1))
    assert len(grown.elements) == 5


def test_gradient_array_adds_writes_and_is_one_per_source():
    ta = _ta(size=2)
    grad = ta.grad("gradients")
    assert ta.grad("gradients") is grad and ta.grad("other") is not grad
    grad.write(0, np.float32(1.5))
    grad.write(0, np.float32(2.0))
    assert grad.read(0) == 3.5


def test_stack_is_last_in_first_out_with_limits():
    stack = StackState(np.float32, 2, "s")
    stack.push(np.float32(1))
    stack.push(np.float32(2))
    with pytest.raises(errors.InvalidArgumentError, match="overflowed"):
        stack.push(np.float32(3))
    assert [stack.pop(), stack.pop()] == [2, 1]
    with pytest.raises(errors.InvalidArgumentError, match="is empty"):
        stack.pop()


def test_tensor_array_in_a_graph():
    with tf.Graph().as_default():
        values = tf.placeholder(tf.float32, [4, 2], name="values")
        ta = tf.TensorArray(tf.float32, size=4).unstack(values)
        first = ta.read(0)
        reversed_ta = tf.TensorArray(tf.float32, size=4, element_shape=[2])
        for i in range(4):
            reversed_ta = reversed_ta.write(3 - i, ta.read(i) * 2.0)
        stacked = reversed_ta.stack()
        assert stacked.shape.as_list() == [4, 2] and first.shape.as_list() == [2]
        data = np.arange(8, dtype=np.float32).reshape(4, 2)
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(stacked, {values: data}), data[::-1] * 2)
            with pytest.raises(errors.InvalidArgumentError, match="cleared"):
                sess.run([first, stacked], {values: data})


def test_tensor_array_checks_static_dtype_and_shape():
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=2, element_shape=[3])
        with pytest.raises(ValueError, match="Inconsistent shapes"):
            ta.write(0, tf.zeros([2]))
        with pytest.raises(errors.InvalidArgumentError, match="dtype"):
            ta.write(0, tf.zeros([3], tf.int32))


def test_split_concat_size_and_close_in_a_graph():
    with tf.Graph().as_default():
        value = tf.placeholder(tf.float32, [5, 2], name="value")
        ta = tf.TensorArray(tf.float32, size=2, infer_shape=False)
        flow = apply_op("TensorArraySplitV3", handle=ta.handle, value=value, lengths=np.array([2, 3], np.int64),
                        flow_in=ta.flow)  # fmt: skip
        split = ta.with_flow(flow)
        size = apply_op("TensorArraySizeV3", handle=split.handle, flow_in=split.flow)
        joined = split.concat()
        with tf.control_dependencies([joined]):
            closed = split.close()
        data = np.arange(10, dtype=np.float32).reshape(5, 2)
        with tf.Session() as sess:
            got_size, got, _ = sess.run([size, joined, closed], {value: data})
        assert got_size == 2
        np.testing.assert_array_equal(got, data)

"""Array ops reject bad values at run time with typed errors, and their API functions check arguments."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors


def _run(build, *feeds):
    """Builds ``build(*placeholders)`` over placeholders of unknown shape, runs it on ``feeds``."""
    g = tf.Graph()
    with g.as_default():
        holders = [tf.placeholder(tf.as_dtype(np.asarray(f).dtype), None) for f in feeds]
        out = build(*holders)
    with tf.Session(graph=g) as sess:
        return sess.run(out, dict(zip(holders, feeds)))


M = np.arange(6.0).reshape(2, 3)
BAD_VALUES = [
    ("gather_index_out_of_range", lambda x: tf.gather(x, [0, 2]), [M], "indices[1] = 2 is not in [0, 2)"),
    ("gather_scalar_params", lambda x: tf.gather(x, [0]), [np.float32(1)], "at least 1 dimensional"),
    ("gather_nd_out_of_range", lambda x: tf.gather_nd(x, [[1, 3]]), [M], "does not index into param shape"),
    ("scatter_nd_out_of_range", lambda u: tf.scatter_nd([[4]], u, [4]), [np.ones(1)], "does not index into output"),
    ("scatter_nd_bad_updates", lambda u: tf.scatter_nd([[1]], u, [4]), [np.ones(2)], "updates shape"),
    ("segment_id_too_large", lambda d: tf.unsorted_segment_sum(d, [0, 3], 3), [M], "segment_ids[1] = 3"),
    ("reshape_wrong_size", lambda x: tf.reshape(x, [4]), [M], "Input to reshape is a tensor with 6 values"),
    ("transpose_repeated_axis", lambda x: tf.transpose(x, [0, 0]), [M], "permutation"),
    ("invert_non_permutation", tf.invert_permutation, [np.array([0, 0], np.int32)], "permutation"),
    ("squeeze_non_unit", lambda x: tf.squeeze(x, [1]), [M], "Can not squeeze dim[1]"),
    ("concat_mismatch", lambda x: tf.concat([x, tf.transpose(x)], 0), [M], "ConcatOp"),
    ("stack_mismatch", lambda x: tf.stack([x, tf.transpose(x)]), [M], "Shapes of all inputs must match"),
    ("unstack_wrong_num", lambda x: tf.unstack(x, num=3), [M], "must equal 3"),
    ("split_uneven", lambda x: tf.split(x, 2, axis=1), [M], "evenly divide"),
    ("split_sizes_too_big", lambda x: tf.split(x, [2, 2], axis=1), [M], "do not add up"),
    ("slice_past_end", lambda x: tf.slice(x, [1, 1], [2, 1]), [M], "Expected size[0] in [0, 1], but got 2"),
    ("strided_slice_out_of_range", lambda x: x[5], [M], "StridedSlice"),
    ("pad_negative", lambda x: tf.pad(x, [[0, -1], [0, 0]]), [M], "Paddings must be non-negative"),
    ("mirror_pad_too_wide", lambda x: tf.pad(x, [[0, 2], [0, 0]], "REFLECT"), [M], "paddings must be no greater"),
    ("tile_wrong_length", lambda x: tf.tile(x, [2]), [M], "vector of length 2"),
    ("broadcast_incompatible", lambda x: tf.broadcast_to(x, [2, 4]), [M], "Incompatible shapes"),
    ("fill_non_scalar", lambda v: tf.fill([2], v), [np.ones(2)], "value must be a scalar"),
    ("one_hot_axis_too_large", lambda i: tf.one_hot(i, 3, axis=2), [np.array([0, 1], np.int32)], "Expected axis"),
    ("stitch_data_shape", lambda d: tf.dynamic_stitch([[0, 1]], [d]), [np.ones(3)], "does not start with"),
    ("select_shape_mismatch", lambda c: tf.where(c, [1.0, 2.0], [1.0, 2.0]), [np.array([True, False, True])],
     "Select"),
]  # fmt: skip


@pytest.mark.parametrize("build, feeds, message", [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
def test_bad_values_raise_invalid_argument(build, feeds, message):
    with pytest.raises(errors.InvalidArgumentError, match=re.escape(message)):
        _run(build, *feeds)


def test_python_int_indices_are_int32_not_the_first_allowed_type():
    # GatherV2/StridedSlice/... allow int16 first; Python ints must still become int32, as in TF.
    with tf.Graph().as_default():
        x = tf.zeros([40001])
        gathered = tf.gather(x, [40000])
        sliced = tf.strided_slice(x, [39999], [40001])
        assert gathered.op.get_attr("Tindices") == tf.int32
        assert sliced.op.get_attr("Index") == tf.int32
        assert [t.name for t in gathered.op.inputs[1:]] == ["GatherV2/indices:0", "GatherV2/axis:0"]
        with tf.Session() as sess:
            assert sess.run(gathered).shape == (1,)
            assert sess.run(sliced).shape == (2,)


@pytest.mark.parametrize("call, error", [
    (lambda: tf.split(tf.zeros([4]), tf.placeholder(tf.int32, [None])), ValueError),
    (lambda: tf.split(tf.zeros([4]), tf.constant(2)), ValueError),
    (lambda: tf.pad(tf.zeros([2]), [[1, 1]], mode="WRAP"), ValueError),
    (lambda: tf.boolean_mask(tf.zeros([2]), tf.constant(True)), ValueError),
    (lambda: tf.boolean_mask(tf.zeros([2]), tf.placeholder(tf.bool)), ValueError),
    (lambda: tf.where(tf.constant([True]), x=tf.zeros([1])), ValueError),
    (lambda: tf.one_hot([0], 2, on_value=1.0, off_value=0), TypeError),
    (lambda: tf.sequence_mask([1, 2], maxlen=[3, 4]), ValueError),
    (lambda: tf.unstack(tf.placeholder(tf.float32, [None, 2])), ValueError),
])  # fmt: skip
def test_api_argument_errors(call, error):
    with tf.Graph().as_default(), pytest.raises(error):
        call()


def test_gather_gradient_needs_a_constant_axis():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3, 2])
        y = tf.gather(x, [0], axis=tf.placeholder(tf.int32, []))
        with pytest.raises(errors.UnimplementedError, match="constant axis"):
            tf.gradients(y, x)

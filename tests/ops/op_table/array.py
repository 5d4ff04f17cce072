"""Op-table rows for array ops (see tests/ops/op_table/__init__.py).

``tf.placeholder_with_default(x, [None, ...])`` hides static sizes inside a
row, so the gradient rules' run-time-shape paths (``Shape``, ``ShapeN``,
``BroadcastGradientArgs``) are checked as well as the constant ones.
"""

import numpy as np

import nanotf as tf
from nanotf.framework.op_def_library import apply_op
from tests.ops.op_table import OpCase

RNG = np.random.default_rng(7)
A = RNG.standard_normal((2, 3))
B = RNG.standard_normal((2, 4))
C = RNG.standard_normal((3, 4, 2))
V = RNG.standard_normal((5,))
S = np.float64(1.5)


def _hide(x, shape):
    """``x`` with a less specific static shape (its value unchanged)."""
    return tf.placeholder_with_default(x, shape)


def _strided_slice_grad_ref(dy):
    out = np.zeros((4, 5))
    out[1:3, ::2] = dy
    return out


def _mirror_pad_grad_ref(dy):
    # REFLECT with paddings [[1, 1], [2, 0]] on a [2, 3] input, folded back by hand.
    x = np.zeros((2, 3))
    rows = [1, 0, 1, 0]  # padded row -> source row
    cols = [2, 1, 0, 1, 2]  # padded col -> source col
    for r in range(4):
        for c in range(5):
            x[rows[r], cols[c]] += dy[r, c]
    return x


def _stitch_ref(data0, data1):
    out = np.zeros((4, 2))
    out[[0, 3]] = data0
    out[[2, 1]] = data1
    return out


def _one_hot_ref(i):
    return (i[..., None] == np.arange(4)).astype(np.float32)


def _segment_sum_ref(data, ids):
    out = np.zeros((3, 2))
    for row, k in zip(data, ids):
        if k >= 0:
            out[k] += row
    return out


BASE = [
    OpCase("placeholder_with_default", ("PlaceholderWithDefault",), lambda x: _hide(x, [None, 3]), [A],
           lambda x: x, grad=True),
    OpCase("identity", ("Identity",), tf.identity, [A], lambda x: x, grad=True),
    OpCase("stop_gradient", ("StopGradient",), tf.stop_gradient, [A], lambda x: x),
    OpCase("fill_static_dims", ("Fill",), lambda v: tf.fill([2, 3], v), [S], lambda v: np.full((2, 3), v), grad=True),
    OpCase("fill_fed_dims", ("Fill",), lambda v, d: tf.fill(d, v), [S, np.array([3, 1], np.int32)],
           lambda v, d: np.full(d, v), grad=True),
    OpCase("fill_unknown_rank", ("Fill", "Range"), lambda v, d: tf.fill(_hide(d, None), v),
           [S, np.array([2, 2], np.int32)], lambda v, d: np.full(d, v), grad=True),
    OpCase("zeros_like_ones_like", ("ZerosLike", "OnesLike"), lambda x: tf.stack([tf.zeros_like(x), tf.ones_like(x)]),
           [A], lambda x: np.stack([np.zeros_like(x), np.ones_like(x)])),
    OpCase("shape_size_rank", ("Shape", "Size", "Rank"),
           lambda x: tf.concat([tf.shape(_hide(x, None)), [tf.size(_hide(x, [None, 4, 2])), tf.rank(_hide(x, None))]], 0),
           [C], lambda x: np.array([3, 4, 2, 24, 3], np.int32)),
    OpCase("shape_int64", ("Shape",), lambda x: tf.shape(x, out_type=tf.int64), [C], lambda x: np.array([3, 4, 2])),
    OpCase("shape_n", ("ShapeN",), lambda x, y: tf.shape_n([_hide(x, [None, 3]), y]), [A, B],
           lambda x, y: [np.array([2, 3], np.int32), np.array([2, 4], np.int32)]),
]  # fmt: skip

MANIP = [
    OpCase("reshape", ("Reshape",), lambda x: tf.reshape(x, [3, -1]), [A], lambda x: x.reshape(3, 2), grad=True),
    OpCase("reshape_one_unknown_dim", ("Reshape",), lambda x: tf.reshape(_hide(x, [None, 4, 2]), [-1]), [C],
           lambda x: x.reshape(-1), grad=True),
    OpCase("reshape_unknown_dims", ("Reshape", "Shape"), lambda x: tf.reshape(_hide(x, [None, None, 2]), [4, -1]), [C],
           lambda x: x.reshape(4, -1), grad=True),
    OpCase("expand_dims", ("ExpandDims",), lambda x: tf.expand_dims(x, -1), [A], lambda x: x[..., None], grad=True),
    OpCase("squeeze_all", ("Squeeze",), lambda x: tf.squeeze(tf.reshape(x, [1, 2, 1, 3])), [A], lambda x: x, grad=True),
    OpCase("squeeze_axis", ("Squeeze",), lambda x: tf.squeeze(tf.reshape(x, [1, 2, 1, 3]), [2]), [A],
           lambda x: x.reshape(1, 2, 3), grad=True),
    OpCase("transpose", ("Transpose", "InvertPermutation"), lambda x: tf.transpose(x, [1, 2, 0]), [C],
           lambda x: x.transpose(1, 2, 0), grad=True),
    OpCase("transpose_fed_perm", ("Transpose", "InvertPermutation"), lambda x, p: tf.transpose(x, p),
           [C, np.array([2, 0, 1], np.int32)], lambda x, p: x.transpose(p), grad=True),
    OpCase("invert_permutation", ("InvertPermutation",), tf.invert_permutation, [np.array([2, 0, 3, 1], np.int32)],
           lambda p: np.argsort(p).astype(np.int32)),
    OpCase("concat", ("ConcatV2", "ConcatOffset", "Slice"), lambda x, y: tf.concat([x, y], 1), [A, B],
           lambda x, y: np.concatenate([x, y], 1), grad=True),
    OpCase("concat_negative_axis_three", ("ConcatV2",), lambda x, y: tf.concat([x, y, x], -1), [A, B],
           lambda x, y: np.concatenate([x, y, x], -1), grad=True),
    OpCase("concat_unknown_shapes", ("ConcatV2", "ShapeN", "ConcatOffset"),
           lambda x, y: tf.concat([_hide(x, [None, None]), _hide(y, [None, 4])], 1), [A, B],
           lambda x, y: np.concatenate([x, y], 1), grad=True),
    OpCase("concat_fed_axis", ("ConcatV2", "FloorMod"), lambda x, y, a: tf.concat([x, y], a), [A, B, np.int32(-1)],
           lambda x, y, a: np.concatenate([x, y], a), grad=True),
    OpCase("concat_offset", ("ConcatOffset",),
           lambda a, b, c: apply_op("ConcatOffset", concat_dim=np.int32(1), shape=[a, b, c]),
           [np.array([2, 3, 5], np.int32), np.array([2, 7, 5], np.int32), np.array([2, 1, 5], np.int32)],
           lambda a, b, c: [np.zeros(3, np.int32), np.array([0, 3, 0], np.int32), np.array([0, 10, 0], np.int32)]),
    OpCase("stack", ("Pack", "Unpack"), lambda x, y: tf.stack([x, y], 1), [A, A[::-1].copy()],
           lambda x, y: np.stack([x, y], 1), grad=True),
    OpCase("unstack_one_output_used", ("Unpack", "Pack"), lambda x: tf.unstack(x, axis=1)[2], [C], lambda x: x[:, 2],
           grad=True),
    OpCase("unstack_all", ("Unpack",), lambda x: tf.unstack(x, axis=-1), [C], lambda x: [x[..., 0], x[..., 1]]),
    OpCase("split", ("Split",), lambda x: tf.split(x, 2, axis=1), [C], lambda x: np.split(x, 2, axis=1)),
    OpCase("split_grad_middle_output", ("Split", "ConcatV2"), lambda x: tf.split(x, 3, axis=0)[1] * 2.0, [C],
           lambda x: x[1:2] * 2.0, grad=True),
    OpCase("split_one_way", ("Split",), lambda x: tf.split(x, 1, axis=1)[0], [A], lambda x: x, grad=True),
    OpCase("split_v", ("SplitV",), lambda x: tf.split(x, [1, -1, 1], axis=1), [B],
           lambda x: [x[:, :1], x[:, 1:3], x[:, 3:]]),
    OpCase("split_v_grad", ("SplitV", "ConcatV2"), lambda x: tf.split(x, [2, 2], axis=1)[1], [C],
           lambda x: x[:, 2:], grad=True),
    OpCase("reverse", ("ReverseV2",), lambda x: tf.reverse(x, [0, -1]), [C], lambda x: x[::-1, :, ::-1], grad=True),
]  # fmt: skip

SLICING = [
    OpCase("slice", ("Slice", "Pad"), lambda x: tf.slice(x, [1, 1, 0], [2, -1, 1]), [C], lambda x: x[1:3, 1:, 0:1],
           grad=True),
    OpCase("slice_unknown_shape", ("Slice", "Pad"), lambda x: tf.slice(_hide(x, [None, None, 2]), [1, 0, 1], [1, 3, 1]),
           [C], lambda x: x[1:2, 0:3, 1:2], grad=True),
    OpCase("slice_fed_begin", ("Slice", "Pad"), lambda x, b: tf.slice(x, b, [1, 2]), [A, np.array([1, 1], np.int32)],
           lambda x, b: x[1:2, 1:3], grad=True),
    OpCase("strided_slice", ("StridedSlice", "StridedSliceGrad"), lambda x: x[1:, ::2], [C], lambda x: x[1:, ::2],
           grad=True),
    OpCase("strided_slice_masks", ("StridedSlice", "StridedSliceGrad"), lambda x: x[..., None, 1], [C],
           lambda x: x[..., None, 1], grad=True),
    OpCase("strided_slice_shrink_reverse", ("StridedSlice", "StridedSliceGrad"), lambda x: x[-1, ::-2], [C],
           lambda x: x[-1, ::-2], grad=True),
    OpCase("strided_slice_explicit", ("StridedSlice",),
           lambda x: tf.strided_slice(x, [0, 1], [0, 4], [1, 2], begin_mask=1, end_mask=1), [B], lambda x: x[:, 1:4:2],
           grad=True),
    OpCase("strided_slice_grad", ("StridedSliceGrad", "StridedSlice"),
           lambda dy: apply_op("StridedSliceGrad", shape=np.array([4, 5], np.int32), begin=np.array([1, 0], np.int32),
                               end=np.array([3, 5], np.int32), strides=np.array([1, 2], np.int32), dy=dy),
           [RNG.standard_normal((2, 3))], _strided_slice_grad_ref, grad=True),
    OpCase("pad", ("Pad", "Slice"), lambda x: tf.pad(x, [[1, 0], [0, 2]]), [A], lambda x: np.pad(x, [[1, 0], [0, 2]]),
           grad=True),
    OpCase("pad_fed_paddings", ("Pad", "Slice"), lambda x, p: tf.pad(_hide(x, None), p),
           [A, np.array([[0, 1], [2, 1]], np.int32)], lambda x, p: np.pad(x, p), grad=True),
    OpCase("pad_v2", ("PadV2", "Slice"), lambda x: tf.pad(x, [[1, 1], [0, 1]], constant_values=-2.0), [A],
           lambda x: np.pad(x, [[1, 1], [0, 1]], constant_values=-2.0), grad=True),
    OpCase("mirror_pad_reflect", ("MirrorPad", "MirrorPadGrad"), lambda x: tf.pad(x, [[1, 1], [2, 0]], "REFLECT"),
           [A], lambda x: np.pad(x, [[1, 1], [2, 0]], mode="reflect"), grad=True),
    OpCase("mirror_pad_symmetric", ("MirrorPad", "MirrorPadGrad"), lambda x: tf.pad(x, [[2, 1], [0, 3]], "symmetric"),
           [A], lambda x: np.pad(x, [[2, 1], [0, 3]], mode="symmetric"), grad=True),
    OpCase("mirror_pad_grad", ("MirrorPadGrad", "MirrorPad"),
           lambda dy: apply_op("MirrorPadGrad", input=dy, paddings=np.array([[1, 1], [2, 0]], np.int32), mode="REFLECT"),
           [RNG.standard_normal((4, 5))], _mirror_pad_grad_ref, grad=True),
    OpCase("tile", ("Tile",), lambda x: tf.tile(x, [2, 1, 3]), [C], lambda x: np.tile(x, [2, 1, 3]), grad=True),
    OpCase("tile_unknown_shape", ("Tile",), lambda x: tf.tile(_hide(x, [None, 3]), [3, 2]), [A],
           lambda x: np.tile(x, [3, 2]), grad=True),
    OpCase("tile_unknown_rank", ("Tile", "Size", "Range"), lambda x, m: tf.tile(_hide(x, None), _hide(m, None)),
           [A, np.array([1, 2], np.int32)], lambda x, m: np.tile(x, m), grad=True),
    OpCase("broadcast_to", ("BroadcastTo",), lambda x: tf.broadcast_to(x, [2, 3, 2, 3]), [A],
           lambda x: np.broadcast_to(x, (2, 3, 2, 3)), grad=True),
    OpCase("broadcast_to_fed_shape", ("BroadcastTo", "BroadcastGradientArgs"),
           lambda x, s: tf.broadcast_to(tf.reshape(x, [3, 1]), s), [V[:3].copy(), np.array([2, 3, 4], np.int32)],
           lambda x, s: np.broadcast_to(x.reshape(3, 1), s), grad=True),
]  # fmt: skip

INDEXING = [
    OpCase("gather_repeats", ("GatherV2", "UnsortedSegmentSum"), lambda x: tf.gather(x, [2, 0, 2, 2]), [C],
           lambda x: x[[2, 0, 2, 2]], grad=True),
    OpCase("gather_axis1_matrix_indices", ("GatherV2", "UnsortedSegmentSum", "Transpose"),
           lambda x: tf.gather(x, [[3, 1], [1, 1]], axis=1), [C], lambda x: x[:, [[3, 1], [1, 1]]], grad=True),
    OpCase("gather_unknown_params", ("GatherV2",), lambda x, i: tf.gather(_hide(x, [None, None, 2]), i),
           [C, np.array([1, 1, 0], np.int64)], lambda x, i: x[i], grad=True),
    OpCase("gather_unknown_rank_params", ("GatherV2",), lambda x: tf.gather(_hide(x, None), [2, 1, 2]), [C],
           lambda x: x[[2, 1, 2]], grad=True),
    OpCase("gather_axis1_unknown_dims", ("GatherV2", "Transpose"), lambda x: tf.gather(_hide(x, [None, None, 2]), [1, 3], axis=1),
           [C], lambda x: x[:, [1, 3]], grad=True),
    OpCase("gather_negative_axis", ("GatherV2",), lambda x: tf.gather(x, [1, 0], axis=-1), [C], lambda x: x[..., [1, 0]],
           grad=True),
    OpCase("gather_batch_dims", ("GatherV2",), lambda x, i: tf.gather(x, i, axis=1, batch_dims=1),
           [C, np.array([[0, 3], [1, 1], [2, 0]], np.int32)], lambda x, i: np.stack([x[b, i[b]] for b in range(3)])),
    OpCase("gather_nd", ("GatherNd", "ScatterNd"), lambda x: tf.gather_nd(x, [[0, 1], [2, 3], [0, 1]]), [C],
           lambda x: x[[0, 2, 0], [1, 3, 1]], grad=True),
    OpCase("gather_nd_full_index", ("GatherNd",), lambda x, i: tf.gather_nd(x, i),
           [C, np.array([[[1, 2, 0]], [[2, 0, 1]]], np.int32)], lambda x, i: x[tuple(np.moveaxis(i, -1, 0))], grad=True),
    OpCase("scatter_nd", ("ScatterNd", "GatherNd"), lambda u: tf.scatter_nd([[1], [3], [1]], u, [4, 3]), [A[[0, 1, 0]]],
           lambda u: np.array([np.zeros(3), u[0] + u[2], np.zeros(3), u[1]]), grad=True),
    OpCase("unsorted_segment_sum", ("UnsortedSegmentSum", "GatherV2", "SelectV2"),
           lambda d, i: tf.unsorted_segment_sum(d, i, 3), [RNG.standard_normal((5, 2)), np.array([2, -1, 0, 2, 1], np.int32)],
           _segment_sum_ref, grad=True),
    OpCase("unsorted_segment_sum_matrix_ids", ("UnsortedSegmentSum",),
           lambda d, i: tf.unsorted_segment_sum(d, i, 4), [C, np.array([[0, 3, -1, 3], [1, 1, 0, 2], [3, 3, 3, 3]], np.int32)],
           lambda d, i: np.stack([d[i == k].sum(0) for k in range(4)]), grad=True),
    OpCase("unsorted_segment_sum_unknown_rank_ids", ("UnsortedSegmentSum", "Fill"),
           lambda d, i: tf.unsorted_segment_sum(d, _hide(i, None), 3), [RNG.standard_normal((5, 2)), np.array([2, -1, 0, 2, 1], np.int32)],
           _segment_sum_ref, grad=True),
    OpCase("dynamic_stitch", ("DynamicStitch", "GatherV2"),
           lambda a, b: tf.dynamic_stitch([[0, 3], [2, 1]], [a, b]), [A[:, :2].copy(), B[:, 2:].copy()], _stitch_ref,
           grad=True),
    OpCase("dynamic_stitch_later_wins", ("DynamicStitch",), lambda a, b: tf.dynamic_stitch([[0, 1], [1]], [a, b]),
           [V[:2].copy(), V[2:3].copy()], lambda a, b: np.array([a[0], b[0]])),
    OpCase("one_hot", ("OneHot",), lambda i: tf.one_hot(i, 4), [np.array([[0, 3], [5, -1]], np.int32)], _one_hot_ref),
    OpCase("one_hot_axis0_values", ("OneHot",), lambda i: tf.one_hot(i, 3, on_value=7, off_value=-1, axis=0),
           [np.array([2, 0], np.int64)], lambda i: np.array([[-1, 7], [-1, -1], [7, -1]], np.int32)),
    OpCase("where_coordinates", ("Where",), lambda c: tf.where(c), [np.array([[True, False], [True, True]])],
           lambda c: np.argwhere(c)),
    OpCase("where_numeric", ("Where",), lambda x: tf.where(_hide(x, None)), [np.array([0.0, 2.0, 0.0, -1.0])],
           lambda x: np.array([[1], [3]])),
    OpCase("select", ("Select",), lambda c, x, y: tf.where(c, x, y), [A > 0, A, B[:, :3].copy()],
           lambda c, x, y: np.where(c, x, y), grad=True, grad_inputs=(1, 2)),
    OpCase("select_row_condition", ("Select",), lambda c, x, y: tf.where(c, x, y), [np.array([True, False]), A, -A],
           lambda c, x, y: np.where(c[:, None], x, y), grad=True, grad_inputs=(1, 2)),
    OpCase("select_v2_broadcast", ("SelectV2",), lambda c, x, y: tf.where_v2(c, x, y), [A[:1] > 0, A, S],
           lambda c, x, y: np.where(c, x, y), grad=True, grad_inputs=(1, 2)),
    OpCase("select_v2_unknown_shapes", ("SelectV2", "BroadcastGradientArgs"),
           lambda c, x, y: tf.where_v2(c, _hide(x, None), _hide(y, [None, 1])), [A > 0, V[:3].copy(), A[:, :1].copy()],
           lambda c, x, y: np.where(c, x, y), grad=True, grad_inputs=(1, 2)),
    OpCase("boolean_mask", ("Where", "GatherV2", "Prod"), lambda x, m: tf.boolean_mask(x, m),
           [C, np.array([[True, False, True, True], [False] * 4, [False, True, False, False]])],
           lambda x, m: x[m], grad=True),
    OpCase("boolean_mask_axis1", ("Where", "GatherV2"), lambda x, m: tf.boolean_mask(x, m, axis=1),
           [C, np.array([True, False, False, True])], lambda x, m: x[:, m], grad=True),
    OpCase("sequence_mask", ("Range", "Less"), lambda n: tf.sequence_mask(n), [np.array([1, 3, 0], np.int32)],
           lambda n: np.arange(3) < n[:, None]),
    OpCase("sequence_mask_maxlen_float", ("Range", "Cast"), lambda n: tf.sequence_mask(n, 4, dtype=tf.float32),
           [np.array([[2], [4]], np.int64)], lambda n: (np.arange(4) < n[..., None]).astype(np.float32)),
]  # fmt: skip

CASES = BASE + MANIP + SLICING + INDEXING

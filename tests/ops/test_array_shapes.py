"""Array ops agree with TensorFlow on static shapes and on the op types their gradients build.

``SHAPES`` pins the static shape TensorFlow 2.21 infers for each expression
over placeholders of partially known shape (``None``: unknown rank;
``"ValueError"``: rejected while building). nanotf is checked against the
pinned values always; the live tier re-derives them from TensorFlow.
``GRADIENTS`` lists expressions whose gradient graphs must use only op
types (constants aside) that TensorFlow's own gradient uses for them, and
``API_GRAPH`` is a program whose GraphDef must equal TensorFlow's node for node.
"""

from __future__ import annotations

import base64
import inspect

import pytest

import nanotf
from nanotf.protos import graph_pb2

# `P(shape, dtype="float32")` is a placeholder; the expressions are valid in both TF and nanotf.
SHAPES = [
    ("tf.reshape(P([2,3]), [3,-1])", [3, 2]),
    ("tf.reshape(P([None,6]), [-1,3])", [None, 3]),
    ("tf.reshape(P([None,2,3]), [-1,6])", [None, 6]),
    ("tf.reshape(P([None,2,3]), [3,-1])", [3, None]),
    ("tf.reshape(P(None), [2,-1])", [2, None]),
    ("tf.reshape(P([None,6]), tf.stack([tf.shape(P([None]))[0], 2, 3]))", [None, 2, 3]),
    ("tf.reshape(P([2,3]), [4])", "ValueError"),
    ("tf.reshape(P([2,3]), [4,-1])", "ValueError"),
    ("tf.expand_dims(P([None,3]), -1)", [None, 3, 1]),
    ("tf.expand_dims(P([2,3]), 4)", "ValueError"),
    ("tf.squeeze(P([None,1,3]))", None),
    ("tf.squeeze(P([None,1,3]), [1])", [None, 3]),
    ("tf.squeeze(P([2,1,3,1]))", [2, 3]),
    ("tf.squeeze(P([2,3]), [1])", "ValueError"),
    ("tf.concat([P([None,3]), P([2,None])], 0)", [None, 3]),
    ("tf.concat([P([None,3]), P([2,None])], 1)", [2, None]),
    ("tf.concat([P([None,3]), P([2,None])], -2)", [None, 3]),
    ("tf.concat([P(None), P([2,3])], 1)", [2, None]),
    ("tf.concat([P([None,3]), P([2,3])], P([], 'int32'))", [None, None]),
    ("tf.concat([P([2,3]), P([2])], 0)", "ValueError"),
    ("tf.concat([P([2,3]), P([3,3])], 1)", "ValueError"),
    ("tf.stack([P([None,3]), P([2,None])], 1)", [2, 2, 3]),
    ("tf.stack([P(None), P([2,None])], -1)", [2, None, 2]),
    ("tf.stack([P([2,3]), P([3,3])])", "ValueError"),
    ("tf.unstack(P([None,2,3]), axis=1)[0]", [None, 3]),
    ("tf.transpose(P([None,2,3]), [2,0,1])", [3, None, 2]),
    ("tf.transpose(P([None,2,3]), P([3], 'int32'))", [None, None, None]),
    ("tf.transpose(P([None,2,3]))", [3, 2, None]),
    ("tf.transpose(P([2,3]), [0,0])", [2, 2]),
    ("tf.invert_permutation(P([None],'int32'))", [None]),
    ("tf.invert_permutation(P([4],'int32'))", [4]),
    ("tf.split(P([None,6]), 3, axis=1)[1]", [None, 2]),
    ("tf.split(P([None,6]), 2, axis=0)[1]", [None, 6]),
    ("tf.split(P([4,6]), 2, axis=P([],'int32'))[1]", [None, None]),
    ("tf.split(P([None,6]), [1,-1,2], axis=1)[1]", [None, 3]),
    ("tf.split(P([None,None]), [1,-1,2], axis=1)[1]", [None, None]),
    ("tf.split(P([None,6]), P([3],'int32'), num=3, axis=1)[1]", [None, None]),
    ("tf.split(P([2,5]), 2, axis=1)[0]", "ValueError"),
    ("tf.split(P([2,5]), [1,2], axis=1)[0]", "ValueError"),
    ("tf.reverse(P([None,3]), [1])", [None, 3]),
    ("tf.reverse(P(None), [0])", None),
    ("tf.slice(P([None,5]), [1,1], [2,-1])", [2, 4]),
    ("tf.slice(P([4,5]), P([2],'int32'), [2,-1])", [2, None]),
    ("tf.slice(P([4,5]), [1,1], P([2],'int32'))", [None, None]),
    ("tf.slice(P([4,5]), [3,0], [2,-1])", [2, 5]),
    ("P([None,5,4])[1:, ::2, 0]", [None, 3]),
    ("P([None,5])[:, None, 1:3]", [None, 1, 2]),
    ("P([None,5,4])[..., 1]", [None, 5]),
    ("P([None,5])[P([],'int32'):, 2:]", [None, None]),
    ("P(None)[1:, 0]", None),
    ("P([None])[:2]", [None]),
    ("P([None])[5]", []),
    ("P([None,3])[-9, 1:]", [2]),
    ("P([2,None,3])[..., None, 1]", [2, None, 1]),
    ("P([2,None,3])[1, ..., 1:]", [None, 2]),
    ("P([3,4])[5]", "ValueError"),
    ("tf.pad(P([None,3]), [[1,2],[0,1]])", [None, 4]),
    ("tf.pad(P([None,3]), P([2,2],'int32'))", [None, None]),
    ("tf.pad(P(None), P([2,2],'int32'))", [None, None]),
    ("tf.pad(P([4,3]), [[1,2],[0,1]], constant_values=2.0)", [7, 4]),
    ("tf.pad(P([None,3]), [[1,2],[0,1]], 'REFLECT')", [None, 4]),
    ("tf.pad(P(None), [[1,1],[0,2]], 'SYMMETRIC')", [None, None]),
    ("tf.pad(P([4,5]), [[1,1]])", "ValueError"),
    ("tf.tile(P([None,3]), [2,2])", [None, 6]),
    ("tf.tile(P([None,3]), P([2],'int32'))", [None, None]),
    ("tf.tile(P([2,3]), tf.stack([P([],'int32'), 2]))", [None, 6]),
    ("tf.tile(P([4,5]), [2])", "ValueError"),
    ("tf.broadcast_to(P([3,1]), [2,3,4])", [2, 3, 4]),
    ("tf.broadcast_to(P([3,1]), tf.stack([P([],'int32'), 3, 4]))", [None, 3, 4]),
    ("tf.broadcast_to(P([3]), P([2],'int32'))", [None, 3]),
    ("tf.fill(tf.stack([P([],'int32'), 3]), 1.0)", [None, 3]),
    ("tf.shape_n([P([None,3]), P(None)])[1]", [None]),
    ("tf.shape_n([P([None,3]), P([2,2,2])])[1]", [3]),
    ("tf.gather(P([None,3,4]), P([None,2],'int32'), axis=1)", [None, None, 2, 4]),
    ("tf.gather(P([5,None]), P([7],'int32'))", [7, None]),
    ("tf.gather(P([5,3]), P(None,'int32'))", None),
    ("tf.gather(P([5,3]), P([2],'int32'), axis=P([],'int32'))", [None, None]),
    ("tf.gather(P([2,5,3]), P([2,4],'int32'), axis=1, batch_dims=1)", [2, 4, 3]),
    ("tf.gather(P([4,5]), P([2],'int32'), axis=2)", "ValueError"),
    ("tf.gather_nd(P([None,3,4]), P([5,2],'int32'))", [5, 4]),
    ("tf.gather_nd(P([None,3,4]), P([5,None],'int32'))", None),
    ("tf.gather_nd(P([4,5]), P([2,3],'int32'))", "ValueError"),
    ("tf.scatter_nd(P([5,1],'int32'), P([5,3]), [7,3])", [7, 3]),
    ("tf.scatter_nd(P([5,1],'int32'), P([5,3]), tf.stack([P([],'int32'), 3]))", [None, 3]),
    ("tf.unsorted_segment_sum(P([None,3,2]), P([None,3],'int32'), 4)", [4, 2]),
    ("tf.unsorted_segment_sum(P([5,2]), P([5],'int32'), P([],'int32'))", [None, 2]),
    ("tf.unsorted_segment_sum(P([5,2]), P(None,'int32'), 3)", None),
    ("tf.dynamic_stitch([P([None],'int32'), P([2],'int32')], [P([None,3]), P([2,3])])", [None, 3]),
    ("tf.dynamic_stitch([[0,2],[1]], [P([2,3]), P([1,3])])", [3, 3]),
    ("tf.dynamic_stitch([[0,1], P([None],'int32')], [P([2,3]), P([None,3])])", [None, 3]),
    ("tf.dynamic_stitch([P([None],'int32')], [P(None)])", None),
    ("tf.one_hot(P([None,2],'int32'), 4, axis=1)", [None, 4, 2]),
    ("tf.one_hot(P([None],'int32'), P([],'int32'))", [None, None]),
    ("tf.one_hot(P([3],'int32'), 4, axis=3)", [3, 4]),
    ("tf.where(P([None,3],'bool'))", [None, 2]),
    ("tf.where(P(None,'bool'))", [None, None]),
    ("tf.where(P([None,3],'bool'), P([2,None]), P([None,None]))", [2, 3]),
    ("tf.where(P([None],'bool'), P([2,3]), P([None,3]))", [2, 3]),
    ("tf.where_v2(P([None,1],'bool'), P([3]), P([]))", [None, 3]),
    ("tf.where_v2(P([], 'bool'), P([2,1]), P([3]))", [2, 3]),
    ("tf.sequence_mask(P([None],'int32'), 5)", [None, 5]),
    ("tf.sequence_mask(P([4],'int32'))", [4, None]),
    ("tf.boolean_mask(P([None,3,2]), P([None,3],'bool'))", [None, 2]),
    ("tf.boolean_mask(P([4,3,2]), P([3],'bool'), axis=1)", [4, None, 2]),
]

# Expressions in float64 placeholders x, y; their gradients' op types must be a subset of TF's.
GRADIENTS = [
    ("tf.reshape(x, [-1])", [[None, 3]]),
    ("tf.squeeze(tf.expand_dims(x, 1))", [[2, 3]]),
    ("tf.transpose(x, [1, 0])", [[2, 3]]),
    ("tf.concat([x, y], 1)", [[2, 3], [2, 2]]),
    ("tf.concat([x, y], 1)", [[None, 3], [None, 2]]),
    ("tf.stack([x, tf.unstack(y)[0]], 1)", [[2], [2, 2]]),
    ("tf.split(x, 3, axis=1)[1] + tf.split(y, [1, -1], axis=1)[0]", [[2, 3], [2, 2]]),
    ("tf.reverse(x, [1])", [[2, 3]]),
    ("tf.slice(x, [1, 0], [1, 2])", [[2, 3]]),
    ("tf.slice(x, [1, 0], [1, 2])", [[None, 3]]),
    ("x[1:, ::2]", [[2, 3]]),
    ("tf.pad(x, [[1, 0], [0, 2]]) + tf.pad(y, [[1, 0], [0, 3]], constant_values=1.0)", [[2, 3], [2, 2]]),
    ("tf.pad(x, [[1, 0], [0, 2]], 'REFLECT')", [[2, 3]]),
    ("tf.tile(x, [2, 3])", [[3, 2]]),
    ("tf.tile(x, [2, 3])", [[None, 2]]),
    ("tf.broadcast_to(x, [4, 3, 2])", [[3, 1]]),
    ("tf.fill([2, 3], x)", [[]]),
    ("tf.where(tf.constant([True, False]), x, y)", [[2], [2]]),
    ("tf.where_v2(tf.constant([True, False]), x, y)", [[2, 2], [2]]),
    ("tf.gather(x, [1, 0, 1], axis=1)", [[3, 2]]),
    ("tf.gather_nd(x, [[0, 1], [1, 0]])", [[2, 3]]),
    ("tf.scatter_nd([[0], [2]], x, [4, 3])", [[2, 3]]),
    ("tf.unsorted_segment_sum(x, [0, 2, 0], 3)", [[3, 2]]),
    ("tf.dynamic_stitch([[0, 2], [1]], [x, y])", [[2, 3], [1, 3]]),
    ("tf.placeholder_with_default(x, [None])", [[2]]),
]


def _snippet(fn) -> str:
    """The source of helper ``fn``, to run the same code under TensorFlow."""
    return inspect.getsource(fn)


def _static_shape(tf, expr: str):
    graph = tf.Graph()
    with graph.as_default():
        def P(shape, dtype="float32"):  # noqa: N802 - the expressions' placeholder helper
            return tf.placeholder(dtype, shape)

        try:
            t = eval(expr, {"tf": tf, "P": P})  # noqa: S307 - fixed expressions from this file
        except ValueError:
            return "ValueError"
        return None if t.shape.ndims is None else t.shape.as_list()


@pytest.mark.parametrize("expr, expected", SHAPES, ids=[e for e, _ in SHAPES])
def test_static_shape_is_tensorflows(expr, expected):
    assert _static_shape(nanotf, expr) == expected


def test_pinned_shapes_are_what_tensorflow_infers(tf_runner):
    exprs = [e for e, _ in SHAPES]
    code = f"import json\n{_snippet(_static_shape)}\nprint(json.dumps([_static_shape(tf, e) for e in {exprs!r}]))\n"
    theirs = tf_runner.run_json(code)
    mismatches = [(e, want, got) for (e, want), got in zip(SHAPES, theirs) if want != got]
    assert not mismatches, mismatches


def _gradient_op_types(tf, expr: str, shapes) -> list:
    graph = tf.Graph()
    with graph.as_default():
        xs = [tf.placeholder(tf.float64, s, name=n) for n, s in zip("xy", shapes)]
        y = eval(expr, {"tf": tf, **dict(zip("xy", xs))})  # noqa: S307 - fixed expressions from this file
        before = len(graph.get_operations())
        grads = tf.gradients(y, xs, name="gradients")
        # A sparse (IndexedSlices) gradient becomes dense the way a dense consumer makes it.
        for g in grads:
            if g is not None:
                tf.convert_to_tensor(g)
        ops = graph.get_operations()[before:]
        # Constants are left out: which values are folded at build time is not a difference in kind.
        return sorted({op.type for op in ops if op.type != "Const" and "grad_ys" not in op.name
                       and op.name != "gradients/Shape"})  # fmt: skip


def test_gradients_use_tensorflows_op_types(tf_runner):
    code = ("import json\n" + _snippet(_gradient_op_types)
            + f"\nprint(json.dumps([_gradient_op_types(tf, e, s) for e, s in {GRADIENTS!r}]))\n")  # fmt: skip
    theirs = tf_runner.run_json(code)
    extra = {}
    for (expr, shapes), tf_types in zip(GRADIENTS, theirs):
        ours = set(_gradient_op_types(nanotf, expr, shapes))
        if ours - set(tf_types):
            extra[f"{expr} {shapes}"] = sorted(ours - set(tf_types))
    assert not extra, f"gradient op types TensorFlow does not use: {extra}"


# Every array API function once; the GraphDefs (names, inputs, attrs, _output_shapes) must match TF's.
API_GRAPH = """
x = tf.placeholder(tf.float32, [None, 6], name="x")
i = tf.placeholder(tf.int32, [None], name="i")
m = tf.placeholder(tf.bool, [None], name="m")
u = tf.placeholder(tf.float32, None, name="u")
a = tf.split(x, 3, axis=1)
b = tf.split(x, [1, -1, 2], axis=1)
c = tf.pad(x, [[1, 0], [0, 2]])
d = tf.pad(x, [[1, 0], [0, 2]], constant_values=2.0)
e = tf.pad(x, [[1, 0], [0, 2]], mode="SYMMETRIC")
f = tf.one_hot(i, 4)
f2 = tf.one_hot(i, 3, on_value=5, off_value=-1, axis=0)
g = tf.boolean_mask(x, m)
h = tf.sequence_mask(i)
h2 = tf.sequence_mask(i, 5, dtype=tf.float32)
k = tf.where(m)
l = tf.reverse(x, [1])
n = tf.gather_nd(x, [[0, 1]])
o = tf.scatter_nd([[0], [1]], i[:2], [4])
p = tf.shape_n([x, x])
q = tf.unsorted_segment_sum(x, i, 4)
r = tf.dynamic_stitch([i, i], [x, x])
s = tf.invert_permutation(i)
t = tf.gather(x, i)
v = tf.gather(x, [1, 2], axis=1)
w = tf.where(m, i, i)
w2 = tf.where_v2(m, i, 0)
y = tf.transpose(u)
z = tf.transpose(tf.placeholder(tf.float32, [2, 3]))
ss = tf.strided_slice(z, [0, 1], [2, 3], [1, 1])
cc = tf.concat([z, z], 1)
st = tf.stack([z, z])
us = tf.unstack(z)
ed = tf.squeeze(tf.expand_dims(z, 0))
ti = tf.tile(z, [1, 2])
bt = tf.broadcast_to(z, [4, 3, 2])
sl = tf.slice(z, [0, 0], [1, -1])
"""


def _graph_def_of(tf, code: str) -> bytes:
    graph = tf.Graph()
    with graph.as_default():
        exec(code, {"tf": tf})  # noqa: S102 - the fixed program above
    return graph.as_graph_def(add_shapes=True).SerializeToString()


def test_api_graph_is_tensorflows(tf_runner):
    code = f"import base64\n{_snippet(_graph_def_of)}\nprint(base64.b64encode(_graph_def_of(tf, {API_GRAPH!r})).decode())\n"
    theirs = graph_pb2.GraphDef.FromString(base64.b64decode(tf_runner.run(code).strip().splitlines()[-1]))
    ours = graph_pb2.GraphDef.FromString(_graph_def_of(nanotf, API_GRAPH))
    for node in theirs.node:
        node.ClearField("experimental_type")  # full-type annotations of Shape ops: not written by nanotf
    assert [n.name for n in ours.node] == [n.name for n in theirs.node]
    for a, b in zip(ours.node, theirs.node):
        assert a == b, f"node {a.name} differs:\n{a}\nTensorFlow:\n{b}"

"""Live drift tests for the graph core: nanotf's OpDefs and GraphDefs against real TensorFlow.

Each snippet is run twice: under TensorFlow (``import tensorflow.compat.v1 as tf``)
and under nanotf (``import nanotf as tf``), each in a fresh graph. The
GraphDefs (with ``_output_shapes``) must be equal node for node, attrs included.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from google.protobuf import text_format

from nanotf.framework import registry
from nanotf.protos import graph_pb2

import nanotf  # noqa: F401 - registers every op

_DUMP = """
import base64
g = tf.get_default_graph()
print(base64.b64encode(g.as_graph_def(add_shapes=True).SerializeToString()).decode())
"""

SNIPPETS = {
    "seed_ref": """
        w1 = tf.placeholder("float", name="w1")
        w2 = tf.placeholder("float", name="w2")
        b1 = tf.Variable(2.0, name="bias")
        w3 = tf.add(w1, w2)
        w4 = tf.multiply(w3, b1, name="op_to_restore")
        init = tf.global_variables_initializer()
    """,
    "seed_resource": """
        tf.enable_resource_variables()
        w1 = tf.placeholder("float", name="w1")
        w2 = tf.placeholder("float", name="w2")
        b1 = tf.Variable(2.0, name="bias")
        w3 = tf.add(w1, w2)
        w4 = tf.multiply(w3, b1, name="op_to_restore")
        a = b1.assign(3.0)
        b = b1.assign_add(1.0)
        init = tf.global_variables_initializer()
    """,
    "random_and_ops": """
        w1 = tf.Variable(tf.random_normal(shape=[2]), name="w1")
        w2 = tf.Variable(tf.truncated_normal([5, 3], stddev=0.1), name="w2")
        x = tf.placeholder(tf.float32, [None, 5], name="x")
        y = tf.matmul(x, w2) + 1
        z = tf.reduce_mean(tf.square(y - 2.0)) / 3
        q = tf.zeros([3, 2]) + tf.ones([3, 2]) * 2
        r = tf.reshape(tf.cast(x, tf.int32), [-1]) // 2
        s = tf.reduce_sum(x, axis=1, keepdims=True) - x[:, 1:3][0]
        init = tf.global_variables_initializer()
    """,
    "scopes_and_get_variable": """
        tf.set_random_seed(7)
        with tf.variable_scope("scope"):
            g = tf.get_variable("g", [2, 3], initializer=tf.random_normal_initializer())
            h = tf.get_variable("h", [2, 3])
            k = tf.get_variable("k", [3], initializer=tf.zeros_initializer(), trainable=False)
        with tf.variable_scope("scope", reuse=True):
            g2 = tf.get_variable("g")
        with tf.name_scope("outer"):
            c = tf.constant([1, 2, 3], name="c") * 2
            with tf.control_dependencies([c]):
                d = tf.identity(c)
        emb = tf.get_variable("emb", [10, 4], partitioner=tf.fixed_size_partitioner(3),
                              initializer=tf.zeros_initializer())
        u = tf.random_uniform([4], seed=3)
    """,
    "resource_get_variable": """
        tf.enable_resource_variables()
        with tf.variable_scope("scope"):
            g = tf.get_variable("g", [2, 3], initializer=tf.random_normal_initializer())
            k = tf.get_variable("k", [3], initializer=tf.zeros_initializer(), use_resource=False)
        y = tf.multiply(g, 2.0, name="y")
        init = tf.global_variables_initializer()
    """,
}


def _nanotf_graph_def(code: str) -> graph_pb2.GraphDef:
    prog = "import nanotf as tf\n" + textwrap.dedent(code) + _DUMP
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True).stdout
    return graph_pb2.GraphDef.FromString(base64.b64decode(out.strip().splitlines()[-1]))


def _tf_graph_def(tf_runner, code: str) -> graph_pb2.GraphDef:
    out = tf_runner.run(textwrap.dedent(code) + _DUMP)
    return graph_pb2.GraphDef.FromString(base64.b64decode(out.strip().splitlines()[-1]))


def _node_text(node) -> str:
    return text_format.MessageToString(node)


@pytest.mark.parametrize("snippet", sorted(SNIPPETS))
def test_graph_def_matches_tensorflow(tf_runner, snippet):
    ours = _nanotf_graph_def(SNIPPETS[snippet])
    theirs = _tf_graph_def(tf_runner, SNIPPETS[snippet])
    assert [n.name for n in ours.node] == [n.name for n in theirs.node]
    for a, b in zip(ours.node, theirs.node):
        assert _node_text(a) == _node_text(b), f"node {a.name} differs"
    assert ours.versions == theirs.versions
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)


def test_every_registered_op_def_matches_tensorflow(tf_runner):
    names = registry.registered_op_types()
    out = tf_runner.run(
        f"""
        import base64
        from tensorflow.python.framework import op_def_registry
        from tensorflow.core.framework import op_def_pb2
        ops = op_def_pb2.OpList()
        for name in {names!r}:
            op = ops.op.add()
            op.CopyFrom(op_def_registry.get(name))
        print(base64.b64encode(ops.SerializeToString()).decode())
        """
    )
    theirs = graph_pb2.OpList.FromString(base64.b64decode(out.strip().splitlines()[-1]))
    mismatches = []
    for op in theirs.op:
        op.ClearField("summary")
        op.ClearField("description")
        for arg in list(op.input_arg) + list(op.output_arg):
            arg.ClearField("description")
        for attr in op.attr:
            attr.ClearField("description")
        if op != registry.op_def(op.name):
            mismatches.append(f"{op.name}:\nTF:\n{op}\nnanotf:\n{registry.op_def(op.name)}")
    assert not mismatches, "\n".join(mismatches)


def test_tensorflow_graph_def_imports_and_runs(tf_runner):
    out = tf_runner.run(
        """
        import base64
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        w = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], name="w")
        y = tf.nn.sigmoid(tf.matmul(x, w) - 10.0, name="y")
        m = tf.reduce_mean(y, name="m")
        with tf.Session() as sess:
            val = sess.run(m, {x: [[1, 2, 3], [0.5, 0.5, 0.5]]})
        print(base64.b64encode(tf.get_default_graph().as_graph_def().SerializeToString()).decode())
        print(repr(float(val)))
        """
    )
    lines = out.strip().splitlines()
    gd = graph_pb2.GraphDef.FromString(base64.b64decode(lines[-2]))
    expected = float(lines[-1])
    import nanotf as tf

    graph = tf.Graph()
    with graph.as_default():
        (m,) = tf.import_graph_def(gd, return_elements=["m:0"])
        with tf.Session() as sess:
            got = sess.run(m, {"import/x:0": [[1, 2, 3], [0.5, 0.5, 0.5]]})
    np.testing.assert_allclose(got, expected, rtol=1e-6)

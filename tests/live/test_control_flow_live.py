"""Live: nanotf's tf.cond / tf.while_loop / tf.TensorArray build TensorFlow's graph, and TF runs it.

The same program runs under TensorFlow (``tf.compat.v1``, control flow v1)
and under nanotf; the GraphDefs must match node for node, and a meta graph
nanotf exports must import and run in TensorFlow with nanotf's values.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
from google.protobuf import text_format

from nanotf.protos import graph_pb2

PROGRAM = """
x = tf.placeholder(tf.float32, [3], name="x")
n = tf.placeholder(tf.int32, [], name="n")
scale = tf.constant(0.5, name="scale")
r = tf.cond(tf.reduce_sum(x) > 0.0, lambda: x * scale, lambda: tf.constant([1.0, 2.0, 3.0]) - x)
tf.identity(r, name="r")

def outer(j, acc):
    inner = tf.while_loop(lambda m, t: m < j, lambda m, t: (m + 1, t + scale * x), [0, tf.zeros([3])])
    return j + 1, acc + inner[1]

total = tf.while_loop(lambda j, acc: j < n, outer, [0, tf.zeros([3])])[1]
tf.identity(total, name="total")
ta = tf.TensorArray(tf.float32, size=n)
_, ta = tf.while_loop(lambda i, ta: i < n, lambda i, ta: (i + 1, ta.write(i, x * tf.cast(i, tf.float32))), [0, ta])
tf.identity(ta.stack(), name="stacked")
capped = tf.while_loop(lambda v: v < 100.0, lambda v: v * 2.0, [tf.reduce_sum(x)], maximum_iterations=n)
tf.identity(capped, name="capped")
"""

_DUMP = """
import base64
print(base64.b64encode(tf.get_default_graph().as_graph_def(add_shapes=True).SerializeToString()).decode())
"""

FETCHES = ["r:0", "total:0", "stacked:0", "capped:0"]
FEEDS = [{"x:0": [1.0, -2.0, 4.0], "n:0": 3}, {"x:0": [-1.0, -2.0, 0.5], "n:0": 1}]


def _graph_def(out: str) -> graph_pb2.GraphDef:
    return graph_pb2.GraphDef.FromString(base64.b64decode(out.strip().splitlines()[-1]))


def test_graph_def_matches_tensorflow(tf_runner):
    ours = _graph_def(subprocess.run([sys.executable, "-c", "import nanotf as tf\n" + PROGRAM + _DUMP],
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
    theirs = _graph_def(tf_runner.run(PROGRAM + _DUMP))
    assert [n.name for n in ours.node] == [n.name for n in theirs.node]
    for a, b in zip(ours.node, theirs.node):
        assert text_format.MessageToString(a) == text_format.MessageToString(b), f"node {a.name} differs"


def test_nanotf_meta_graph_runs_in_tensorflow(tf_runner, tmp_path):
    meta = str(tmp_path / "cf.meta")
    run = f"""
import json
tf.train.export_meta_graph({meta!r})
with tf.Session() as sess:
    print(json.dumps([[v.tolist() for v in sess.run({FETCHES!r}, feeds)] for feeds in {FEEDS!r}]))
"""
    out = subprocess.run([sys.executable, "-c", "import nanotf as tf\n" + PROGRAM + run],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    ours = json.loads(out.strip().splitlines()[-1])
    theirs = tf_runner.run_json(
        f"""
        import json
        tf.train.import_meta_graph({meta!r})
        with tf.Session() as sess:
            print(json.dumps([[v.tolist() for v in sess.run({FETCHES!r}, feeds)] for feeds in {FEEDS!r}]))
        """
    )
    for got, want in zip(ours, theirs):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-6)

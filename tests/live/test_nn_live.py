"""Live: nn training graphs cross between nanotf and TensorFlow in both directions.

The seeded CNN of tests/fixtures/layers_model.py (conv, pooling, fused and
moments batch norm, dropout, dense, sparse cross entropy) with its gradients
and moving-average updates is built by one library, serialized as a
GraphDef, imported and run by the other; loss, gradients and the updated
moving statistics must agree.
"""

import base64
import json
from pathlib import Path

import numpy as np

import nanotf as tf
from nanotf.protos import graph_pb2

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _inputs():
    rng = np.random.default_rng(11)
    return rng.standard_normal((6, 8, 8, 2)).astype(np.float32), np.array([0, 1, 2, 2, 1, 0], np.int32)


# Builds the program, its gradients and an init op, and names what to fetch (run as-is by both libraries).
_BUILD = """
import sys
sys.path.insert(0, {fixtures!r})
import layers_model
ends = layers_model.small_cnn(tf)
variables = tf.trainable_variables()
grads = tf.gradients(ends["loss"], variables)
updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
init = tf.global_variables_initializer()
moving = [v for v in tf.global_variables() if "moving" in v.op.name]
names = {{"loss": ends["loss"].name, "grads": [g.name for g in grads], "updates": [u.name for u in updates],
         "moving": [v.op.name + ":0" for v in moving], "init": init.name}}
"""

_RUN = """
import numpy as np
x, labels = np.array({x}, np.float32), np.array({labels}, np.int32)
with tf.Session() as sess:
    sess.run(names["init"])
    loss, grads = sess.run([names["loss"], names["grads"]], {{"x:0": x, "labels:0": labels}})
    sess.run(names["updates"], {{"x:0": x, "labels:0": labels}})
    moving = sess.run(names["moving"])
"""


def _run_in_nanotf(graph_def, names, x, labels):
    tf.disable_v2_behavior()
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(graph_def, name="")
        with tf.Session() as sess:
            sess.run(names["init"])
            loss, grads = sess.run([names["loss"], names["grads"]], {"x:0": x, "labels:0": labels})
            sess.run(names["updates"], {"x:0": x, "labels:0": labels})
            moving = sess.run(names["moving"])
    return loss, grads, moving


def _build_in_nanotf():
    tf.disable_v2_behavior()
    graph = tf.Graph()
    scope = {"tf": tf}
    with graph.as_default():
        exec(_BUILD.format(fixtures=str(FIXTURES)), scope)  # the same program text TF runs
    return graph.as_graph_def(), scope["names"]


def _compare(a, b):
    loss_a, grads_a, moving_a = a
    loss_b, grads_b, moving_b = b
    assert len(grads_a) == len(grads_b) == 12 and len(moving_a) == len(moving_b) == 4
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-5)
    for ga, gb in zip(grads_a, grads_b):
        np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-5)
    for ma, mb in zip(moving_a, moving_b):
        np.testing.assert_allclose(ma, mb, rtol=1e-5, atol=1e-6)


# The runner's snippet header, with legacy Keras chosen before TensorFlow loads (tf.layers needs it).
_HEADER = """# keep-v2
import base64, json, os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
"""


def test_nanotf_cnn_training_graph_runs_in_tensorflow(tf_runner):
    x, labels = _inputs()
    graph_def, names = _build_in_nanotf()
    encoded = base64.b64encode(graph_def.SerializeToString()).decode()
    out = tf_runner.run_json(
        _HEADER
        + "from tensorflow.core.framework import graph_pb2\n"
        + f"tf.import_graph_def(graph_pb2.GraphDef.FromString(base64.b64decode({encoded!r})), name='')\n"
        + f"names = {json.dumps(names)}\n"
        + _RUN.format(x=x.tolist(), labels=labels.tolist())
        + 'print(json.dumps({"loss": float(loss), "grads": [g.tolist() for g in grads], '
        + '"moving": [m.tolist() for m in moving]}))\n'
    )
    theirs = (out["loss"], [np.array(g) for g in out["grads"]], [np.array(m) for m in out["moving"]])
    _compare(theirs, _run_in_nanotf(graph_def, names, x, labels))


def test_tensorflow_cnn_training_graph_runs_in_nanotf(tf_runner):
    x, labels = _inputs()
    out = tf_runner.run_json(
        _HEADER
        + _BUILD.format(fixtures=str(FIXTURES))
        + _RUN.format(x=x.tolist(), labels=labels.tolist())
        + "gd = base64.b64encode(tf.get_default_graph().as_graph_def().SerializeToString()).decode()\n"
        + 'print(json.dumps({"graph": gd, "names": names, "loss": float(loss), '
        + '"grads": [g.tolist() for g in grads], "moving": [m.tolist() for m in moving]}))\n'
    )
    graph_def = graph_pb2.GraphDef.FromString(base64.b64decode(out["graph"]))
    theirs = (out["loss"], [np.array(g) for g in out["grads"]], [np.array(m) for m in out["moving"]])
    _compare(theirs, _run_in_nanotf(graph_def, out["names"], x, labels))

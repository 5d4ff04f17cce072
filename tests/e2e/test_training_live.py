"""Live: models nanotf builds and trains keep training in TensorFlow exactly as they do in nanotf.

The reverse of test_continue_training.py. For each model nanotf builds the
graph with its own ``tf.train`` optimizer, initializes it, trains 3 steps,
saves ``model-3`` (.meta + checkpoint) and trains 3 more steps in the same
session. TensorFlow then imports the .meta, restores ``model-3`` and trains 3
steps: its losses must equal nanotf's continuation within 1e-4 (relative) and
its global step must reach 6.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import behavior
from nanotf.framework import registry

RTOL = 1e-4
RNG = np.random.default_rng(3)


def build_mlp_adam():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.float32, [None, 2], name="y")
    w1 = tf.Variable(tf.random_normal([4, 8], seed=1), name="W1")
    b1 = tf.Variable(tf.zeros([8]), name="b1")
    w2 = tf.Variable(tf.random_normal([8, 2], seed=2), name="W2")
    b2 = tf.Variable(tf.zeros([2]), name="b2")
    pred = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.square(pred - y), name="loss")
    tf.group(tf.train.AdamOptimizer(0.01).minimize(loss, global_step=tf.train.get_or_create_global_step()),
             name="train_op")  # fmt: skip
    return {"x:0": RNG.standard_normal((6, 4)), "y:0": RNG.standard_normal((6, 2))}


def build_cnn_momentum():
    x = tf.placeholder(tf.float32, [None, 8, 8, 1], name="x")
    labels = tf.placeholder(tf.float32, [None, 3], name="labels")
    kernel = tf.Variable(tf.truncated_normal([3, 3, 1, 4], stddev=0.5, seed=3), name="conv/kernel")
    bias = tf.Variable(tf.zeros([4]), name="conv/bias")
    hidden = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, strides=[1, 1, 1, 1], padding="SAME"), bias))
    pooled = tf.nn.max_pool(hidden, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
    w = tf.Variable(tf.random_normal([64, 3], stddev=0.3, seed=4), name="dense/kernel")
    b = tf.Variable(tf.zeros([3]), name="dense/bias")
    logits = tf.matmul(tf.reshape(pooled, [-1, 64]), w) + b
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits), name="loss")
    tf.group(tf.train.MomentumOptimizer(0.05, 0.9).minimize(loss, global_step=tf.train.get_or_create_global_step()),
             name="train_op")  # fmt: skip
    return {"x:0": RNG.standard_normal((4, 8, 8, 1)), "labels:0": np.eye(3)[[0, 2, 1, 2]]}


def build_batchnorm_rmsprop():
    x = tf.placeholder(tf.float32, [None, 4, 4, 2], name="x")
    y = tf.placeholder(tf.float32, [None, 2], name="y")
    conv = tf.layers.conv2d(x, 4, 3, padding="same", kernel_initializer=tf.glorot_uniform_initializer(seed=5),
                            name="conv")  # fmt: skip
    normed = tf.layers.batch_normalization(conv, training=True, name="bn")
    pred = tf.layers.dense(tf.reshape(tf.nn.relu(normed), [-1, 64]), 2,
                           kernel_initializer=tf.glorot_uniform_initializer(seed=6), name="out")  # fmt: skip
    loss = tf.reduce_mean(tf.square(pred - y), name="loss")
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.RMSPropOptimizer(0.01, momentum=0.5).minimize(
            loss, global_step=tf.train.get_or_create_global_step())
    tf.group(train, name="train_op")
    return {"x:0": RNG.standard_normal((4, 4, 4, 2)), "y:0": RNG.standard_normal((4, 2))}


# name -> (builder, resource variables?)
MODELS = {
    "mlp_adam": (build_mlp_adam, False),
    "mlp_adam_resource": (build_mlp_adam, True),
    "cnn_momentum": (build_cnn_momentum, False),
    "cnn_momentum_resource": (build_cnn_momentum, True),
    "batchnorm_rmsprop": (build_batchnorm_rmsprop, False),
}


def _train(sess, feeds, steps=3) -> list:
    return [float(sess.run(["train_op", "loss:0"], feeds)[1]) for _ in range(steps)]


def _train_in_nanotf(name, directory) -> dict:
    build, resource = MODELS[name]
    was_resource = behavior.resource_variables_enabled()
    (behavior.enable_resource_variables if resource else behavior.disable_resource_variables)()
    try:
        with tf.Graph().as_default() as graph:
            feeds = {k: np.asarray(v, np.float32) for k, v in build().items()}
            init = tf.global_variables_initializer()
            saver = tf.train.Saver()
            with tf.Session() as sess:
                sess.run(init)
                _train(sess, feeds)
                prefix = saver.save(sess, str(directory / "model"), global_step=tf.train.get_global_step())
                continuation = _train(sess, feeds)
    finally:
        (behavior.enable_resource_variables if was_resource else behavior.disable_resource_variables)()
    assert any(op.type == "VarHandleOp" for op in graph.get_operations()) == resource
    return {"prefix": prefix, "feeds": {k: v.tolist() for k, v in feeds.items()}, "continuation": continuation}


TF_CONTINUES = """
import json
import numpy as np
results = {}
for name, run in json.loads(%r).items():
    feeds = {k: np.array(v, np.float32) for k, v in run["feeds"].items()}
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(run["prefix"] + ".meta")
        saver.restore(sess, run["prefix"])
        losses = [float(sess.run(["train_op", "loss:0"], feeds)[1]) for _ in range(3)]
        results[name] = {"losses": losses, "step": int(sess.run(tf.train.get_global_step()))}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def continued(tf_runner, tmp_path_factory):
    runs, skipped = {}, {}
    for name, (_, resource) in MODELS.items():
        if resource and registry.get("ReadVariableOp").grad is None:
            skipped[name] = "needs the ReadVariableOp gradient rule (ops/state_ops.py)"
            continue
        runs[name] = _train_in_nanotf(name, tmp_path_factory.mktemp(name))
    theirs = tf_runner.run_json(TF_CONTINUES % json.dumps(runs))
    return runs, theirs, skipped


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tensorflow_continues_nanotfs_training(continued, name):
    runs, theirs, skipped = continued
    if name in skipped:
        pytest.skip(skipped[name])
    np.testing.assert_allclose(theirs[name]["losses"], runs[name]["continuation"], rtol=RTOL, err_msg=name)
    assert theirs[name]["step"] == 6

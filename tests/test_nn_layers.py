"""tf.layers and tf.nn against TensorFlow: the programs of tests/fixtures/layers_model.py, run by both.

TensorFlow's graphs and values were written by tests/fixtures/gen_layers.py.
nanotf must build the same ops (names, types, inputs, in order), create the
same variables with bit-identical seeded initial values, compute the same
forward values, gradients and moving-average updates, and draw the same
dropout masks.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import layers_model  # noqa: E402

GRAPHS = json.loads((FIXTURES / "layers" / "graphs.json").read_text())
VALUES = dict(np.load(FIXTURES / "layers" / "values.npz"))
GRAD_SCOPES = ("Conv2D_grad", "Relu_grad", "Elu_grad", "MaxPool_grad", "AvgPool_grad", "FusedBatchNormV3_grad",
               "BiasAdd_grad", "SparseSoftmaxCrossEntropyWithLogits_grad")  # fmt: skip
# tf.losses builds TF's values without its static broadcast checks; its ops are compared by value only.
LOSS_SCOPES = ("mean_squared_error/", "softmax_cross_entropy_loss/")
# A bool-tensor `training` builds tf.cond, which lives in the control-flow family.
NEEDS_COND = pytest.mark.skipif(importlib.util.find_spec("nanotf.ops.cond_v1") is None, reason="tf.cond not available")
PROGRAMS = ["small_cnn", "inference_layers", "nn_functions", pytest.param("training_tensor", marks=NEEDS_COND)]


@pytest.fixture(autouse=True)
def _v1_behavior():
    tf.disable_v2_behavior()


def _describe(graph):
    return [[op.name, op.type, [t.name for t in op.inputs]] for op in graph.get_operations()]


def _flat(endpoints):
    out = {}
    for key, value in endpoints.items():
        if isinstance(value, (tuple, list)):
            out.update({f"{key}_{i}": v for i, v in enumerate(value)})
        else:
            out[key] = value
    return out


def _build(name):
    graph = tf.Graph()
    with graph.as_default():
        ends = _flat(getattr(layers_model, name)(tf))
    return graph, ends


def _without_losses(ops):
    return [op for op in ops if not op[0].startswith(LOSS_SCOPES)]


@pytest.mark.parametrize("name", PROGRAMS)
def test_graph_matches_tensorflow(name):
    graph, _ = _build(name)
    expected = GRAPHS[name]
    with graph.as_default():
        assert _without_losses(_describe(graph)) == _without_losses(expected["ops"])
        assert [op.name for op in tf.get_collection(tf.GraphKeys.UPDATE_OPS)] == expected["update_ops"]
        trainable = set(tf.trainable_variables())
        variables = [[v.op.name, v.shape.as_list(), v in trainable] for v in tf.global_variables()]
    assert variables == expected["variables"]


def _is_driver_zeros(op):
    # The zeros tf.gradients feeds for unused outputs: TF's driver puts them outside the rule's scope.
    return op[0].rsplit("/", 1)[-1].startswith("zeros") and op[1] in ("Const", "ZerosLike")


def test_gradient_ops_match_tensorflow():
    graph, ends = _build("small_cnn")
    with graph.as_default():
        n = len(graph.get_operations())
        tf.gradients(ends["loss"], tf.trainable_variables())
    ours = [op for op in _describe(graph)[n:] if any(f"/{s}/" in op[0] for s in GRAD_SCOPES) and not _is_driver_zeros(op)]
    assert ours == GRAPHS["small_cnn"]["grad_ops"]


def _run(name):
    """Runs ``name`` as gen_layers.py did; returns what nanotf computed under the fixture's keys."""
    graph, ends = _build(name)
    prefix = f"{name}/feed/"
    feed_arrays = {k[len(prefix):]: v for k, v in VALUES.items() if k.startswith(prefix)}
    got = {}
    with graph.as_default():
        holders = {k: ends[k] if k in ends else graph.get_tensor_by_name(f"{k}:0") for k in feed_arrays}
        feed = {holders[k]: v for k, v in feed_arrays.items()}
        fetch = {k: t for k, t in ends.items() if k not in feed_arrays and k != "training"}
        if name == "small_cnn":
            grads = tf.gradients(ends["loss"], tf.trainable_variables())
            fetch.update({f"grad/{v.op.name}": g for v, g in zip(tf.trainable_variables(), grads)})
        init = tf.global_variables_initializer()
        with tf.Session(graph=graph) as sess:
            sess.run(init)
            for v in tf.global_variables():
                got[f"{name}/init/{v.op.name}"] = sess.run(v)
            updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
            for mode in [True, False] if name == "training_tensor" else [None]:
                suffix = "" if mode is None else f"/training={mode}"
                run_feed = dict(feed)
                if mode is not None:
                    run_feed[ends["training"]] = mode
                out = sess.run([fetch, updates], run_feed)[0]
                got.update({f"{name}/out{suffix}/{k}": np.asarray(v) for k, v in out.items()})
                for v in tf.global_variables():
                    if "moving" in v.op.name:
                        got[f"{name}/after{suffix}/{v.op.name}"] = sess.run(v)
    return got


@pytest.mark.parametrize("name", PROGRAMS)
def test_values_match_tensorflow(name):
    got = _run(name)
    expected = {k: v for k, v in VALUES.items() if k.startswith(f"{name}/") and "/feed/" not in k}
    assert sorted(got) == sorted(expected)
    for key, want in expected.items():
        if "/init/" in key:
            np.testing.assert_array_equal(got[key], want, err_msg=key)
        else:
            np.testing.assert_allclose(got[key], want, rtol=2e-5, atol=2e-5, err_msg=key)


def test_dropout_masks_are_seeded_like_tensorflow():
    got = _run("nn_functions")
    x = VALUES["nn_functions/feed/x"]
    for key in ("dropout_keep", "dropout_rate_seed", "dropout_noise_shape"):
        want = VALUES[f"nn_functions/out/{key}"]
        np.testing.assert_array_equal(got[f"nn_functions/out/{key}"] == 0, want == 0, err_msg=key)
        assert 0 < np.count_nonzero(want == 0) < x.size, key


@NEEDS_COND
def test_batch_norm_updates_only_in_training():
    got = _run("training_tensor")
    moving = "training_tensor/after/training={}/batch_normalization/moving_mean"
    changed = got[moving.format(True)]
    assert np.any(changed != 0)
    np.testing.assert_array_equal(got[moving.format(False)], changed)


def test_layer_reuse_shares_variables_and_opens_a_new_name_scope():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 5])
        tf.layers.dense(x, 3, name="foo")
        y = tf.layers.dense(x, 3, name="foo", reuse=True)
        assert [v.op.name for v in tf.global_variables()] == ["foo/kernel", "foo/bias"]
        assert y.op.name == "foo_1/BiasAdd"
        assert y.op.inputs[0].op.inputs[1].name == "foo/kernel/read:0"


def test_dense_applies_regularizers_to_the_losses_collection():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        tf.layers.dense(x, 2, kernel_regularizer=tf.nn.l2_loss)
        (loss,) = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kernel = sess.run(tf.trainable_variables()[0])
            assert sess.run(loss) == pytest.approx(np.sum(kernel**2) / 2, rel=1e-6)


def test_losses_reduce_by_nonzero_weights():
    labels = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]], np.float32)
    predictions = np.array([[0.5, 1.0], [1.0, 1.0], [0.0, 3.0]], np.float32)
    weights = np.array([[1.0], [0.0], [2.0]], np.float32)
    with tf.Graph().as_default():
        mse = tf.losses.mean_squared_error(labels, predictions, weights=weights)
        total = tf.losses.get_total_loss()
        with tf.Session() as sess:
            got, got_total = sess.run([mse, total])
    squared = (predictions - labels) ** 2 * weights
    assert got == pytest.approx(squared.sum() / 4)
    assert got_total == pytest.approx(got)


def test_a_small_cnn_trains_on_a_batch_of_32():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((32, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 32).astype(np.int32)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, [None, 28, 28, 1])
        y = tf.placeholder(tf.int32, [None])
        h = tf.layers.conv2d(x, 16, 5, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.conv2d(h, 32, 5, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        logits = tf.layers.dense(tf.layers.flatten(h), 10)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        variables = tf.trainable_variables()
        grads = tf.gradients(loss, variables)
        step = tf.group(*[tf.assign_sub(v, 0.05 * g) for v, g in zip(variables, grads)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([loss, step], {x: images, y: labels})[0] for _ in range(5)]
    assert losses[-1] < losses[0]


def test_out_of_range_labels_raise_invalid_argument():
    with tf.Graph().as_default():
        logits = tf.placeholder(tf.float32, [2, 3])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 3], logits=logits)
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match=r"label value of 3.*\[0, 3\)"):
            sess.run(loss, {logits: np.zeros((2, 3), np.float32)})


def test_conv_shapes_are_checked_at_build_and_run_time():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Negative dimension size"):
            tf.nn.conv2d(tf.zeros([1, 2, 2, 1]), tf.zeros([3, 3, 1, 1]), strides=1, padding="VALID")
        x = tf.placeholder(tf.float32)
        y = tf.nn.conv2d(x, tf.zeros([3, 3, 2, 1]), strides=1, padding="SAME")
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="depth"):
            sess.run(y, {x: np.zeros((1, 4, 4, 3), np.float32)})


def test_dropout_arguments():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [2, 2])
        assert tf.nn.dropout(x, rate=0.0) is x
        with pytest.raises(ValueError, match="range"):
            tf.nn.dropout(x, rate=1.0)
        with pytest.raises(ValueError, match="exactly one"):
            tf.nn.dropout(x, keep_prob=0.5, rate=0.5)
        with pytest.raises(ValueError, match="mean"):
            tf.nn.fused_batch_norm(tf.zeros([1, 2, 2, 3]), tf.ones([3]), tf.zeros([3]), is_training=False)

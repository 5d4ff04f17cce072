"""TensorFlow-trained models keep training in nanotf exactly as they do in TensorFlow.

Each fixture (tests/fixtures/mlp_adam, tests/fixtures/training/*, written by
tests/fixtures/gen_training.py) is a model TF trained for 3 steps and saved as
``model-3``, with the losses of those 3 steps and of 3 more steps TF ran after
``import_meta_graph`` + ``restore``. nanotf imports the same .meta, restores
the checkpoint and trains 3 steps: the per-step losses must agree with TF's
within 1e-4 (relative), and the global step must move from 3 to 6. Running
the graph's own initializer and training from scratch must reproduce TF's
first 3 losses too (the random initializers are bit-exact).

A fixture whose graph uses an op type nanotf does not register yet is
skipped, naming the missing types.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import registry
from nanotf.train import meta_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = ["mlp_adam"] + sorted(f"training/{p.name}" for p in (FIXTURES / "training").iterdir() if p.is_dir())
RTOL = 1e-4


def _decode(record) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(record["hex"]), dtype=record["dtype"]).reshape(record["shape"])


def _load(case):
    directory = FIXTURES / case
    mgd = meta_graph.read_meta_graph_file(str(directory / "model-3.meta"))
    missing = sorted({n.op for n in mgd.graph_def.node if registry.lookup(n.op) is None})
    if missing:
        pytest.skip(f"{case} needs op types nanotf does not register yet: {missing}")
    training = json.loads((directory / "expected.json").read_text())["training"]
    feeds = {name: _decode(record) for name, record in training["feeds"].items()}
    return directory, training, feeds


def _train(sess, training, feeds, steps=3) -> np.ndarray:
    return np.array([sess.run([training["train_op"], training["loss"]], feeds)[1] for _ in range(steps)])


@pytest.mark.parametrize("case", CASES)
def test_restored_model_continues_training_as_tensorflow_does(case):
    directory, training, feeds = _load(case)
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(str(directory / "model-3.meta"))
        saver.restore(sess, tf.train.latest_checkpoint(str(directory)))
        global_step = tf.train.get_global_step()
        assert sess.run(global_step) == 3
        losses = _train(sess, training, feeds)
        assert sess.run(global_step) == 6
    expected = _decode(training["losses_after_restore"])
    np.testing.assert_allclose(losses, expected, rtol=RTOL, err_msg=case)
    assert losses.dtype == np.float32


@pytest.mark.parametrize("case", CASES)
def test_imported_graph_trains_from_its_initializer_as_tensorflow_did(case):
    directory, training, feeds = _load(case)
    with tf.Graph().as_default() as graph, tf.Session() as sess:
        tf.train.import_meta_graph(str(directory / "model-3.meta"))
        sess.run(graph.get_operation_by_name(training.get("init_op", "init")))
        losses = _train(sess, training, feeds)
    np.testing.assert_allclose(losses, _decode(training["losses_before_save"]), rtol=RTOL, err_msg=case)


@pytest.mark.parametrize("case", CASES)
def test_saved_continuation_restores_in_a_fresh_graph(case, tmp_path):
    directory, training, feeds = _load(case)
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(str(directory / "model-3.meta"))
        saver.restore(sess, str(directory / "model-3"))
        _train(sess, training, feeds, steps=2)
        saved = saver.save(sess, str(tmp_path / "model"), global_step=tf.train.get_global_step())
        last = _train(sess, training, feeds, steps=1)
    assert Path(saved).name == "model-5"
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(saved + ".meta")
        saver.restore(sess, saved)
        again = _train(sess, training, feeds, steps=1)
    np.testing.assert_array_equal(again, last)
    np.testing.assert_allclose(again, _decode(training["losses_after_restore"])[2:], rtol=RTOL)

"""Graphs with cond, nested while loops and an LSTM training loop, written by TensorFlow, run in nanotf.

The fixtures and their expected values come from tests/fixtures/gen_control_flow.py.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import registry
from nanotf.train import meta_graph

FIXTURES = "control_flow"


def _load(fixtures_dir, name):
    path = fixtures_dir / FIXTURES / name
    return path, json.loads((path / "expected.json").read_text())


@pytest.mark.parametrize("name", ["cond", "while"])
def test_tensorflow_graph_gives_tensorflows_values(fixtures_dir, name):
    path, expected = _load(fixtures_dir, name)
    with tf.Graph().as_default():
        tf.import_graph_def(tf.GraphDef.FromString((path / "graph.pb").read_bytes()), name="")
        with tf.Session() as sess:
            for run in expected["runs"]:
                got = sess.run(list(run["fetches"]), run["feeds"])
                for (fetch, want), value in zip(run["fetches"].items(), got):
                    np.testing.assert_allclose(value, want, rtol=1e-6, err_msg=f"{fetch} with {run['feeds']}")


def _missing_op_types(meta_file) -> list:
    mgd = meta_graph.read_meta_graph_file(str(meta_file))
    return sorted({n.op for n in mgd.graph_def.node
                   if registry.lookup(n.op) is None or registry.lookup(n.op).kernel is None})  # fmt: skip


def test_lstm_training_resumes_with_tensorflows_losses(fixtures_dir, tmp_path):
    path, expected = _load(fixtures_dir, "lstm")
    missing = _missing_op_types(path / "model-3.meta")
    if missing:
        pytest.skip(f"the LSTM training graph needs op types nanotf does not implement yet: {missing}")
    shutil.copytree(path, tmp_path / "lstm")
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(str(tmp_path / "lstm/model-3.meta"))
        with tf.Session() as sess:
            saver.restore(sess, str(tmp_path / "lstm/model-3"))
            assert sess.run("global_step:0") == 3
            feeds = {"x:0": np.array(expected["x"], np.float32), "y:0": np.array(expected["y"], np.float32)}
            losses = [sess.run([expected["train_op"], expected["loss"]], feeds)[1] for _ in range(3)]
            assert sess.run("global_step:0") == 6
    np.testing.assert_allclose(losses, expected["losses_after_restore"], rtol=1e-4)


def test_lstm_graph_uses_the_control_flow_ops_nanotf_registers(fixtures_dir):
    _, expected = _load(fixtures_dir, "lstm")
    ours = {"Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond", "ControlTrigger", "StackV2",
            "StackPushV2", "StackPopV2", "TensorArrayV3", "TensorArrayWriteV3", "TensorArrayReadV3",
            "TensorArrayGatherV3", "TensorArrayScatterV3", "TensorArrayGradV3"}  # fmt: skip
    assert ours <= set(expected["op_types"])
    assert all(registry.lookup(t) is not None for t in ours)

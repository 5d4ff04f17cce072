"""`nanotf freeze`: the frozen GraphDef runs without the checkpoint and computes what the restored graph does."""

import json

import numpy as np
import pytest
from google.protobuf import text_format

import nanotf as tf
from nanotf.protos import graph_pb2
from nanotf.tools.cmd_meta import implemented

from cli_helpers import FIXTURES, nanotf, run, run_json

FEEDS = {"w1:0": 4.0, "w2:0": 5.0}


def _restored_output(name):
    with tf.Graph().as_default(), tf.Session() as sess:
        saver = tf.train.import_meta_graph(str(FIXTURES / name / "my_test_model-1000.meta"))
        saver.restore(sess, str(FIXTURES / name / "my_test_model-1000"))
        return sess.run("op_to_restore:0", FEEDS)


def _frozen_output(graph_def):
    with tf.Graph().as_default() as graph, tf.Session(graph=graph) as sess:
        tf.import_graph_def(graph_def, name="")
        return sess.run("op_to_restore:0", FEEDS)


@pytest.mark.parametrize("name", ["seed_ref", "seed_resource"])
def test_frozen_graph_computes_what_the_restored_graph_does(name, tmp_path, capsys):
    meta = FIXTURES / name / "my_test_model-1000.meta"
    args = ("freeze", meta, FIXTURES / name, "--outputs", "op_to_restore:0", "-o", tmp_path / "frozen.pb")
    if name == "seed_ref":  # once as users run it
        proc = nanotf(*args)
        status, out = proc.returncode, proc.stdout
    else:
        status, out, _ = run(capsys, *args)
    assert status == 0
    assert "froze 1 variables" in out and "inputs: w1, w2" in out
    frozen = graph_pb2.GraphDef.FromString((tmp_path / "frozen.pb").read_bytes())
    ops = {n.name: n.op for n in frozen.node}
    assert ops["bias"] == "Const" and not any(op in ("VariableV2", "VarHandleOp") for op in ops.values())
    assert not any(n.startswith("save/") for n in ops)
    assert _frozen_output(frozen) == _restored_output(name) == 18.0


def test_text_output_and_json(tmp_path, capsys):
    report = run_json(capsys, "freeze", FIXTURES / "seed_ref" / "my_test_model-1000.meta", FIXTURES / "seed_ref",
                      "--outputs", "op_to_restore", "-o", tmp_path / "frozen.pbtxt")  # fmt: skip
    assert report["frozen_variables"] == ["bias"] and report["inputs"] == ["w1", "w2"]
    assert report["nodes"] == 6 and report["nodes_before"] == 21
    frozen = text_format.Parse((tmp_path / "frozen.pbtxt").read_text(), graph_pb2.GraphDef())
    assert _frozen_output(frozen) == 18.0


def test_outputs_must_be_named_and_exist(tmp_path, capsys):
    meta = FIXTURES / "seed_ref" / "my_test_model-1000.meta"
    status, _, err = run(capsys, "freeze", meta, FIXTURES / "seed_ref", "-o", tmp_path / "f.pb")
    assert status == 2 and "--outputs is required (likely outputs of this graph: op_to_restore)" in err
    status, _, err = run(capsys, "freeze", meta, FIXTURES / "seed_ref", "--outputs", "op_to_restor", "-o", tmp_path / "f.pb")
    assert status == 1 and "closest: op_to_restore" in err
    assert not (tmp_path / "f.pb").exists()


@pytest.mark.skipif(not implemented("Relu"), reason="nanotf has no Relu kernel yet")
def test_frozen_training_graph_keeps_only_the_model(tmp_path, capsys):
    """The MLP's loss after restore, as TF computed it, from a graph without gradients or optimizer."""
    report = run_json(capsys, "freeze", FIXTURES / "mlp_adam" / "model-3.meta", FIXTURES / "mlp_adam",
                      "--outputs", "loss/mse", "-o", tmp_path / "frozen.pb")  # fmt: skip
    assert report["frozen_variables"] == ["W1", "b1", "W2", "b2"] and report["inputs"] == ["x", "y"]
    frozen = graph_pb2.GraphDef.FromString((tmp_path / "frozen.pb").read_bytes())
    assert not any(n.name.startswith(("gradients/", "Adam", "save/")) for n in frozen.node)
    training = json.loads((FIXTURES / "mlp_adam" / "expected.json").read_text())["training"]
    with tf.Graph().as_default() as graph, tf.Session(graph=graph) as sess:
        tf.import_graph_def(frozen, name="")
        feeds = {name: np.frombuffer(bytes.fromhex(v["hex"]), dtype=v["dtype"]).reshape(v["shape"])
                 for name, v in training["feeds"].items()}  # fmt: skip
        loss = sess.run("loss/mse:0", feeds)
    assert loss == pytest.approx(training["approx"][3], rel=1e-6)  # the first loss after TF's restore

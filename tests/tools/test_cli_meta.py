"""`nanotf meta`: a meta graph summarized from its proto, never imported."""

import json

from nanotf.framework import registry
from nanotf.protos import graph_pb2

from cli_helpers import CNN_META, FIXTURES, nanotf, run, run_json


def test_training_graph_summary():
    proc = nanotf("meta", FIXTURES / "mlp_adam" / "model-3.meta", "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["tensorflow_version"] == "2.21.0" and s["nodes"] == 182
    assert [(p["name"], p["dtype"], p["shape"]) for p in s["placeholders"]] == [
        ("x", "float32", [-1, 4]), ("y", "float32", [-1, 2])]  # fmt: skip
    # The loss only feeds the gradients, which do not count as consumers.
    assert [(o["name"], o["op"]) for o in s["likely_outputs"]] == [("loss/mse", "Mean"), ("train_op", "NoOp")]
    variables = {v["name"]: v for v in s["variables"]}
    assert len(variables) == 15
    assert variables["W1"]["shape"] == [4, 8] and "trainable_variables" in variables["W1"]["collections"]
    assert variables["global_step"]["dtype"] == "int64" and "trainable_variables" not in variables["global_step"]["collections"]
    collections = {c["key"]: c for c in s["collections"]}
    assert collections["hidden_units"]["values"] == [8] and collections["optimizer_name"]["values"] == ["adam"]
    assert collections["train_op"] == {"key": "train_op", "kind": "node_list", "count": 1, "values": ["Adam"]}
    assert s["saver"]["restore_op_name"] == "save/restore_all" and s["saver"]["version"] == "V2"
    assert s["devices"] == {"/device:CPU:0": 3}
    assert s["op_types"]["ApplyAdam"] == 4 and sum(s["op_types"].values()) == 182
    assert s["unsupported_op_types"] == sorted(t for t in s["op_types"] if registry.lookup(t) is None)
    assert "MatMul" in s["op_types"] and "MatMul" not in s["unsupported_op_types"]


def test_graph_with_op_types_nanotf_lacks(tmp_path, capsys):
    """The CNN uses Conv2D and friends; a made-up op type shows it is reported, not fatal."""
    s = run_json(capsys, "meta", CNN_META)
    assert s["op_types"]["Conv2D"] == 2 and "AddV2" not in s["unsupported_op_types"]
    assert [o["name"] for o in s["likely_outputs"]] == ["probabilities", "loss/Mean"]
    assert {p["name"] for p in s["placeholders"]} == {"images", "labels"}
    graph = graph_pb2.GraphDef()
    graph.node.add(name="x", op="Placeholder").attr["dtype"].type = 1
    graph.node.add(name="y", op="NanotfNoSuchOp", input=["x"])
    (tmp_path / "g.pb").write_bytes(graph.SerializeToString())
    status, out, _ = run(capsys, "meta", tmp_path / "g.pb")
    assert status == 0
    assert "not implemented in nanotf (1): NanotfNoSuchOp" in out and "y  NanotfNoSuchOp" in out


def test_text_output_and_other_graph_files(capsys):
    status, out, _ = run(capsys, "meta", FIXTURES / "seed_ref")  # a checkpoint directory: its .meta
    assert status == 0
    assert "w1  float32  <unknown>" in out and "op_to_restore  Mul" in out
    assert "saver: V2, restore save/restore_all" in out
    for name in ("graph.pb", "graph.pbtxt", "my_model.pbtxt"):
        s = run_json(capsys, "meta", FIXTURES / "julia_meta" / name)
        assert [o["name"] for o in s["likely_outputs"]] == ["y"]


def test_a_corrupted_meta_is_a_data_error(tmp_path, capsys):
    (tmp_path / "bad.meta").write_bytes(b"\xff\xff\xff garbage")
    status, _, err = run(capsys, "meta", tmp_path / "bad.meta")
    assert status == 1 and err.startswith("nanotf meta: DataLossError:")

"""`nanotf rename`: scope maps applied offline, tensors, dtypes and partitions kept."""

import numpy as np

import nanotf as tf

from cli_helpers import FIXTURES, nanotf, run, run_json


def test_dry_run_prints_old_to_new_and_writes_nothing(tmp_path):
    proc = nanotf("rename", FIXTURES / "mlp_adam", tmp_path / "out", "--map", "W1=layer1/W", "--map", "b1=layer1/b",
                  "--dry-run")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "W1 -> layer1/W", "W1/Adam -> layer1/W/Adam", "W1/Adam_1 -> layer1/W/Adam_1",
        "b1 -> layer1/b", "b1/Adam -> layer1/b/Adam", "b1/Adam_1 -> layer1/b/Adam_1",
        "6 of 15 keys renamed (dry run: nothing written)",
    ]  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_renamed_checkpoint_keeps_values_dtypes_and_partitions(tmp_path, capsys):
    report = run_json(capsys, "rename", FIXTURES / "partitioned", tmp_path / "out" / "model", "--map", "emb=enc/emb/")
    assert report["renamed"] == [{"from": "emb", "to": "enc/emb"}] and report["unchanged"] == ["w"]
    listing = run_json(capsys, "inspect", tmp_path / "out")
    assert {v["name"]: v["slices"] for v in listing["variables"]} == {"enc/emb": 3, "w": 0}
    np.testing.assert_array_equal(tf.train.load_variable(tmp_path / "out", "enc/emb"),
                                  tf.train.load_variable(FIXTURES / "partitioned", "emb"))  # fmt: skip
    assert run_json(capsys, "verify", tmp_path / "out")["ok"]


def test_the_longest_scope_wins_and_an_empty_new_scope_strips(tmp_path, capsys):
    """`tower=` strips the scope, `tower/x=y` beats it, and `tower` does not match `towers`."""
    tf.train.write_checkpoint(tmp_path / "m", {"tower/a": np.int64(1), "tower/x/b": np.int8(2),
                                               "towers/c": np.float32(3), "other": np.float32(4)})  # fmt: skip
    report = run_json(capsys, "rename", tmp_path / "m", tmp_path / "o", "--map", "tower=", "--map", "tower/x=y",
                      "--map", "towers=t")  # fmt: skip
    renamed = {r["from"]: r["to"] for r in report["renamed"]}
    assert renamed == {"tower/a": "a", "tower/x/b": "y/b", "towers/c": "t/c"}
    assert report["unchanged"] == ["other"]
    reader = tf.train.load_checkpoint(tmp_path / "o")
    assert reader.get_variable_to_dtype_map()["y/b"] == tf.int8


def test_mistakes_are_reported(tmp_path, capsys):
    status, _, err = run(capsys, "rename", FIXTURES / "mlp_adam", tmp_path / "o", "--map", "W=layer/W")
    assert status == 1 and "--map W=layer/W matches no key" in err and "closest scopes:" in err and "W1" in err
    status, _, err = run(capsys, "rename", FIXTURES / "mlp_adam", tmp_path / "o.npz", "--map", "W1=x")
    assert status == 2 and "checkpoint prefix" in err
    assert run(capsys, "rename", FIXTURES / "mlp_adam", tmp_path / "o")[0] == 2  # --map is required

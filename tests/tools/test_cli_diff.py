"""`nanotf diff`: keys only on one side, dtype/shape changes, value differences; exit 0 only if identical."""

import shutil

import numpy as np

import nanotf as tf
from nanotf.tools.cmd_diff import compare

from cli_helpers import FIXTURES, nanotf, run, run_json


def test_identical_checkpoints_exit_0(tmp_path):
    shutil.copytree(FIXTURES / "partitioned", tmp_path / "copy")
    proc = nanotf("diff", FIXTURES / "partitioned", tmp_path / "copy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-2:] == ["2 tensors identical", "same"]


def test_every_kind_of_difference(tmp_path, capsys):
    tf.train.write_checkpoint(tmp_path / "a", {
        "same": np.arange(4, dtype=np.float32), "w": np.array([1.0, 2.0, 3.0]), "cast": np.ones(3, np.float32),
        "grown": np.zeros(2), "gone": np.int32(1), "text": np.array([b"a", b"b"], dtype=object)})  # fmt: skip
    tf.train.write_checkpoint(tmp_path / "b", {
        "same": np.arange(4, dtype=np.float32), "w": np.array([1.0, 2.5, 3.25]), "cast": np.ones(3, np.float16),
        "grown": np.zeros(3), "new": np.int32(1), "text": np.array([b"a", b"c"], dtype=object)})  # fmt: skip
    report = run_json(capsys, "diff", tmp_path / "a", tmp_path / "b", status=1)
    assert (report["only_in_a"], report["only_in_b"], report["identical"]) == (["gone"], ["new"], ["same"])
    changed = {c["name"]: c for c in report["dtype_or_shape_changed"]}
    assert changed["cast"]["b"] == {"dtype": "float16", "shape": [3]} and changed["cast"]["max_abs_diff"] == 0.0
    assert changed["grown"]["a"]["shape"] == [2] and "max_abs_diff" not in changed["grown"]
    assert report["values_differ"] == [
        {"name": "text", "elements": 2, "differing": 1, "max_abs_diff": None},
        {"name": "w", "elements": 3, "differing": 2, "max_abs_diff": 0.5},
    ]
    status, out, _ = run(capsys, "diff", tmp_path / "a", tmp_path / "b", "--atol", "0.3")
    assert status == 1 and "w: max |a-b| 0.5, 1 of 3 elements differ" in out


def test_nan_in_the_same_places_is_equal():
    a = np.array([np.nan, 1.0, np.inf])
    assert compare(a, a.copy()) is None
    assert np.isnan(compare(a, np.array([0.0, 1.0, np.inf]))["max_abs_diff"])  # NaN against a number
    assert compare(a, np.array([np.nan, 1.5, np.inf]), atol=0.5) is None


def test_a_checkpoint_and_its_npz_conversion_are_the_same(tmp_path, capsys):
    assert run(capsys, "convert", FIXTURES / "mlp_adam", tmp_path / "m.npz")[0] == 0
    report = run_json(capsys, "diff", FIXTURES / "mlp_adam", tmp_path / "m.npz")
    assert report["same"] and len(report["identical"]) == 15

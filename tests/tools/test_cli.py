"""The dispatcher (exit codes, one-line errors, --debug, --json everywhere) and `nanotf inspect`."""

import json

import numpy as np
import pytest

import nanotf as tf
from nanotf.formats import dtypes
from nanotf.tools import cmd_inspect
from nanotf.tools.cli import COMMANDS

from cli_helpers import FIXTURES, nanotf, run, run_json


def test_inspect_lists_variables_with_partitioned_ones_whole():
    proc = nanotf("inspect", "--json", FIXTURES / "partitioned")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert listing["path"].endswith("model")
    assert {v["name"]: (v["dtype"], v["shape"], v["size"], v["slices"]) for v in listing["variables"]} == {
        "emb": ("float32", [10, 4], 40, 3),
        "w": ("float32", [2, 2], 4, 0),
    }
    assert (listing["total_elements"], listing["total_bytes"]) == (44, 176)


def test_inspect_tensor_statistics_and_the_index_file_note():
    proc = nanotf("inspect", FIXTURES / "seed_ref" / "my_test_model-1000.index", "--tensor", "bias", "--json")
    assert proc.returncode == 0, proc.stderr
    prefix = str(FIXTURES / "seed_ref" / "my_test_model-1000")
    assert proc.stderr == f"note: you passed the `.index` file; the prefix is `{prefix}`\n"
    shown = json.loads(proc.stdout)
    assert shown["shape"] == [] and shown["values"] == 2.0
    assert shown["stats"] == {"min": 2.0, "max": 2.0, "mean": 2.0, "std": 0.0, "nan": 0, "inf": 0}


def test_inspect_table_totals(capsys):
    expected = json.loads((FIXTURES / "seed_random" / "expected.json").read_text())
    tensors = next(iter(expected["checkpoints"].values()))["tensors"]
    total = sum(int(np.prod(t["shape"])) for t in tensors.values())
    status, out, _ = run(capsys, "inspect", FIXTURES / "seed_random")
    assert status == 0
    assert out.strip().splitlines()[-1] == f"{len(tensors)} variables, {total:,} elements, {total * 4} B"


def test_statistics_skip_nan_and_inf_and_count_them(tmp_path, capsys):
    value = np.array([[1.0, np.nan, 3.0], [np.inf, -np.inf, 5.0]], dtype=np.float32)
    tf.train.write_checkpoint(tmp_path / "m", {"x": value})
    shown = run_json(capsys, "inspect", tmp_path / "m", "--tensor", "x")
    assert shown["stats"] == {"min": 1.0, "max": 5.0, "mean": 3.0, "std": pytest.approx(np.std([1, 3, 5])),
                              "nan": 1, "inf": 2}  # fmt: skip
    assert shown["values"] == [[1.0, "nan", 3.0], ["inf", "-inf", 5.0]]


def test_tensor_printing_uses_numpy_print_options(tmp_path, capsys):
    tf.train.write_checkpoint(tmp_path / "m", {"big": np.arange(5000, dtype=np.float64) % 7 / 3})
    _, summary, _ = run(capsys, "inspect", tmp_path / "m", "--tensor", "big", "--precision", "2")
    _, full, _ = run(capsys, "inspect", tmp_path / "m", "--tensor", "big", "--full")
    assert "..." in summary and "0.33" in summary and "0.333" not in summary
    assert "..." not in full and "1.66666667" in full and len(full) > 5000


def test_unknown_tensor_names_the_closest(capsys):
    status, out, err = run(capsys, "inspect", FIXTURES / "mlp_adam", "--tensor", "W1/adam")
    assert status == 1 and out == ""
    assert err.startswith("nanotf inspect: NotFoundError: no tensor W1/adam") and "closest: W1/Adam" in err


def test_inspect_reads_npz_and_safetensors(tmp_path, capsys):
    np.savez(tmp_path / "a.npz", w=np.ones((2, 3), np.float32))
    listing = run_json(capsys, "inspect", tmp_path / "a.npz")
    assert listing["format"] == "npz" and listing["variables"][0]["shape"] == [2, 3]


def test_missing_checkpoint_is_a_one_line_data_error(tmp_path):
    proc = nanotf("inspect", tmp_path / "nothing")
    assert proc.returncode == 1
    assert proc.stderr.startswith("nanotf inspect: NotFoundError:") and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_debug_shows_the_traceback_too(tmp_path, capsys):
    status, _, err = run(capsys, "inspect", tmp_path / "nothing", "--debug")
    assert status == 1 and "Traceback" in err and err.strip().splitlines()[-1].startswith("nanotf inspect: NotFoundError")
    status, _, err = run(capsys, "--debug", "inspect", tmp_path / "nothing")
    assert status == 1 and "Traceback" in err


def test_usage_error_exits_2(capsys):
    status, _, err = run(capsys, "no-such-command")
    assert status == 2 and "invalid choice" in err


@pytest.mark.parametrize("command", [c.NAME for c in COMMANDS])
def test_every_command_has_help_and_json(command, capsys):
    status, out, _ = run(capsys, command, "--help")
    assert status == 0 and "--json" in out


def test_statistics_in_chunks_match_numpy(monkeypatch):
    monkeypatch.setattr(cmd_inspect, "STATS_CHUNK", 7)
    value = np.random.RandomState(0).randn(1000).astype(np.float32)
    value[[5, 9]] = np.nan, -np.inf
    finite = value[np.isfinite(value)].astype(np.float64)
    stats = cmd_inspect.tensor_stats(value, dtypes.BY_NAME["float32"])
    assert stats == {"min": finite.min(), "max": finite.max(), "mean": pytest.approx(finite.mean(), abs=1e-15),
                     "std": pytest.approx(finite.std(), rel=1e-13), "nan": 1, "inf": 1}  # fmt: skip

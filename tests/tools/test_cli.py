"""The nanotf command, run as users run it: in a subprocess, on TF-written fixtures."""

import json
import subprocess
import sys

import numpy as np

from conftest import FIXTURES


def nanotf(*args):
    return subprocess.run([sys.executable, "-m", "nanotf", *args], capture_output=True, text=True)


def test_inspect_lists_variables_with_partitioned_ones_whole():
    proc = nanotf("inspect", "--json", str(FIXTURES / "partitioned"))
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert listing["prefix"].endswith("model")
    assert {v["name"]: (v["dtype"], v["shape"], v["size"]) for v in listing["variables"]} == {
        "emb": ("float32", [10, 4], 40),
        "w": ("float32", [2, 2], 4),
    }


def test_inspect_tensor_statistics_and_the_index_file_note():
    proc = nanotf("inspect", str(FIXTURES / "seed_ref" / "my_test_model-1000.index"), "--tensor", "bias", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "pass the prefix" in proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["shape"] == [] and shown["stats"]["max"] == 2.0 and shown["stats"]["nan"] == 0


def test_inspect_table_totals():
    proc = nanotf("inspect", str(FIXTURES / "seed_random"))
    expected = json.loads((FIXTURES / "seed_random" / "expected.json").read_text())
    tensors = next(iter(expected["checkpoints"].values()))["tensors"]
    total = sum(int(np.prod(t["shape"])) for t in tensors.values())
    assert proc.returncode == 0
    assert proc.stdout.strip().splitlines()[-1] == f"{len(tensors)} variables, {total:,} elements"


def test_missing_checkpoint_is_a_one_line_data_error(tmp_path):
    proc = nanotf("inspect", str(tmp_path / "nothing"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("nanotf inspect: NotFoundError:") and "Traceback" not in proc.stderr


def test_usage_error_exits_2():
    assert nanotf("no-such-command").returncode == 2

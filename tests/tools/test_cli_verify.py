"""`nanotf verify`: every CRC and structure, every problem reported with its file and offset."""

import json
import shutil

import numpy as np
import pytest

import nanotf as tf

from cli_helpers import FIXTURES, nanotf, run, run_json


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["seed_ref", "seed_resource", "mlp_adam", "partitioned", "sharded", "v1",
                                  "dtypes", "multiblock/model"])  # fmt: skip
def test_tensorflow_written_checkpoints_verify(name, capsys):
    report = run_json(capsys, "verify", FIXTURES / name)
    assert report["ok"] and report["problems"] == [] and report["warnings"] == []
    assert report["tensors"] > 0


def test_all_problems_are_collected_with_file_and_offset(tmp_path):
    ckpt = tmp_path / "sharded"
    shutil.copytree(FIXTURES / "sharded", ckpt)
    _flip(ckpt / "model.data-00000-of-00002", 0)  # tensor 'a'
    _flip(ckpt / "model.data-00000-of-00002", 100)  # a slice of 'emb'
    (ckpt / "model.data-00001-of-00002").write_bytes((ckpt / "model.data-00001-of-00002").read_bytes() + b"xx")
    (ckpt / "model.meta").write_bytes(b"\xff\xff not a meta graph")
    (ckpt / "checkpoint").write_text('model_checkpoint_path: "gone"\n')
    proc = nanotf("verify", ckpt, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    data0 = str(ckpt / "model.data-00000-of-00002")
    problems = {(p["file"], p["offset"], p["message"]) for p in report["problems"]}
    assert problems == {
        (data0, 0, "tensor 'a': checksum mismatch in the 12 data bytes at offset 0"),
        (data0, 76, "tensor 'emb' slice 7,3:0,4: checksum mismatch in the 48 data bytes at offset 76"),
        (str(ckpt / "model.meta"), None, "not a valid MetaGraphDef (binary or text)"),
        (str(ckpt / "checkpoint"), None, "model_checkpoint_path 'gone' names no existing checkpoint"),
    }
    assert [w["message"] for w in report["warnings"]] == ["2 bytes at offset 88, after the last tensor"]


def test_a_corrupted_index_block_and_a_missing_shard(tmp_path, capsys):
    for name in ("model-3.index", "model-3.data-00000-of-00001"):
        shutil.copy(FIXTURES / "mlp_adam" / name, tmp_path / name)
    _flip(tmp_path / "model-3.index", 20)
    status, out, _ = run(capsys, "verify", tmp_path / "model-3")
    assert status == 1
    assert f"problem: {tmp_path / 'model-3.index'}: data block 0 at offset 0: block checksum mismatch" in out
    shutil.copy(FIXTURES / "mlp_adam" / "model-3.index", tmp_path / "model-3.index")
    (tmp_path / "model-3.data-00000-of-00001").unlink()
    report = run_json(capsys, "verify", tmp_path / "model-3", status=1)
    assert [p["message"] for p in report["problems"]] == ["data file 0 of 1 is missing"]


def test_truncated_data_and_a_meta_asking_for_missing_keys(tmp_path, capsys):
    tf.train.write_checkpoint(tmp_path / "m", {"other": np.zeros(8, np.float32)})
    shutil.copy(FIXTURES / "seed_ref" / "my_test_model-1000.meta", tmp_path / "m.meta")
    data = tmp_path / "m.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:20])
    report = run_json(capsys, "verify", tmp_path / "m", status=1)
    messages = [p["message"] for p in report["problems"]]
    assert messages[0].startswith("tensor 'other': entry bytes [0, 32) run past the end of the 20-byte data file")
    assert messages[1] == "its restore op asks for 1 key(s) the checkpoint lacks: bias"

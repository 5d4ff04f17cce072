"""Resolving the latest checkpoint robustly: moved directories, lost state files, scanning."""

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from nanotf.train import (
    CheckpointRelocatedWarning,
    CheckpointStateWarning,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
    write_checkpoint,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _save(directory: Path, name: str, value: float = 1.0, write_state: bool = True) -> str:
    prefix = str(directory / name)
    write_checkpoint(prefix, {"w": np.full([3], value, dtype=np.float32)}, write_state=write_state)
    return prefix


def _set_mtime(prefix: str, seconds: float) -> None:
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        os.utime(path, (seconds, seconds))


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_normal_cases_keep_tensorflows_answers_without_warnings(tmp_path, no_warnings):
    assert latest_checkpoint(str(tmp_path)) is None  # a fresh directory: nothing to say
    assert latest_checkpoint(str(tmp_path / "missing")) is None
    _save(tmp_path, "m-1")
    prefix = _save(tmp_path, "m-2")
    assert latest_checkpoint(str(tmp_path)) == prefix
    assert get_checkpoint_state(str(tmp_path)).model_checkpoint_path == prefix


def test_moved_directory_resolves_to_the_checkpoints_beside_the_state_file(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _save(old, "m-1")
    _save(old, "m-2")
    assert str(old) in (old / "checkpoint").read_text()  # absolute paths, as TensorFlow writes for an absolute dir
    shutil.move(old, new)
    with pytest.warns(CheckpointRelocatedWarning, match="moved or copied"):
        assert latest_checkpoint(str(new)) == str(new / "m-2")
    with pytest.warns(CheckpointRelocatedWarning):
        state = get_checkpoint_state(str(new))
    assert list(state.all_model_checkpoint_paths) == [str(new / "m-1"), str(new / "m-2")]


def test_missing_or_unreadable_state_file_warns_and_scan_finds_the_newest(tmp_path):
    _save(tmp_path, "m-1")
    newest = _save(tmp_path, "m-2")
    for damage in (lambda p: p.unlink(), lambda p: p.write_bytes(b"\xff\xfe garbage {")):
        state = tmp_path / "checkpoint"
        if not state.exists():
            update_checkpoint_state(str(tmp_path), newest)
        damage(state)
        with pytest.warns(CheckpointStateWarning) as caught:
            assert latest_checkpoint(str(tmp_path)) is None
        assert any("newest complete one is" in str(w.message) and "m-2" in str(w.message) for w in caught)
        assert latest_checkpoint(str(tmp_path), scan=True) == newest


def test_dangling_state_file_warns(tmp_path):
    _save(tmp_path, "m-1")
    update_checkpoint_state(str(tmp_path), str(tmp_path / "gone-7"))
    with pytest.warns(CheckpointStateWarning, match="gone-7, whose files do not exist.*m-1"):
        assert latest_checkpoint(str(tmp_path)) is None


def test_scan_skips_incomplete_checkpoints(tmp_path, no_warnings):
    complete = _save(tmp_path, "m-10", write_state=False)
    truncated = _save(tmp_path, "m-20", write_state=False)
    no_data = _save(tmp_path, "m-30", write_state=False)
    bad_index = _save(tmp_path, "m-40", write_state=False)
    data = Path(truncated + ".data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:-1])
    os.remove(no_data + ".data-00000-of-00001")
    index = Path(bad_index + ".index")
    index.write_bytes(index.read_bytes()[:-9] + b"\x00" * 9)
    assert latest_checkpoint(str(tmp_path), scan=True) == complete


def test_scan_orders_by_step_within_a_name_and_by_time_across_names(tmp_path, no_warnings):
    for name, mtime in [("a-100", 1000), ("a-9", 2000), ("b-5", 3000), ("b-4", 3500)]:
        _set_mtime(_save(tmp_path, name, write_state=False), mtime)
    # b is the newer run (its newest file); within it, the highest step wins even if older on disk.
    assert latest_checkpoint(str(tmp_path), scan=True) == str(tmp_path / "b-5")


def test_scan_finds_v1_checkpoints_and_ignores_other_files(tmp_path, no_warnings):
    shutil.copy(FIXTURES / "v1" / "model", tmp_path / "model")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / "model.meta").write_bytes(b"")
    assert latest_checkpoint(str(tmp_path), scan=True) == str(tmp_path / "model")
    # Sharded V1 files are found as the pattern Saver.save returns, only when every shard is there.
    for shard in range(2):
        shutil.copy(FIXTURES / "v1" / "model", tmp_path / f"m-7-0000{shard}-of-00002")
    assert latest_checkpoint(str(tmp_path), scan=True) == str(tmp_path / "m-7-?????-of-00002")
    os.remove(tmp_path / "m-7-00001-of-00002")
    assert latest_checkpoint(str(tmp_path), scan=True) == str(tmp_path / "model")

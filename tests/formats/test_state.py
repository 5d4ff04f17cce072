import os

import pytest

from nanotf.formats.state import format_state, parse_state
from nanotf.train import (
    checkpoint_exists,
    generate_checkpoint_state_proto,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)

from fixture_io import FIXTURES


def test_exact_text_and_round_trip():
    text = (FIXTURES / "seed_ref" / "checkpoint").read_text()
    state = parse_state(text)
    assert format_state(state) == text
    state = generate_checkpoint_state_proto("", "m-2", ["m-1"], [1700000000.5, 1700000001.0])
    assert format_state(state) == (
        'model_checkpoint_path: "m-2"\nall_model_checkpoint_paths: "m-1"\nall_model_checkpoint_paths: "m-2"\n'
        "all_model_checkpoint_timestamps: 1700000000.5\nall_model_checkpoint_timestamps: 1700000001.0\n"
    )


def test_relative_save_dir_rewrites_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkdir("run")
    update_checkpoint_state("run", "run/model-2", ["run/model-1"])
    assert (tmp_path / "run" / "checkpoint").read_text() == (
        'model_checkpoint_path: "model-2"\nall_model_checkpoint_paths: "model-1"\n'
        'all_model_checkpoint_paths: "model-2"\n'
    )
    state = get_checkpoint_state("run")
    assert state.model_checkpoint_path == os.path.join("run", "model-2")
    assert list(state.all_model_checkpoint_paths) == [os.path.join("run", "model-1"), os.path.join("run", "model-2")]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["checkpoint"]  # no temp file left


def test_absolute_save_dir_keeps_paths(tmp_path):
    prefix = str(tmp_path / "model-1")
    update_checkpoint_state(str(tmp_path), prefix, latest_filename="state")
    assert (tmp_path / "state").read_text() == f'model_checkpoint_path: "{prefix}"\nall_model_checkpoint_paths: "{prefix}"\n'
    update_checkpoint_state(str(tmp_path), prefix, save_relative_paths=True)
    assert (tmp_path / "checkpoint").read_text().startswith('model_checkpoint_path: "model-1"\n')


def test_latest_checkpoint_needs_files(tmp_path):
    update_checkpoint_state(str(tmp_path), str(tmp_path / "m"))
    assert latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "m.index").write_bytes(b"")
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / "m")
    assert checkpoint_exists(str(tmp_path / "m")) and not checkpoint_exists(str(tmp_path / "x"))
    assert latest_checkpoint(str(FIXTURES / "v1")) == str(FIXTURES / "v1" / "model")


def test_bad_state_files(tmp_path):
    assert get_checkpoint_state(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: \n")
    assert get_checkpoint_state(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "a"\n')
    with pytest.raises(ValueError):
        get_checkpoint_state(str(tmp_path))
    with pytest.raises(RuntimeError, match="conflicts"):
        update_checkpoint_state(str(tmp_path), str(tmp_path / "checkpoint"))

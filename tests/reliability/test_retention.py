"""Retention you can trust: the Saver deletes only checkpoints this process wrote, nothing a state file names.

TensorFlow's own max_to_keep / keep_checkpoint_every_n_hours rules are
tested in tests/train/test_saver.py; these tests add hostile inputs.
Checkpoints "of an earlier run" are made by copying TensorFlow's fixture
files, so this process did not write them.
"""

import logging
import os
import shutil
from pathlib import Path

import numpy as np

import nanotf as tf
from nanotf.train import get_checkpoint_state, latest_checkpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED_FILES = ["my_test_model-1000.index", "my_test_model-1000.data-00000-of-00001", "my_test_model-1000.meta"]


def _copy_seed_checkpoint(directory: Path, name: str) -> dict[str, bytes]:
    """A TF-written checkpoint ``<directory>/<name>`` this process did not write; returns its files' bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for source in SEED_FILES:
        target = directory / source.replace("my_test_model-1000", name)
        shutil.copy(FIXTURES / "seed_ref" / source, target)
        files[str(target)] = target.read_bytes()
    return files


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_hostile_state_file_cannot_make_the_saver_delete_or_write_elsewhere(tmp_path, caplog):
    ckpt_dir, outside = tmp_path / "run", tmp_path / "outside"
    _copy_seed_checkpoint(outside, "victim")
    _copy_seed_checkpoint(tmp_path / "elsewhere", "victim")
    earlier = _copy_seed_checkpoint(ckpt_dir, "old-1")
    before_outside = {**_tree(outside), **_tree(tmp_path / "elsewhere")}
    (ckpt_dir / "checkpoint").write_text(
        f'model_checkpoint_path: "{ckpt_dir}/old-1"\n'
        f'all_model_checkpoint_paths: "../outside/victim"\n'
        f'all_model_checkpoint_paths: "{tmp_path}/elsewhere/victim"\n'
        f'all_model_checkpoint_paths: "../../../../../../..{outside}/victim"\n'
        f'all_model_checkpoint_paths: "old-1"\n'
    )
    with tf.Graph().as_default():
        tf.Variable(np.arange(3, dtype=np.float32), name="v")
        saver = tf.train.Saver(max_to_keep=2)
        state = get_checkpoint_state(str(ckpt_dir))
        saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        assert len(saver.last_checkpoints) == 4  # all of them exist: adopted, as TensorFlow does
        saver.set_last_checkpoints_with_time([(p, 0.0) for p in state.all_model_checkpoint_paths])
        with tf.Session() as sess, caplog.at_level(logging.WARNING, logger="nanotf"):
            sess.run(tf.global_variables_initializer())
            for step in range(1, 9):
                saver.save(sess, str(ckpt_dir / "model"), global_step=step)
    assert {**_tree(outside), **_tree(tmp_path / "elsewhere")} == before_outside
    assert all(Path(p).read_bytes() == data for p, data in earlier.items())  # an earlier run's: kept
    assert "Not deleting checkpoint" in caplog.text
    # The Saver's own are pruned as TensorFlow prunes: one queued checkpoint per save, oldest first,
    # so the four adopted ones used up four saves' turns (and were kept).
    ours = sorted(p.name for p in ckpt_dir.glob("model-*.index"))
    assert ours == ["model-5.index", "model-6.index", "model-7.index", "model-8.index"]
    assert latest_checkpoint(str(ckpt_dir)) == str(ckpt_dir / "model-8")


def test_a_file_replaced_since_it_was_written_keeps_its_checkpoint(tmp_path):
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        saver = tf.train.Saver(max_to_keep=1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.save(sess, str(tmp_path / "m"), global_step=1)
            # Another process rewrites m-1's data file (a new inode) before the Saver prunes it.
            data = tmp_path / "m-1.data-00000-of-00001"
            replacement = data.read_bytes()
            data.unlink()
            data.write_bytes(replacement)
            os.utime(data, ns=(10**18, 10**18))  # written at another time (the inode number may be reused)
            saver.save(sess, str(tmp_path / "m"), global_step=2)
            saver.save(sess, str(tmp_path / "m"), global_step=3)
    assert sorted(p.name for p in tmp_path.glob("m-*.index")) == ["m-1.index", "m-3.index"]
    assert (tmp_path / "m-1.meta").exists()  # kept whole, not half-deleted


def test_saver_never_deletes_another_savers_checkpoints_in_the_same_directory(tmp_path):
    first_run = _copy_seed_checkpoint(tmp_path, "m-1")  # same name pattern, earlier run
    with tf.Graph().as_default():
        tf.Variable(1.0, name="v")
        saver = tf.train.Saver(max_to_keep=1)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.recover_last_checkpoints([str(tmp_path / "m-1")])
            for step in (2, 3, 4):
                saver.save(sess, str(tmp_path / "m"), global_step=step)
    assert all(Path(p).read_bytes() == data for p, data in first_run.items())
    assert sorted(p.name for p in tmp_path.glob("m-*.index")) == ["m-1.index", "m-4.index"]
    assert not os.path.exists(tmp_path / "m-2.index")

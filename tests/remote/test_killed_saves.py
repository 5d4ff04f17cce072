"""SIGKILL in the middle of a save, blocking or asynchronous, to S3, to GCS or to a local directory.

The child (save_child.py) saves model-1, then dies while model-2's bundle is
being written (parts of its data file already uploaded). Afterwards the
state file still names model-1, which restores whole, and no object or file
of model-2 is visible under its final name. Nothing here waits on a clock:
the parent reads the child's progress lines, with a bounded timeout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import fsspec
import numpy as np
import pytest

import nanotf as tf
from nanotf.formats.atomic import TEMP_MARK

from save_child import values

CHILD = Path(__file__).with_name("save_child.py")
TIMEOUT = 120


def _run_until(directory: str, mode: str, wanted: set[str]) -> list[str]:
    """Start the child, read its lines until every prefix in ``wanted`` was seen, SIGKILL it."""
    proc = subprocess.Popen([sys.executable, str(CHILD), directory, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            seen.append(line.strip())
            if all(any(s.startswith(w) for s in seen) for w in wanted):
                done.set()
                return
        done.set()

    threading.Thread(target=read, daemon=True).start()
    finished = done.wait(TIMEOUT)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(TIMEOUT)
    stderr = proc.stderr.read()
    assert finished and alive, f"child did not reach {wanted} (saw {seen}); stderr:\n{stderr[-3000:]}"
    return seen


def _listing(directory: str) -> list[str]:
    fs, path = fsspec.core.url_to_fs(directory)
    fs.invalidate_cache()
    return sorted(p.rsplit("/", 1)[-1] for p in fs.find(path))


@pytest.mark.parametrize("store,mode", [("s3", "blocking"), ("s3", "async"), ("gcs", "blocking"), ("local", "async")])
def test_killed_save_leaves_the_previous_checkpoint_latest_and_whole(store, mode, request, tmp_path):
    directory = request.getfixturevalue(f"{store}_dir") if store != "local" else str(tmp_path)
    seen = _run_until(directory, mode, {"MID", "TRAINED"} if mode == "async" else {"MID"})
    if mode == "async":
        # The training loop ran on while the save was stuck in the middle of the bundle.
        assert f"TRAINED {2 + 3}" in seen
    assert tf.train.latest_checkpoint(directory) == f"{directory}/model-1"
    reader = tf.train.load_checkpoint(directory)
    for name, want in values(1).items():
        assert np.array_equal(reader.get_tensor(name), want), name
    names = _listing(directory)
    assert [n for n in names if n.startswith("model-1.")] == [
        "model-1.data-00000-of-00001", "model-1.index", "model-1.meta"]
    # Under its final names model-2 does not exist; locally, what a kill leaves is a temp file.
    assert not [n for n in names if n.startswith("model-2.") and TEMP_MARK not in n], names
    if store == "s3":
        import s3fs

        bucket = directory.split("/")[2]
        uploads = s3fs.S3FileSystem().list_multipart_uploads(bucket)
        # The data file was being uploaded in parts: the kill left an incomplete, invisible upload.
        assert any(u["Key"].endswith("model-2.data-00000-of-00001") for u in uploads)
    elif store == "gcs":
        # Likewise a resumable upload that was never finalized.
        unfinished = request.getfixturevalue("gcs_unfinished_uploads")()
        assert any(n.endswith("model-2.data-00000-of-00001") for n in unfinished), unfinished
    else:
        with tf.Graph().as_default():
            tf.Variable(1.0, name="v")
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                tf.train.Saver().save(sess, f"{directory}/model", global_step=3)
        assert not [n for n in _listing(directory) if TEMP_MARK in n]  # the next save removed the dead one's

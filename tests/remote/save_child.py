"""A training process that is killed in the middle of a save (driven by test_killed_saves.py).

    python save_child.py DIR blocking|async

Saves ``DIR/model-1`` normally, trains a step, then starts saving
``DIR/model-2`` with the bundle writer stopped after its first tensor
(which spans several upload parts in an object store): it prints ``MID``
and waits forever there. With ``async`` the save runs on the background
thread, so the training loop goes on meanwhile and prints ``TRAINED <n>``.
The parent kills the process with SIGKILL once it has seen those lines.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

import nanotf as tf
from nanotf.formats import bundle_writer, storage

BIG = 3 << 20  # float32 elements of "a": 12 MiB, more than two upload parts


def values(step: int) -> dict[str, np.ndarray]:
    """What the variables hold after ``step`` training steps."""
    return {"a": np.full(BIG, step, np.float32), "b": np.arange(4, dtype=np.int64) + step}


def _stop_after_first_tensor() -> None:
    original = bundle_writer.BundleWriter._add_entry

    def add_entry(self, *args, **kwargs):
        original(self, *args, **kwargs)
        print("MID", flush=True)
        threading.Event().wait()

    bundle_writer.BundleWriter._add_entry = add_entry


def main(directory: str, mode: str) -> None:
    storage.UPLOAD_PART = 5 << 20  # S3's smallest part, a multiple of GCS's 256 KiB: parts go up before the kill
    a = tf.Variable(values(0)["a"], name="a")
    b = tf.Variable(values(0)["b"], name="b")
    train = tf.group(a.assign_add(tf.ones(BIG)), b.assign_add(tf.ones(4, tf.int64)))
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        saver.save(sess, f"{directory}/model", global_step=1)
        sess.run(train)
        _stop_after_first_tensor()
        saver.save(sess, f"{directory}/model", global_step=2, blocking=mode == "blocking")
        for step in range(3):
            sess.run(train)
        print(f"TRAINED {sess.run(b)[0]}", flush=True)
        saver.wait()


if __name__ == "__main__":
    main(*sys.argv[1:])

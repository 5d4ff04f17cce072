"""Live tier: a checkpoint nanotf saved to S3 restores in nanotf and, copied to a local directory, in TensorFlow.

TensorFlow 2.21 has no S3 filesystem of its own any more, so it reads the
objects after a plain copy: the bytes in the store are a checkpoint as is.
"""

from __future__ import annotations

import fsspec
import numpy as np
import pytest

import nanotf as tf

W = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
STEP = 42

TF_RESTORE = """
import json
import numpy as np
saver = tf.train.import_meta_graph("model-{step}.meta")
with tf.Session() as sess:
    saver.restore(sess, tf.train.latest_checkpoint("."))
    graph = tf.get_default_graph()
    w = sess.run(graph.get_tensor_by_name("w:0"))
    y = sess.run(graph.get_tensor_by_name("y:0"), {{"x:0": np.ones((2, 3), np.float32)}})
print(json.dumps({{"w": w.tolist(), "y": y.tolist(), "latest": tf.train.latest_checkpoint(".")}}))
"""


def _build():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(W, name="w")
    step = tf.Variable(np.int64(STEP), name="global_step")
    tf.matmul(x, w, name="y")
    return w, step


@pytest.mark.parametrize("version", ["V2", "V1"])
def test_checkpoint_saved_to_s3_restores_in_nanotf_and_tensorflow(s3_dir, tf_runner, tmp_path, version):
    with tf.Graph().as_default():
        w, step = _build()
        saver = tf.train.Saver(write_version=getattr(tf.train.SaverDef, version))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            # V2 in the background, as a training loop would; a V1 Saver saves only through its graph ops.
            saver.save(sess, f"{s3_dir}/model", global_step=STEP, blocking=version == "V1")
            saver.wait()
    with tf.Graph().as_default():
        restored = tf.train.import_meta_graph(f"{s3_dir}/model-{STEP}.meta")
        with tf.Session() as sess:
            restored.restore(sess, tf.train.latest_checkpoint(s3_dir))
            assert np.array_equal(sess.run("w:0"), W)
    fs, path = fsspec.core.url_to_fs(s3_dir)
    fs.get(f"{path}/", str(tmp_path), recursive=True)
    got = tf_runner.run_json(TF_RESTORE.format(step=STEP), cwd=tmp_path)
    assert np.array_equal(np.asarray(got["w"], np.float32), W)
    assert np.allclose(got["y"], np.ones((2, 3), np.float32) @ W)
    assert got["latest"].endswith(f"model-{STEP}")

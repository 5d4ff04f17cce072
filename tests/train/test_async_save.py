"""Saver.save(blocking=False) and the save plan behind it: snapshot, same files, errors on the next call."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.train.save_plan import SavePlan


def _model(sharded_devices: bool = False):
    with tf.device("/cpu:0" if sharded_devices else None):
        w = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="w")
        tf.Variable(np.array([b"a", b"bc"], dtype=object), name="words")
    with tf.device("/cpu:1" if sharded_devices else None):
        emb = tf.get_variable("emb", [6, 2], initializer=tf.ones_initializer(), partitioner=tf.fixed_size_partitioner(2))
        step = tf.Variable(np.int64(0), name="step")
    train = tf.group(w.assign_add(tf.ones((3, 4))), step.assign_add(1))
    return w, emb, step, train


def _files(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir()) if p.is_file()}


@pytest.mark.parametrize("resource", [False, True])
def test_async_save_writes_the_files_of_a_blocking_save(tmp_path, resource):
    (tf.enable_resource_variables if resource else tf.disable_resource_variables)()
    w, emb, step, train = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, str(tmp_path / "a" / "model"), global_step=1) == str(tmp_path / "a" / "model-1")
        path = saver.save(sess, str(tmp_path / "b" / "model"), global_step=1, blocking=False)
        assert path == str(tmp_path / "b" / "model-1")
        assert saver.wait() == path
        assert saver.wait() is None  # nothing in flight any more
    blocking, background = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert blocking.keys() == background.keys() == {"checkpoint", "model-1.data-00000-of-00001", "model-1.index",
                                                    "model-1.meta"}
    for name in ("model-1.data-00000-of-00001", "model-1.index", "model-1.meta"):
        assert blocking[name] == background[name], name
    tf.disable_resource_variables()


def test_the_snapshot_is_the_values_at_the_call_whatever_training_does_next(tmp_path):
    w, emb, step, train = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        expected = sess.run(w)
        prefix = saver.save(sess, str(tmp_path / "model"), global_step=1, blocking=False)
        for _ in range(3):
            sess.run(train)  # runs while the background thread may be writing
        sess.run(w.assign(np.full((3, 4), -1.0, np.float32)))
        saver.wait()
    reader = tf.train.load_checkpoint(prefix)
    assert np.array_equal(reader.get_tensor("w"), expected)
    assert reader.get_tensor("step") == 1


def test_a_failed_async_save_is_raised_by_the_next_call_with_its_type_and_path(tmp_path):
    w, emb, step, train = _model()
    saver = tf.train.Saver()
    (tmp_path / "file").write_text("not a directory")
    bad = str(tmp_path / "file" / "sub" / "model")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, bad, blocking=False) == bad  # returns before writing anything
        with pytest.raises(errors.OpError, match=f"asynchronous save to {bad} failed") as caught:
            saver.save(sess, str(tmp_path / "good" / "model"), global_step=1)
        assert type(caught.value) in (errors.NotFoundError, errors.FailedPreconditionError)
        saver.save(sess, str(tmp_path / "good" / "model"), global_step=1, blocking=False)
        saver.restore(sess, str(tmp_path / "good" / "model-1"))  # waits for the save first
    assert tf.train.latest_checkpoint(str(tmp_path / "good")) == str(tmp_path / "good" / "model-1")


def test_async_saves_keep_max_to_keep_and_the_state_file(tmp_path):
    w, emb, step, train = _model()
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(1, 5):
            sess.run(train)
            saver.save(sess, str(tmp_path / "model"), global_step=i, blocking=False)
        saver.wait()
    assert saver.last_checkpoints == [str(tmp_path / "model-3"), str(tmp_path / "model-4")]
    assert sorted(p.name for p in tmp_path.glob("*.index")) == ["model-3.index", "model-4.index"]
    assert tf.train.load_checkpoint(str(tmp_path)).get_tensor("step") == 4


def test_sharded_saver_plan_writes_the_bytes_the_graph_writes(tmp_path):
    w, emb, step, train = _model(sharded_devices=True)
    saver = tf.train.Saver(sharded=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        plan = SavePlan.build(sess.graph, saver.saver_def)
        assert plan.shards == 2 and plan.merge is not None
        for name in ("plan", "graph", "async"):
            os.makedirs(tmp_path / name)  # a sharded save needs its directory (as in TensorFlow)
        saver.save(sess, str(tmp_path / "plan" / "model"))  # the plan: the shards, then the merge
        sess.run(saver.saver_def.save_tensor_name, {saver.saver_def.filename_tensor_name: str(tmp_path / "graph" / "model")})
        async_path = saver.save(sess, str(tmp_path / "async" / "model"), blocking=False)
        saver.wait()
    by_plan, by_graph, by_async = _files(tmp_path / "plan"), _files(tmp_path / "graph"), _files(tmp_path / "async")
    bundle_files = ["model.data-00000-of-00002", "model.data-00001-of-00002", "model.index"]
    assert sorted(by_graph) == bundle_files
    for name in bundle_files:
        assert by_plan[name] == by_graph[name] == by_async[name], name
    assert tf.train.load_checkpoint(async_path).get_tensor("emb").shape == (6, 2)


def test_v1_saver_refuses_blocking_false(tmp_path):
    _model()
    saver = tf.train.Saver(write_version=tf.train.SaverDef.V1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(ValueError, match=r"blocking=False\) needs a V2 Saver"):
            saver.save(sess, str(tmp_path / "model"), blocking=False)

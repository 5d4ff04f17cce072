"""tf.train.Saver: the save/ subgraph TF builds, the files TF writes, retention, restore errors."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.train import saver as saver_lib

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EMB = np.arange(40, dtype=np.float32).reshape(10, 4)


def emb_initializer(shape, dtype=tf.float32, partition_info=None):
    offset = partition_info.var_offset if partition_info else [0, 0]
    return tf.constant(EMB[offset[0]:offset[0] + shape[0], offset[1]:offset[1] + shape[1]], dtype=dtype)


def build_seed_model():
    w1 = tf.placeholder("float", name="w1")
    w2 = tf.placeholder("float", name="w2")
    b1 = tf.Variable(2.0, name="bias")
    return w1, w2, tf.multiply(tf.add(w1, w2), b1, name="op_to_restore")


def save_like_fixture(build, prefix, global_step=None, **saver_kwargs):
    """What tests/fixtures/generate.py's run_saver does: build, Saver, init, save."""
    build()
    saver = tf.train.Saver(**saver_kwargs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return saver.save(sess, prefix, global_step=global_step)


def assert_same_files(fixture: str, directory="."):
    expected = sorted(p.name for p in (FIXTURES / fixture).iterdir() if p.name != "expected.json")
    ours = sorted(os.listdir(directory))
    for name in expected:
        if name in ours:
            assert Path(directory, name).read_bytes() == (FIXTURES / fixture / name).read_bytes(), name
    return expected, ours


# -- the files are TensorFlow's ----------------------------------------------------------
def test_seed_model_ref_variables_writes_tensorflows_files_byte_for_byte():
    assert save_like_fixture(build_seed_model, "my_test_model", global_step=1000) == "my_test_model-1000"
    expected, ours = assert_same_files("seed_ref")
    assert ours == expected


def test_seed_model_resource_variables_writes_tensorflows_files_byte_for_byte():
    tf.disable_eager_execution()
    save_like_fixture(build_seed_model, "my_test_model", global_step=1000)
    expected, ours = assert_same_files("seed_resource")
    assert ours == expected


def test_partitioned_variable_writes_tensorflows_files():
    def build():
        tf.get_variable("emb", [10, 4], initializer=emb_initializer, partitioner=tf.fixed_size_partitioner(3))
        tf.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), name="w")

    save_like_fixture(build, "model")
    expected, ours = assert_same_files("partitioned")
    assert set(ours) <= set(expected)
    assert "model.meta" in ours


def test_v1_write_version_writes_tensorflows_files():
    def build():
        tf.Variable(np.array([1.5, -2.0], np.float32), name="f32")
        tf.Variable(np.array([1, -2, 3], np.int32), name="i32")
        tf.Variable(np.array([np.e], np.float64), name="f64")
        tf.Variable(np.array([b"hello", b"", "w\u00f6rld".encode()], object), name="str")
        tf.Variable(np.array([True, False]), name="flag")
        tf.Variable(np.int64(-(2**40)), name="i64")
        tf.get_variable("emb", [10, 4], initializer=emb_initializer, partitioner=tf.fixed_size_partitioner(3))

    assert save_like_fixture(build, "model", write_version=tf.train.SaverDef.V1) == "model"
    expected, ours = assert_same_files("v1")
    assert ours == expected


def test_seed_random_variables_write_tensorflows_checkpoint():
    def build():
        tf.Variable(tf.random_normal(shape=[2], seed=1), name="w1")
        tf.Variable(tf.random_normal(shape=[5], seed=2), name="w2")

    save_like_fixture(build, "my_test_model")
    expected, ours = assert_same_files("seed_random")
    assert ours == expected


def test_sharded_save_merges_one_bundle_per_device():
    with tf.device("/cpu:0"):
        a = tf.Variable(np.array([1.0, 2.0, 3.0], np.float32), name="a")
    with tf.device("/cpu:1"):
        tf.Variable(np.array([[10, 20], [30, 40]], np.int64), name="b")
    saver = tf.train.Saver(sharded=True)
    assert saver.saver_def.save_tensor_name == "save/Identity:0" and saver.saver_def.sharded
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, "model") == "model"
        assert sorted(os.listdir(".")) == ["checkpoint", "model.data-00000-of-00002", "model.data-00001-of-00002",
                                           "model.index", "model.meta"]  # fmt: skip
        sess.run(a.assign([0.0, 0.0, 0.0]))
        saver.restore(sess, "model")
        assert sess.run(a).tolist() == [1.0, 2.0, 3.0]
    assert tf.train.load_variable("model", "b").tolist() == [[10, 20], [30, 40]]


# -- the graph ----------------------------------------------------------------------------
def test_saver_builds_tensorflows_ops_and_second_saver_uses_save_1(fresh_graph):
    build_seed_model()
    tf.train.Saver()
    tf.train.Saver(max_to_keep=None)
    names = [op.name for op in fresh_graph.get_operations() if op.name.startswith("save")]
    assert names[:12] == ["save/filename/input", "save/filename", "save/Const", "save/SaveV2/tensor_names",
                          "save/SaveV2/shape_and_slices", "save/SaveV2", "save/control_dependency",
                          "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices", "save/RestoreV2",
                          "save/Assign", "save/restore_all"]  # fmt: skip
    assert names[12:] == [n.replace("save/", "save_1/") for n in names[:12]]
    assert fresh_graph.get_operation_by_name("save/RestoreV2").device == "/device:CPU:0"


def test_saver_def_fields(fresh_graph):
    build_seed_model()
    saver = tf.train.Saver(max_to_keep=None, keep_checkpoint_every_n_hours=2.5)
    d = saver.as_saver_def()
    assert (d.filename_tensor_name, d.save_tensor_name, d.restore_op_name) == (
        "save/Const:0", "save/control_dependency:0", "save/restore_all")
    assert (d.max_to_keep, d.keep_checkpoint_every_n_hours, d.version) == (0, 2.5, tf.train.SaverDef.V2)
    assert saver.to_proto() is d
    assert saver.to_proto(export_scope="other") is None


def test_list_and_dict_var_lists_and_their_errors():
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="scope/b")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver([b, a]).save(sess, "listed", write_meta_graph=False)
        tf.train.Saver({"renamed": a}).save(sess, "dict", write_meta_graph=False)
    assert tf.train.list_variables("listed") == [("a", []), ("scope/b", [])]
    assert tf.train.list_variables("dict") == [("renamed", [])]
    with pytest.raises(ValueError, match="two variables have the same name"):
        tf.train.Saver([a, a])
    with pytest.raises(TypeError):
        tf.train.Saver(a)


def test_empty_var_list_needs_allow_empty():
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver()
    saver = tf.train.Saver(allow_empty=True)
    with tf.Session() as sess:
        assert saver.save(sess, "nothing") is None
        saver.restore(sess, "nothing")


def test_defer_build():
    with pytest.raises(ValueError, match="cannot be deferred"):
        tf.train.Saver([tf.Variable(1.0)], defer_build=True)
    saver = tf.train.Saver(defer_build=True)
    with tf.Session() as sess, pytest.raises(RuntimeError, match="build"):
        saver.save(sess, "x")
    saver.build()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, "x") == "x"


# -- save / restore -------------------------------------------------------------------------
def test_restore_round_trip_and_global_step_forms():
    v = tf.Variable(3.0, name="v")
    step = tf.Variable(7, name="step", dtype=tf.int64)
    saver = tf.train.Saver(pad_step_number=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, "m", global_step=step) == "m-00000007"
        assert saver.save(sess, "m", global_step="step:0") == "m-00000007"
        sess.run(v.assign(0.0))
        saver.restore(sess, "m-00000007")
        assert sess.run(v) == 3.0


def test_restore_errors_are_tensorflows():
    v = tf.Variable(1.0, name="v")
    saver = tf.train.Saver()
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="not a valid checkpoint: nope"):
            saver.restore(sess, "nope")
        with pytest.raises(ValueError, match="None"):
            saver.restore(sess, None)
        tf.train.write_checkpoint("other", {"w": np.float32(1)}, write_state=False)
        with pytest.raises(errors.NotFoundError, match="graph key that is missing"):
            saver.restore(sess, "other")
        tf.train.write_checkpoint("double", {"v": np.float64(1)}, write_state=False)
        with pytest.raises(errors.InvalidArgumentError, match="mismatch between the current graph"):
            saver.restore(sess, "double")
    del v


def test_save_errors():
    tf.Variable(1.0)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(ValueError, match="path components"):
            saver.save(sess, "m", latest_filename="a/b")
        with pytest.raises(ValueError, match="collides"):
            saver.save(sess, "checkpoint")
        assert saver.save(sess, "one_new_dir/m") == "one_new_dir/m"  # TF creates one level
        with pytest.raises(ValueError, match="doesn't exist"):
            saver.save(sess, "a/b/m")
        with pytest.raises(TypeError):
            saver.save(object(), "m")


def test_reshape_restores_into_a_new_shape():
    v = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="v")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, "m")
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(6, np.float32), name="v")
        with tf.Session() as sess:
            tf.train.Saver(reshape=True).restore(sess, "m")
            assert sess.run(v).tolist() == [0, 1, 2, 3, 4, 5]


# -- retention ------------------------------------------------------------------------------
class Clock:
    def __init__(self, monkeypatch):
        self.now = 1_000_000.0
        monkeypatch.setattr(saver_lib.time, "time", lambda: self.now)


def saved_indexes():
    return sorted(f[: -len(".index")] for f in os.listdir(".") if f.endswith(".index"))


def test_max_to_keep_deletes_only_this_savers_oldest(monkeypatch):
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=2)
    other = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        other.save(sess, "other", global_step=0)
        for step in range(1, 5):
            saver.save(sess, "m", global_step=step)
    assert saved_indexes() == ["m-3", "m-4", "other-0"]
    assert not os.path.exists("m-1.meta") and not os.path.exists("m-2.data-00000-of-00001")
    assert saver.last_checkpoints == ["m-3", "m-4"]
    assert Path("checkpoint").read_text() == (
        'model_checkpoint_path: "m-4"\nall_model_checkpoint_paths: "m-3"\nall_model_checkpoint_paths: "m-4"\n')


def test_resaving_a_path_moves_it_to_the_end():
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in (1, 2, 1):
            saver.save(sess, "m", global_step=step)
    assert saver.last_checkpoints == ["m-2", "m-1"]


def test_max_to_keep_none_keeps_everything_and_lists_only_the_newest():
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=None)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, 4):
            saver.save(sess, "m", global_step=step)
    assert saved_indexes() == ["m-1", "m-2", "m-3"]
    assert saver.last_checkpoints == []
    assert Path("checkpoint").read_text() == 'model_checkpoint_path: "m-3"\nall_model_checkpoint_paths: "m-3"\n'


def test_keep_checkpoint_every_n_hours_spares_one_per_period(monkeypatch):
    clock = Clock(monkeypatch)
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=2, keep_checkpoint_every_n_hours=1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(1, 9):
            clock.now += 1200  # 20 minutes per save; the period ends at build time + 1 h (strictly after)
            saver.save(sess, "m", global_step=step)
    # m-4 (saved at 80 min) is the first dropped one past the first hour: kept, and the next
    # period ends at 2 h; m-6 (at exactly 2 h) is not past it.
    assert saved_indexes() == ["m-4", "m-7", "m-8"]
    assert saver.last_checkpoints == ["m-7", "m-8"]
    assert "m-4" not in Path("checkpoint").read_text()


def test_set_and_recover_last_checkpoints():
    tf.Variable(1.0)
    saver = tf.train.Saver(max_to_keep=1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, "a")
        saver.save(sess, "b", write_state=False)
        fresh = tf.train.Saver(max_to_keep=1)
        fresh.recover_last_checkpoints(["a", "b", "missing"])
        assert fresh.last_checkpoints == ["a", "b"]
        fresh.set_last_checkpoints(["a"])
        fresh.save(sess, "c")
        fresh.save(sess, "d")
    assert saved_indexes() == ["a", "b", "d"]  # "a" had infinite time: spared, "c" deleted
    with pytest.raises(TypeError):
        fresh.set_last_checkpoints("a")


def test_absolute_and_relative_paths_in_state_file(tmp_path):
    tf.Variable(1.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, str(tmp_path / "abs" / "m"))
        tf.train.Saver(save_relative_paths=True).save(sess, str(tmp_path / "rel" / "m"))
    assert (tmp_path / "abs" / "checkpoint").read_text().startswith(f'model_checkpoint_path: "{tmp_path}/abs/m"')
    assert (tmp_path / "rel" / "checkpoint").read_text().startswith('model_checkpoint_path: "m"')


# -- import_meta_graph + Saver --------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["seed_ref", "seed_resource"])
def test_tensorflow_seed_model_restores_and_runs(fixture, tmp_path):
    shutil.copytree(FIXTURES / fixture, tmp_path / fixture)
    with tf.Session() as sess:
        saver = tf.train.import_meta_graph(f"{fixture}/my_test_model-1000.meta")
        saver.restore(sess, tf.train.latest_checkpoint(fixture))
        op = tf.get_default_graph().get_tensor_by_name("op_to_restore:0")
        assert sess.run(op, {"w1:0": 4.0, "w2:0": 8.0}) == 24.0
        assert sess.run(op, {"w1:0": 13.0, "w2:0": 17.0}) == 60.0
        assert sess.run(tf.multiply(op, 2), {"w1:0": 13.0, "w2:0": 17.0}) == 120.0


def test_imported_saver_adds_no_ops_and_import_scope_prefixes_names(fresh_graph):
    tf.train.import_meta_graph(str(FIXTURES / "seed_ref/my_test_model-1000.meta"))
    before = len(fresh_graph.get_operations())
    saver = tf.train.import_meta_graph(str(FIXTURES / "seed_ref/my_test_model-1000.meta"), import_scope="imp")
    assert saver.saver_def.filename_tensor_name == "imp/save/Const:0"
    assert saver.saver_def.restore_op_name == "imp/save/restore_all"
    assert len(fresh_graph.get_operations()) == 2 * before
    with tf.Session() as sess:
        saver.restore(sess, str(FIXTURES / "seed_ref/my_test_model-1000"))
        assert sess.run("imp/op_to_restore:0", {"imp/w1:0": 1.0, "imp/w2:0": 1.0}) == 4.0


def test_restore_v2_reads_any_slice_of_v1_and_partitioned_checkpoints():
    from nanotf.framework.op_def_library import apply_op

    for prefix in ("partitioned/model", "v1/model"):
        out = apply_op("RestoreV2", prefix=str(FIXTURES / prefix), tensor_names=["emb", "emb"],
                       shape_and_slices=["10 4 -:0,2", ""], dtypes=[tf.float32, tf.float32])  # fmt: skip
        with tf.Session() as sess:
            part, whole = sess.run(out)
        assert part.tolist() == EMB[:, 0:2].tolist() and whole.tolist() == EMB.tolist()


def test_partitioned_variable_in_list_and_dict_var_lists():
    emb = tf.get_variable("emb", [10, 4], initializer=emb_initializer, partitioner=tf.fixed_size_partitioner(3))
    w = tf.Variable(1.0, name="w")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert tf.train.Saver([emb, w]).save(sess, "a", global_step=np.int64(3)) == "a-3"
        tf.train.Saver({"E": emb, "W": w}).save(sess, "b")
        tf.train.Saver({"E": list(emb)}).save(sess, "c")
    assert tf.train.list_variables("a-3") == [("emb", [10, 4]), ("w", [])]
    assert tf.train.list_variables("b") == [("E", [10, 4]), ("W", [])]
    assert tf.train.load_variable("c", "E").tolist() == EMB.tolist()

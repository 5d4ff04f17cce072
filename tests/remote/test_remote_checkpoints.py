"""Checkpoints in object stores: every path-taking API on ``memory://``, S3 (moto) and GCS (an emulator) on loopback."""

from __future__ import annotations

import fsspec
import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.formats import bundle, storage
from nanotf.tools.cli import main as cli

TENSORS = {
    "dense/kernel": np.arange(24, dtype=np.float32).reshape(4, 6),
    "dense/bias": np.array([0.5, -1.5], np.float64),
    "step": np.int64(7),
    "words": np.array([b"ab", b"", "w\u00f6rld".encode()], dtype=object),
    "empty": np.zeros((0, 3), np.int32),
    "emb": [("6 2 0,4:-", np.arange(8, dtype=np.float32).reshape(4, 2)),
            ("6 2 4,2:-", np.arange(8, 12, dtype=np.float32).reshape(2, 2))],
}


def _objects(url: str) -> list[str]:
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    return sorted(p.rsplit("/", 1)[-1] for p in fs.find(path))


def _check_values(reader) -> None:
    for name, want in TENSORS.items():
        got = reader.get_tensor(name)
        if isinstance(want, list):
            want = np.concatenate([part for _, part in want])
        assert got.dtype == np.asarray(want).dtype and np.array_equal(got, want), name


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as graph:
        yield graph


@pytest.mark.parametrize("num_shards", [1, 2])
def test_write_checkpoint_and_every_reader(remote_dir, num_shards):
    prefix = tf.train.write_checkpoint(f"{remote_dir}/model-3", TENSORS, num_shards=num_shards)
    assert prefix == f"{remote_dir}/model-3"
    data = [bundle.data_filename("model-3", i, num_shards) for i in range(num_shards)]
    assert _objects(remote_dir) == sorted(["checkpoint", "model-3.index", *data])
    assert tf.train.latest_checkpoint(remote_dir) == prefix
    for where in (remote_dir, prefix):
        _check_values(tf.train.load_checkpoint(where))
    with pytest.warns(UserWarning, match="pass the prefix"):
        _check_values(tf.train.load_checkpoint(prefix + ".index"))
    assert tf.train.list_variables(remote_dir) == sorted(
        (k, list(np.shape(v) if not isinstance(v, list) else (6, 2))) for k, v in TENSORS.items())
    assert tf.train.NewCheckpointReader(prefix).get_variable_to_dtype_map()["step"] == tf.int64
    assert np.array_equal(tf.train.load_variable(remote_dir, "dense/kernel:0"), TENSORS["dense/kernel"])


def test_large_tensor_is_fetched_in_concurrent_ranged_pieces_and_checksummed(remote_dir, monkeypatch):
    monkeypatch.setattr(storage, "READ_PIECE", 4096)
    monkeypatch.setattr(storage, "READ_BATCH", 3)
    big = np.random.default_rng(0).standard_normal(50_000).astype(np.float32)  # 49 pieces in 17 batches
    prefix = tf.train.write_checkpoint(f"{remote_dir}/big", {"big": big, "small": np.ones(3, np.int8)})
    reader = tf.train.load_checkpoint(prefix)
    assert np.array_equal(reader.get_tensor("big"), big)
    # Corrupt one byte in the middle: the checksum extended piece by piece catches it.
    fs, path = fsspec.core.url_to_fs(bundle.data_filename(prefix, 0, 1))
    data = bytearray(fs.cat_file(path))
    data[100_000] ^= 0x40
    fs.pipe_file(path, bytes(data))
    with pytest.raises(errors.DataLossError, match=r"big.*checksum mismatch"):
        tf.train.load_checkpoint(prefix).get_tensor("big")


def test_truncated_and_missing_objects_are_typed_errors_naming_the_url(remote_dir):
    prefix = tf.train.write_checkpoint(f"{remote_dir}/m", {"w": np.ones(100, np.float32)})
    fs, path = fsspec.core.url_to_fs(bundle.data_filename(prefix, 0, 1))
    fs.pipe_file(path, fs.cat_file(path)[:-8])
    with pytest.raises(errors.DataLossError, match="m.data-00000-of-00001.*truncated"):
        tf.train.load_checkpoint(prefix).get_tensor("w")
    fs.rm_file(path)
    with pytest.raises(errors.NotFoundError, match="data file .*m.data-00000-of-00001 .* is missing"):
        tf.train.load_checkpoint(prefix).get_tensor("w")
    with pytest.raises(errors.NotFoundError, match="nothing"):
        tf.train.load_checkpoint(f"{remote_dir}/nothing")
    assert tf.train.latest_checkpoint(f"{remote_dir}/empty") is None


def _model():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="w")
    b = tf.Variable(np.zeros(3, np.float64), name="b")
    step = tf.Variable(np.int64(0), name="step")
    train = tf.group(w.assign_add(tf.ones((2, 3))), b.assign_sub(tf.ones(3, tf.float64)), step.assign_add(1))
    return w, b, step, train


@pytest.mark.parametrize("resource", [False, True])
def test_saver_save_restore_latest_and_max_to_keep(remote_dir, resource):
    (tf.enable_resource_variables if resource else tf.disable_resource_variables)()
    w, b, step, train = _model()
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in range(1, 5):
            sess.run(train)
            assert saver.save(sess, f"{remote_dir}/model", global_step=i) == f"{remote_dir}/model-{i}"
        assert saver.last_checkpoints == [f"{remote_dir}/model-3", f"{remote_dir}/model-4"]
        assert _objects(remote_dir) == ["checkpoint"] + [f"model-{i}.{s}" for i in (3, 4)
                                                        for s in ("data-00000-of-00001", "index", "meta")]
        state = tf.train.get_checkpoint_state(remote_dir)
        assert list(state.all_model_checkpoint_paths) == saver.last_checkpoints
        latest = tf.train.latest_checkpoint(remote_dir)
        assert latest == f"{remote_dir}/model-4"
        sess.run(train)
        saver.restore(sess, latest)
        assert sess.run(step) == 4 and np.array_equal(sess.run(w), np.arange(6).reshape(2, 3) + 4)
    with tf.Graph().as_default():
        restored = tf.train.import_meta_graph(f"{remote_dir}/model-3.meta")
        with tf.Session() as sess:
            restored.restore(sess, f"{remote_dir}/model-3")
            (step,) = [v for v in tf.global_variables() if v.op.name == "step"]
            assert sess.run(step) == 3
    tf.disable_resource_variables()


def test_scan_finds_the_newest_complete_remote_checkpoint(remote_dir):
    """A lost state file and a cut-off newest data object: ``scan=True`` falls back to the newest whole one."""
    from nanotf.train.checkpoint_management import CheckpointStateWarning

    for step in (1, 2, 3):
        tf.train.write_checkpoint(f"{remote_dir}/model-{step}", {"w": np.full(3, step, np.float32)})
    assert tf.train.latest_checkpoint(remote_dir) == f"{remote_dir}/model-3"
    newest_data = bundle.data_filename(f"{remote_dir}/model-3", 0, 1)
    storage.put_bytes(newest_data, storage.read_bytes(newest_data, 1 << 20)[:-4])
    storage.remove(f"{remote_dir}/checkpoint")
    assert tf.train.latest_checkpoint(remote_dir, scan=True) == f"{remote_dir}/model-2"
    why = r"the newest complete one is .*/model-2; .* \(1 newer incomplete, e\.g\. .*/model-3\.data"
    with pytest.warns(CheckpointStateWarning, match=why):
        assert tf.train.latest_checkpoint(remote_dir) is None
    assert tf.train.latest_checkpoint(f"{remote_dir}/nothing-here", scan=True) is None


def test_retention_keeps_objects_this_process_did_not_write(remote_dir):
    w, b, step, train = _model()
    saver = tf.train.Saver(max_to_keep=1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, f"{remote_dir}/model", global_step=1)
        fs, path = fsspec.core.url_to_fs(f"{remote_dir}/model-1.index")
        fs.pipe_file(path, b"another writer's index")  # replaced since: not the object this process wrote
        saver.save(sess, f"{remote_dir}/model", global_step=2)
    assert "model-1.index" in _objects(remote_dir)
    tf.train.remove_checkpoint(f"{remote_dir}/model-1")
    assert not [n for n in _objects(remote_dir) if n.startswith("model-1.")]


def test_sharded_saver_writes_its_shards_concurrently_then_merges(remote_dir):
    with tf.device("/cpu:0"):
        a = tf.Variable(np.ones(5, np.float32), name="a")
    with tf.device("/cpu:1"):
        c = tf.Variable(np.full(4, 2.0), name="c")
    saver = tf.train.Saver(sharded=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, f"{remote_dir}/sharded", global_step=1)
        assert _objects(remote_dir) == ["checkpoint", "sharded-1.data-00000-of-00002",
                                        "sharded-1.data-00001-of-00002", "sharded-1.index", "sharded-1.meta"]
        sess.run([a.assign(np.zeros(5, np.float32)), c.assign(np.zeros(4))])
        saver.restore(sess, prefix)
        assert sess.run(a).sum() == 5 and sess.run(c).sum() == 8


def test_v1_checkpoints_written_by_tf_and_by_nanotf_in_a_store(remote_dir, tmp_path, capsys):
    from formats.fixture_io import FIXTURES, assert_tensor_equal, load_expected

    # TensorFlow's V1 file, uploaded: every reader sees exactly the values TF saved.
    storage.put_bytes(f"{remote_dir}/tf/model", (FIXTURES / "v1" / "model").read_bytes())
    expected = load_expected("v1")["checkpoints"]["model"]["tensors"]
    assert tf.train.checkpoint_exists(f"{remote_dir}/tf/model")
    reader = tf.train.load_checkpoint(f"{remote_dir}/tf/model")
    for name, t in expected.items():
        assert_tensor_equal(reader.get_tensor(name), t)
    assert cli(["verify", f"{remote_dir}/tf/model"]) == 0
    assert "V1" in capsys.readouterr().out

    # A V1 Saver: save with retention, latest_checkpoint, restore; the object is the local file's bytes.
    w, b, step, train = _model()
    saver = tf.train.Saver(max_to_keep=1, write_version=tf.train.SaverDef.V1)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for i in (1, 2):
            sess.run(train)
            assert saver.save(sess, f"{remote_dir}/v1/model", global_step=i) == f"{remote_dir}/v1/model-{i}"
        saver.save(sess, str(tmp_path / "model"), global_step=2, write_meta_graph=False, write_state=False)
        assert _objects(f"{remote_dir}/v1") == ["checkpoint", "model-2", "model-2.meta"]
        assert storage.read_bytes(f"{remote_dir}/v1/model-2", 1 << 20) == (tmp_path / "model-2").read_bytes()
        latest = tf.train.latest_checkpoint(f"{remote_dir}/v1")
        assert latest == f"{remote_dir}/v1/model-2"
        sess.run(train)
        saver.restore(sess, latest)
        assert sess.run(step) == 2 and np.array_equal(sess.run(w), np.arange(6).reshape(2, 3) + 2)


def test_meta_graph_export_import_and_write_graph(remote_dir):
    w, b, step, train = _model()
    tf.train.export_meta_graph(f"{remote_dir}/graphs/model.meta")
    path = tf.train.write_graph(tf.get_default_graph(), f"{remote_dir}/graphs", "graph.pbtxt")
    assert path == f"{remote_dir}/graphs/graph.pbtxt"
    assert _objects(f"{remote_dir}/graphs") == ["graph.pbtxt", "model.meta"]
    with tf.Graph().as_default() as graph:
        tf.train.import_meta_graph(f"{remote_dir}/graphs/model.meta")
        assert graph.get_operation_by_name("step").type == "VariableV2"


@pytest.mark.parametrize("store", ["s3", "gcs"])
def test_save_into_a_missing_bucket_is_a_typed_error_and_keeps_the_previous_checkpoint(store, request):
    directory = request.getfixturevalue(f"{store}_dir")
    w, b, step, train = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, f"{directory}/model", global_step=1)
        with pytest.raises((errors.NotFoundError, ValueError), match="no-such-bucket"):
            saver.save(sess, f"{directory.split(':')[0]}://no-such-bucket-nanotf/model", global_step=2)
    assert tf.train.latest_checkpoint(directory) == f"{directory}/model-1"


def test_a_failed_write_leaves_no_object_and_no_upload(remote_dir, monkeypatch, request):
    monkeypatch.setattr(storage, "UPLOAD_PART", 5 << 20)  # S3's smallest part: "a" is uploaded in parts
    tensors = {"a": np.ones(3 << 20, np.float32), "b": np.array([object()], dtype=object)}
    with pytest.raises(errors.InvalidArgumentError, match="not bytes or str"):
        tf.train.write_checkpoint(f"{remote_dir}/bad", tensors, dtypes={"b": "string"})
    assert _objects(remote_dir) == []
    if remote_dir.startswith("s3://"):
        import s3fs

        uploads = s3fs.S3FileSystem().list_multipart_uploads(remote_dir.split("/")[2])
        assert not [u for u in uploads if "/bad." in u["Key"]]  # aborted, its parts deleted
    if remote_dir.startswith("gs://"):
        # The resumable upload (parts already sent) was cancelled, not left open.
        assert not [n for n in request.getfixturevalue("gcs_unfinished_uploads")() if "/bad." in n]


def test_file_urls_are_local_paths(tmp_path):
    w, b, step, train = _model()
    saver = tf.train.Saver()
    url = f"file://{tmp_path}/run/model"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, url, global_step=1) == f"{tmp_path}/run/model-1"
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
            "checkpoint", "model-1.data-00000-of-00001", "model-1.index", "model-1.meta"]
        assert tf.train.latest_checkpoint(f"file://{tmp_path}/run") == f"{tmp_path}/run/model-1"
        saver.restore(sess, f"file://{tmp_path}/run/model-1")
    assert tf.train.list_variables(f"file://{tmp_path}/run") == [("b", [3]), ("step", []), ("w", [2, 3])]


def test_cli_inspect_reads_an_s3_checkpoint(s3_dir, capsys):
    tf.train.write_checkpoint(f"{s3_dir}/model-5", {"dense/kernel": np.ones((3, 4), np.float32)})
    assert cli(["inspect", s3_dir]) == 0
    out = capsys.readouterr().out
    assert f"{s3_dir}/model-5" in out and "dense/kernel" in out and "[3, 4]" in out


@pytest.mark.parametrize("num_shards", [1, 2])
def test_cli_verify_checks_a_remote_checkpoint_and_names_its_objects(remote_dir, num_shards, capsys):
    prefix = tf.train.write_checkpoint(f"{remote_dir}/model-3", TENSORS, num_shards=num_shards)
    assert cli(["verify", remote_dir]) == 0
    out = capsys.readouterr().out
    assert f"checked {prefix}.index:" in out and f"checked {remote_dir}/checkpoint: latest" in out
    assert "nanotf-verify-" not in out and out.rstrip().endswith("(6 tensors, 0 warning(s))")
    data = bundle.data_filename(prefix, num_shards - 1, num_shards)
    damaged = bytearray(storage.read_bytes(data, 1 << 20))
    damaged[-1] ^= 0x01
    storage.put_bytes(data, bytes(damaged))
    storage.put_bytes(f"{remote_dir}/checkpoint", b'model_checkpoint_path: "model-9"\n')
    assert cli(["verify", prefix]) == 1
    out = capsys.readouterr().out
    assert f"problem: {data}: tensor " in out and "checksum mismatch" in out
    assert f"problem: {remote_dir}/checkpoint: model_checkpoint_path 'model-9' names no existing checkpoint" in out


def test_local_paths_do_not_import_fsspec(tmp_path):
    import subprocess
    import sys

    code = ("import sys, numpy as np, nanotf as tf\n"
            f"tf.train.write_checkpoint({str(tmp_path / 'm')!r}, {{'w': np.ones(3)}})\n"
            f"tf.train.load_checkpoint({str(tmp_path)!r}).get_tensor('w')\n"
            "print('fsspec' in sys.modules)\n")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_a_chained_url_reads_through_a_local_cache(memory_dir):
    prefix = tf.train.write_checkpoint(f"{memory_dir}/model-1", TENSORS)
    cached = f"simplecache::{prefix}"
    assert tf.train.latest_checkpoint(f"simplecache::{memory_dir}") == cached
    _check_values(tf.train.load_checkpoint(cached))

"""formats/storage.py: which paths are remote, the local half, and the errors of the remote half."""

from __future__ import annotations

import sys

import pytest

from nanotf import errors
from nanotf.formats import storage


@pytest.mark.parametrize("path,remote", [
    ("s3://bucket/run/model", True), ("gs://b/k", True), ("memory://x", True), ("az://c/k", True),
    ("simplecache::s3://bucket/k", True), ("file:///tmp/model", False), ("model.ckpt-10", False),
    ("/abs/model", False), ("runs/s3:/odd", False), ("", False),
])  # fmt: skip
def test_is_remote(path, remote):
    assert storage.is_remote(path) is remote


def test_file_urls_resolve_to_plain_paths(tmp_path):
    assert storage.resolve(f"file://{tmp_path}/m") == (False, f"{tmp_path}/m")
    assert storage.resolve(tmp_path / "m") == (False, f"{tmp_path}/m")
    assert storage.resolve("s3://b/k") == (True, "s3://b/k")


def test_local_operations(tmp_path):
    (tmp_path / "a.index").write_bytes(b"12345")
    (tmp_path / "a.data-00000-of-00001").write_bytes(b"")
    url = f"file://{tmp_path}"
    assert storage.exists(f"{url}/a.index") and not storage.exists(f"{url}/b.index")
    assert storage.isdir(url) and not storage.isdir(f"{url}/a.index")
    assert storage.size(f"{url}/a.index") == 5
    assert storage.glob(f"{tmp_path}/a.*") == [f"{tmp_path}/a.data-00000-of-00001", f"{tmp_path}/a.index"]
    assert storage.getmtime(f"{tmp_path}/a.index") > 0 and storage.getmtime(f"{tmp_path}/nothing") is None
    storage.makedirs(f"{url}/new/dir")
    assert (tmp_path / "new" / "dir").is_dir()
    storage.remove(f"{url}/a.index")
    assert not (tmp_path / "a.index").exists()
    with pytest.raises(errors.NotFoundError, match="a.index"):
        storage.remove(f"{tmp_path}/a.index")
    with pytest.raises(errors.NotFoundError):
        storage.size(f"{tmp_path}/a.index")


def test_remote_errors_are_typed_and_name_the_object(memory_dir):
    with pytest.raises(errors.NotFoundError, match=f"{memory_dir}/missing"):
        storage.read_bytes(f"{memory_dir}/missing", 100)
    storage.put_bytes(f"{memory_dir}/big", b"x" * 101)
    with pytest.raises(errors.DataLossError, match="101 bytes is more than the 100"):
        storage.read_bytes(f"{memory_dir}/big", 100)
    with pytest.raises(errors.DataLossError, match="truncated"):
        storage.read_into(f"{memory_dir}/big", 50, bytearray(60))
    assert storage.written_here(f"{memory_dir}/big")
    storage.put_bytes(f"{memory_dir}/other", b"y")
    storage.remove(f"{memory_dir}/big")
    assert not storage.exists(f"{memory_dir}/big") and not storage.written_here(f"{memory_dir}/big")
    assert storage.listdir(memory_dir) == [(f"{memory_dir}/other", 1)]


def test_an_upload_is_invisible_until_committed_and_gone_when_discarded(memory_dir):
    output = storage.open_output(f"{memory_dir}/data")
    output.write(b"abc")
    assert not storage.exists(f"{memory_dir}/data")
    output.discard()
    assert not storage.exists(f"{memory_dir}/data")
    output = storage.open_output(f"{memory_dir}/data")
    output.write(b"abc")
    output.commit()
    assert storage.read_bytes(f"{memory_dir}/data", 10) == b"abc"


def test_remote_paths_without_fsspec_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec now raises ImportError
    with pytest.raises(errors.UnimplementedError, match=r"pip install 'nanotf\[remote\]'"):
        storage.exists("s3://bucket/model.index")


def test_an_unknown_protocol_is_unimplemented():
    pytest.importorskip("fsspec")
    with pytest.raises(errors.UnimplementedError, match="no fsspec backend"):
        storage.exists("nosuchprotocol://bucket/model.index")

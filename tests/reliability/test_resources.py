"""Resource failures during a save: a typed error that names the file, and nothing earlier harmed.

Disk-full is simulated by letting writes run out of a byte budget at every
point of a save (data, index, .meta, state file) and by failing fsync; a
real 1 MiB tmpfs and a read-only remount are used when this machine allows
mounting. Permission errors are simulated (tests run as root, which
ignores file modes).
"""

import builtins
import errno
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import nanotf as tf
from nanotf import errors
from nanotf.formats import atomic, bundle_writer
from nanotf.train import latest_checkpoint

from crash_campaign import temp_files


class Disk:
    """Hands out files whose writes fail with ``error`` once ``budget`` bytes have been written."""

    def __init__(self, budget: float, error: int = errno.ENOSPC):
        self.left = budget
        self.error = error
        self.written = 0

    def open(self, path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)
        return _Limited(f, self) if "w" in mode else f


class _Limited:
    def __init__(self, f, disk: Disk):
        self._f = f
        self._disk = disk

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if n > self._disk.left:
            raise OSError(self._disk.error, os.strerror(self._disk.error))
        self._disk.left -= n
        self._disk.written += n
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


class Model:
    """One variable of ``size`` float32s, a Saver, a session; ``save(step)`` returns the prefix."""

    def __init__(self, directory: Path, size: int = 1000, max_to_keep: int = 5):
        self.directory = directory
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.var = tf.Variable(tf.zeros([size]), name="w")
            self.saver = tf.train.Saver(max_to_keep=max_to_keep)
            self.sess = tf.Session()
            self.sess.run(tf.global_variables_initializer())

    def save(self, step: int) -> str:
        with self.graph.as_default():
            return self.saver.save(self.sess, str(self.directory / "m"), global_step=step)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def _assert_untouched(directory: Path, before: dict[str, bytes], failed_step: int) -> None:
    after = _snapshot(directory)
    assert {k: v for k, v in after.items() if not k.startswith(f"m-{failed_step}.")} == before
    assert not temp_files(str(directory))
    assert latest_checkpoint(str(directory)) == str(directory / "m-1")


def _patch_disk(monkeypatch, disk: Disk) -> None:
    for module in (bundle_writer, atomic):
        monkeypatch.setattr(module, "open", disk.open, raising=False)


def test_disk_full_at_every_point_of_a_save(tmp_path, monkeypatch):
    model = Model(tmp_path)
    model.save(1)
    state = (tmp_path / "checkpoint").read_bytes()
    probe = Disk(float("inf"))
    _patch_disk(monkeypatch, probe)
    model.save(99)  # how many bytes a save writes, through the patched files
    for path in tmp_path.glob("m-99*"):
        path.unlink()
    (tmp_path / "checkpoint").write_bytes(state)
    total = probe.written
    for budget in sorted({0, 1, 100, total // 4, total // 2, total - 300, total - 100, total - 1}):
        before = _snapshot(tmp_path)
        _patch_disk(monkeypatch, Disk(budget))
        with pytest.raises(errors.ResourceExhaustedError, match=rf"{tmp_path}/.*No space left.*Free space"):
            model.save(2)
        _assert_untouched(tmp_path, before, failed_step=2)
        for path in tmp_path.glob("m-2*"):  # a complete but unrecorded bundle when only .meta/state failed
            path.unlink()
    monkeypatch.undo()
    assert model.save(3) == str(tmp_path / "m-3")


def test_fsync_failing_is_a_typed_error(tmp_path, monkeypatch):
    model = Model(tmp_path)
    model.save(1)
    real_fsync = os.fsync
    for k in range(1, 6):  # data, index, .meta, directory, state file
        calls = [0]

        def fsync(fd, k=k, calls=calls):
            calls[0] += 1
            if calls[0] == k:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_fsync(fd)

        before = _snapshot(tmp_path)
        monkeypatch.setattr(os, "fsync", fsync)
        with pytest.raises(errors.ResourceExhaustedError):
            model.save(2)
        monkeypatch.setattr(os, "fsync", real_fsync)
        _assert_untouched(tmp_path, before, failed_step=2)
        for path in tmp_path.glob("m-2*"):
            path.unlink()


@pytest.mark.parametrize("where", ["open", "replace"])
def test_permission_denied_names_the_path_and_the_remedy(tmp_path, monkeypatch, where):
    model = Model(tmp_path)
    model.save(1)
    before = _snapshot(tmp_path)

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    if where == "open":
        monkeypatch.setattr(bundle_writer, "open", refuse, raising=False)
    else:
        monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(errors.PermissionDeniedError, match=rf"{tmp_path}/m-2.*Permission denied.*writable"):
        model.save(2)
    monkeypatch.undo()
    _assert_untouched(tmp_path, before, failed_step=2)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs at ``tmp_path/fs``; skips where this machine refuses to mount."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot run mount: {exc}")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is refused here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30, check=False)


def test_real_full_disk_and_read_only_filesystem(small_tmpfs):
    model = Model(small_tmpfs, size=100_000)  # 400 KB per checkpoint: two fit in 1 MiB, three do not
    model.save(1)
    model.save(2)
    before = _snapshot(small_tmpfs)
    with pytest.raises(errors.ResourceExhaustedError, match="No space left on device"):
        model.save(3)
    after = _snapshot(small_tmpfs)
    assert {k: after[k] for k in before} == before and not temp_files(str(small_tmpfs))
    assert latest_checkpoint(str(small_tmpfs)) == str(small_tmpfs / "m-2")
    assert sorted(p.name for p in small_tmpfs.glob("m-3*")) == []
    remount = subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True, text=True,
                             check=False)  # fmt: skip
    if remount.returncode != 0:
        pytest.skip(f"remounting read-only is refused here: {remount.stderr.strip()}")
    with pytest.raises(errors.PermissionDeniedError, match="Read-only file system.*read-only"):
        model.save(4)
    assert _snapshot(small_tmpfs) == after
    assert np.array_equal(tf.train.load_variable(str(small_tmpfs), "w"), np.zeros(100_000, np.float32))

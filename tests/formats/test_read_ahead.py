"""Copy reads one tensor at a time, in file order, with the next tensors read ahead (formats/read_ahead.py)."""

import threading
import time

import numpy as np
import pytest

from nanotf.errors import DataLossError
from nanotf.formats import bundle, read_ahead
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle

from fixture_io import FIXTURES, assert_tensor_equal, load_expected


@pytest.fixture
def small_window(monkeypatch):
    """Windows and jobs small enough for the fixtures: a few tensors ahead, several to a job."""
    monkeypatch.setattr(read_ahead, "WINDOW", 600)
    monkeypatch.setattr(read_ahead, "JOB", 250)
    monkeypatch.setattr(read_ahead, "LARGEST", 10_000)


@pytest.fixture
def reads_elsewhere(monkeypatch):
    """The keys whose bytes were read ahead, on another thread than the caller's."""
    keys = []
    real = BundleReader._read_alone
    caller = threading.current_thread()

    def spy(self, key, entry):
        if threading.current_thread() is not caller:
            keys.append(key)
        return real(self, key, entry)

    monkeypatch.setattr(BundleReader, "_read_alone", spy)
    return keys


def _in_file_order(reader: BundleReader) -> list[bytes]:
    return [key for key, _ in reader._in_file_order()]


def test_a_loop_over_a_tensorflow_checkpoint_reads_ahead(small_window, reads_elsewhere):
    expected = load_expected("mlp_adam")["checkpoints"]["model-3"]["tensors"]
    with BundleReader(FIXTURES / "mlp_adam" / "model-3") as reader:
        order = _in_file_order(reader)
        assert len(order) == len(expected)
        for key in order:
            value = reader.read(key, copy=True)
            assert value.flags.writeable
            assert_tensor_equal(value, expected[bundle.key_name(key)])
        # All but the first two (which start the run) and those larger than LARGEST were read ahead.
        assert set(reads_elsewhere) == {k for k in order[2:] if reader.entry(k).size <= read_ahead.LARGEST}
        assert len(reads_elsewhere) > len(order) // 2


def _bundle(tmp_path, count=8, size=40):
    arrays = [np.arange(size, dtype=np.float32) + 100 * i for i in range(count)]
    names = [f"t{i}" for i in range(count)]
    write_bundle(str(tmp_path / "m"), names, [""] * count, arrays)
    return tmp_path / "m", names, arrays


def test_corruption_is_reported_for_the_tensor_read_ahead(tmp_path, small_window, reads_elsewhere):
    prefix, names, arrays = _bundle(tmp_path)
    with BundleReader(prefix) as reader:
        entry = reader.entry("t4")
    data = tmp_path / "m.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 5] ^= 0x10
    data.write_bytes(bytes(raw))
    with BundleReader(prefix) as reader:
        for name, array in zip(names[:4], arrays):
            np.testing.assert_array_equal(reader.read(name, copy=True), array)
        with pytest.raises(DataLossError, match=r"m\.data-00000-of-00001: tensor 't4': checksum mismatch"):
            reader.read("t4", copy=True)
        for name, array in zip(names[5:], arrays[5:]):  # the loop can go on past it
            np.testing.assert_array_equal(reader.read(name, copy=True), array)
    assert b"t4" in reads_elsewhere


def test_a_failed_read_ahead_fails_only_its_own_tensor(tmp_path, small_window, monkeypatch):
    prefix, names, arrays = _bundle(tmp_path)
    real = BundleReader._read_alone
    caller = threading.current_thread()
    failed = []

    def fail_t4(self, key, entry):
        if key == b"t4" and threading.current_thread() is not caller:
            failed.append(key)
            raise DataLossError("t4 could not be read")
        return real(self, key, entry)

    monkeypatch.setattr(BundleReader, "_read_alone", fail_t4)
    with BundleReader(prefix) as reader:
        for name, array in zip(names[:4], arrays):
            np.testing.assert_array_equal(reader.read(name, copy=True), array)
        with pytest.raises(DataLossError, match="t4 could not be read"):
            reader.read("t4", copy=True)
        for name, array in zip(names[5:], arrays[5:]):  # t5 was read in the same job as t4
            np.testing.assert_array_equal(reader.read(name, copy=True), array)
    assert failed == [b"t4"]


def test_reads_out_of_order_get_the_right_values(tmp_path, small_window, reads_elsewhere):
    prefix, names, arrays = _bundle(tmp_path)
    with BundleReader(prefix) as reader:
        for i in (0, 1, 2, 6, 3, 4, 7, 5, 5, 0):
            np.testing.assert_array_equal(reader.read(names[i], copy=True), arrays[i])
        assert reads_elsewhere  # the run 0, 1, 2 started reading ahead
        reader.read(names[1], copy=False)  # views of the mapped file take no part
        np.testing.assert_array_equal(reader.read(names[2], copy=True), arrays[2])


def test_close_waits_for_the_reads_under_way(tmp_path, small_window, monkeypatch):
    prefix, names, _ = _bundle(tmp_path)
    running, finished = [], []
    real = BundleReader._read_alone
    caller = threading.current_thread()

    def slow(self, key, entry):
        if threading.current_thread() is not caller:
            running.append(key)
            time.sleep(0.05)
        result = real(self, key, entry)
        finished.append(key)
        return result

    monkeypatch.setattr(BundleReader, "_read_alone", slow)
    reader = BundleReader(prefix)
    reader.read(names[0], copy=True)
    reader.read(names[1], copy=True)
    deadline = time.monotonic() + 10
    while not running and time.monotonic() < deadline:
        time.sleep(0.001)
    assert running, "nothing was read ahead"
    reader.close()
    assert set(running) <= set(finished)  # every read begun had ended, with its file still open

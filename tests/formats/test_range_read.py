"""Chunked reads into fresh memory (formats/range_read.py) and the CRC joining they rely on."""

import os
import threading
import time

import numpy as np
import pytest

from nanotf.errors import DataLossError
from nanotf.formats import bundle, crc32c, parallel, range_read
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle

from fixture_io import FIXTURES, assert_tensor_equal, load_expected


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Split reads at sizes small enough for the fixtures, with chunks and pieces that do not divide them evenly."""
    monkeypatch.setattr(range_read, "ALIGNED_MIN", 32)  # smaller ranges are read on the calling thread
    monkeypatch.setattr(range_read, "SPLIT_MIN", 64)
    monkeypatch.setattr(range_read, "CHUNK", 40)
    monkeypatch.setattr(range_read, "PIECE", 24)
    monkeypatch.setattr(range_read, "PAGE", 8)  # chunk alignment: a speed matter only
    monkeypatch.setattr(parallel, "io_threads", lambda remote, writing=False: 3)


@pytest.mark.parametrize("first,second", [(0, 0), (0, 7), (7, 0), (1, 1), (1000, 4099), (65536, 3)])
def test_combine_equals_whole(first, second):
    data = np.random.default_rng(first + second).integers(0, 256, first + second, dtype=np.uint8).tobytes()
    a, b = data[:first], data[first:]
    assert crc32c.combine(crc32c.crc32c(a), crc32c.crc32c(b), len(b)) == crc32c.crc32c(data)


def test_combine_past_four_gib():
    """Lengths above 32 bits: the second part is 2**32 + 3 zero bytes, checksummed by extending 256 MiB at a time."""
    zeros = bytes(256 << 20)
    crc_zeros = 0
    for _ in range(16):
        crc_zeros = crc32c.extend(crc_zeros, zeros)
    crc_zeros = crc32c.extend(crc_zeros, b"\0\0\0")
    head = b"nanotf"
    whole = crc32c.extend(crc32c.crc32c(head), zeros)
    for _ in range(15):
        whole = crc32c.extend(whole, zeros)
    whole = crc32c.extend(whole, b"\0\0\0")
    assert crc32c.combine(crc32c.crc32c(head), crc_zeros, (1 << 32) + 3) == whole


@pytest.mark.parametrize("offset,size", [(0, 100), (5, 2999), (0, 3000), (17, 12_345), (4096, 40_000), (1, 65_535)])
def test_read_range_bytes_and_crc(tmp_path, tiny_chunks, offset, size):
    data = np.random.default_rng(size).integers(0, 256, 70_000, dtype=np.uint8).tobytes()
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        (buffer, crc), = range_read.read_ranges([range_read.Range(fd, offset, size, str(path))], checksum=True)
        assert bytes(buffer) == data[offset : offset + size]
        assert crc == crc32c.crc32c(data[offset : offset + size])
        buffer[0:1] = b"x"  # fresh memory the caller owns
        assert range_read.read_ranges([range_read.Range(fd, offset, size, str(path))], checksum=False)[0][1] == 0
    finally:
        os.close(fd)


def test_read_range_past_the_end_names_the_file(tmp_path, tiny_chunks):
    path = tmp_path / "short"
    path.write_bytes(bytes(10_000))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(DataLossError, match="short: file ended at offset 10000"):
            range_read.read_ranges([range_read.Range(fd, 2000, 9000, str(path))], checksum=True)
    finally:
        os.close(fd)


def test_shared_jobs_wait_for_running_ones_before_raising():
    finished = threading.Event()

    def job(i):
        if i == 0:
            time.sleep(0.2)
            finished.set()
            return i
        raise ValueError(f"job {i}")

    with pytest.raises(ValueError, match="job 1"):
        list(parallel.results_in_order(parallel.submit_shared(job, [0, 1, 2])))
    assert finished.is_set()
    squares = parallel.results_in_order(parallel.submit_shared(lambda i: i * i, range(7)))
    assert list(squares) == [0, 1, 4, 9, 16, 25, 36]


@pytest.mark.parametrize("fixture,prefix", [("dtypes", "model"), ("partitioned", "bigslice"), ("mlp_adam", "model-3")])
def test_split_copy_reads_of_tensorflow_checkpoints(tiny_chunks, fixture, prefix):
    """Every tensor of TF-written checkpoints read with ``copy=True``, the larger ones on the split path."""
    expected = load_expected(fixture)["checkpoints"][prefix]["tensors"]
    with BundleReader(FIXTURES / fixture / prefix) as reader:
        assert max(reader.entry(k).size for k in reader.keys()) > 2 * range_read.CHUNK  # several chunks
        for key, t in expected.items():
            value = reader.read(key, copy=True)
            assert value.flags.writeable
            assert_tensor_equal(value, t)


def test_split_read_detects_corruption_in_a_later_chunk(tmp_path, tiny_chunks):
    a = np.arange(20_000, dtype=np.float32)
    write_bundle(str(tmp_path / "m"), ["a"], [""], [a])
    data = bundle.data_filename(str(tmp_path / "m"), 0, 1)
    raw = bytearray(open(data, "rb").read())
    raw[61_234] ^= 0x10  # in one of the last of 2000 chunks
    open(data, "wb").write(bytes(raw))
    with BundleReader(tmp_path / "m") as reader, pytest.raises(DataLossError, match="tensor 'a': checksum mismatch"):
        reader.read("a", copy=True)
    with BundleReader(tmp_path / "m", verify=False) as reader:
        assert np.count_nonzero(reader.read("a", copy=True) != a) == 1


def test_large_tensor_at_the_real_split_size(tmp_path):
    """One tensor above SPLIT_MIN with the module's own chunk sizes, next to a small one."""
    big = np.random.default_rng(1).standard_normal((range_read.SPLIT_MIN // 8 + 999,), dtype=np.float32)
    big = np.stack([big, -big])
    write_bundle(str(tmp_path / "big"), ["big", "small"], ["", ""], [big, big[:, :5]])
    with BundleReader(tmp_path / "big") as reader:
        assert reader.entry("big").size > range_read.SPLIT_MIN
        np.testing.assert_array_equal(reader.read("big", copy=True), big)
        np.testing.assert_array_equal(reader.read("small", copy=True), big[:, :5])


def test_restore_reads_large_tensors_split_and_small_ones_whole(tiny_chunks):
    """Saver.restore of a TF-written checkpoint whose tensors fall on both sides of SPLIT_MIN."""
    import nanotf as tf

    expected = load_expected("mlp_adam")["checkpoints"]["model-3"]["tensors"]
    sizes = [len(t["hex"]) // 2 for t in expected.values()]
    assert min(sizes) < range_read.SPLIT_MIN <= max(sizes)
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(str(FIXTURES / "mlp_adam" / "model-3.meta"))
        with tf.Session() as sess:
            saver.restore(sess, str(FIXTURES / "mlp_adam" / "model-3"))
            for v in tf.global_variables():
                assert_tensor_equal(sess.run(v), expected[v.op.name])


def test_read_ranges_of_several_files_share_the_threads(tmp_path, tiny_chunks):
    rng = np.random.default_rng(7)
    files = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (5000, 300)]
    fds = []
    for i, data in enumerate(files):
        (tmp_path / f"f{i}").write_bytes(data)
        fds.append(os.open(tmp_path / f"f{i}", os.O_RDONLY))
    wanted = [(0, 17, 4000), (1, 0, 300), (0, 0, 0), (0, 4999, 1), (1, 100, 50)]
    try:
        ranges = [range_read.Range(fds[f], offset, size, f"f{f}") for f, offset, size in wanted]
        for (f, offset, size), (buffer, crc) in zip(wanted, range_read.read_ranges(ranges, checksum=True)):
            assert bytes(buffer) == files[f][offset : offset + size]
            assert crc == crc32c.crc32c(files[f][offset : offset + size])
    finally:
        for fd in fds:
            os.close(fd)


@pytest.mark.parametrize("fixture,prefix", [("dtypes", "model"), ("partitioned", "bigslice"), ("sharded", "model")])
def test_read_many_equals_reading_one_by_one(tiny_chunks, fixture, prefix):
    """Numeric, string and partitioned tensors of TF-written checkpoints, in one data file or several."""
    expected = load_expected(fixture)["checkpoints"][prefix]["tensors"]
    with BundleReader(FIXTURES / fixture / prefix) as reader:
        keys = sorted(expected)
        for key, value in zip(keys, reader.read_many(keys)):
            assert value.flags.writeable
            assert_tensor_equal(value, expected[key])


def test_read_many_reports_the_damaged_tensor(tmp_path, tiny_chunks):
    a, b = np.arange(5000, dtype=np.float32), np.arange(3000, dtype=np.int64)
    write_bundle(str(tmp_path / "m"), ["a", "b"], ["", ""], [a, b])
    data = bundle.data_filename(str(tmp_path / "m"), 0, 1)
    raw = bytearray(open(data, "rb").read())
    raw[a.nbytes + 1000] ^= 0x04  # inside b
    open(data, "wb").write(bytes(raw))
    with BundleReader(tmp_path / "m") as reader, pytest.raises(DataLossError, match="tensor 'b': checksum mismatch"):
        reader.read_many(["a", "b"])


def _file_of(tmp_path, size: int, seed: int = 3) -> tuple[bytes, int]:
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    return data, os.open(tmp_path / "f", os.O_RDONLY)


@pytest.mark.parametrize("split", [True, False])
def test_buffers_keep_the_place_in_a_page_of_their_file_offset(tmp_path, tiny_chunks, monkeypatch, split):
    """Where the array stays aligned; else the buffer is page-aligned (PAGE is 8 bytes here)."""
    if not split:
        monkeypatch.setattr(parallel, "io_threads", lambda remote, writing=False: 1)
    data, fd = _file_of(tmp_path, 5000)
    wanted = [(0, 400, 1), (3, 500, 1), (13, 300, 4), (20, 600, 4), (6, 90, 8), (48, 100, 8)]
    try:
        ranges = [range_read.Range(fd, offset, size, "f", itemsize) for offset, size, itemsize in wanted]
        for (offset, size, itemsize), (buffer, _) in zip(wanted, range_read.read_ranges(ranges, checksum=False)):
            address = np.frombuffer(buffer, np.uint8).ctypes.data
            assert address % 8 == (offset % 8 if offset % itemsize == 0 else 0)
            assert bytes(buffer) == data[offset : offset + size]
    finally:
        os.close(fd)


@pytest.mark.parametrize("sizes", [[10_000], [3000, 1, 4097, 8192, 50_000, 77], [6000] * 9])
def test_jobs_cover_every_range_once_in_equal_parts_cut_at_file_pages(monkeypatch, sizes):
    monkeypatch.setattr(range_read, "CHUNK", 5000)  # several jobs, each crossing page boundaries
    offsets = np.cumsum([13, *sizes[:-1]]).tolist()  # back to back from byte 13, as in a data file
    ranges = [range_read.Range(0, offset, size, "f") for offset, size in zip(offsets, sizes)]
    jobs = range_read._jobs(ranges, 2)
    assert len(jobs) == 2 * -(-sum(sizes) // 10_000)  # a multiple of the threads, of about CHUNK bytes
    pieces = [piece for job in jobs for piece in job]
    for k, r in enumerate(ranges):
        mine = [(start, length) for i, start, length in pieces if i == k]
        assert [start for start, _ in mine] == list(np.cumsum([0] + [n for _, n in mine[:-1]]))
        assert sum(n for _, n in mine) == r.size
        assert all((r.offset + start) % range_read.PAGE == 0 for start, _ in mine[1:])
    job_bytes = [sum(n for _, _, n in job) for job in jobs]
    assert max(job_bytes) - min(job_bytes) < 2 * range_read.PAGE


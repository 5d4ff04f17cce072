import os
import shutil
import sys

import numpy as np
import pytest

from nanotf.errors import DataLossError, InvalidArgumentError, NotFoundError, UnimplementedError
from nanotf.formats import bundle, crc32c
from nanotf.formats.bundle_merge import merge_bundles
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle, write_index
from nanotf.formats.slices import TensorSlice

from fixture_io import FIXTURES, assert_tensor_equal, load_expected, multiblock_args, save_args, to_array

V2_FIXTURES = [("dtypes", "model"), ("partitioned", "model"), ("partitioned", "bigslice"), ("sharded", "model"),
               ("seed_ref", "my_test_model-1000"), ("seed_resource", "my_test_model-1000"), ("mlp_adam", "model-3")]


@pytest.mark.parametrize("fixture,prefix", V2_FIXTURES)
def test_reads_fixture_exactly(fixture, prefix):
    expected = load_expected(fixture)["checkpoints"][prefix]
    with BundleReader(FIXTURES / fixture / prefix) as reader:
        assert sorted(reader.variable_keys()) == sorted(expected["tensors"])
        for key, t in expected["tensors"].items():
            assert reader.dtype(key).name == t["dtype"]
            assert_tensor_equal(reader.read(key), t)


def test_reads_variant_fixture():
    t = load_expected("dtypes")["checkpoints"]["variant"]["tensors"]["tensor_list"]
    with BundleReader(FIXTURES / "dtypes" / "variant") as reader:
        value = reader.read("tensor_list")
    assert value.shape == () and value[()].type_name == "tensorflow::TensorList"
    assert (FIXTURES / "dtypes" / "variant.data-00000-of-00001").read_bytes().hex() == t["encoded_hex"]


def test_writes_variant_identically(tmp_path):
    with BundleReader(FIXTURES / "dtypes" / "variant") as reader:
        value = reader.read("tensor_list")
    write_bundle(tmp_path / "v", ["tensor_list"], [""], [value], ["variant"])
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / f"v{suffix}").read_bytes() == (FIXTURES / "dtypes" / f"variant{suffix}").read_bytes()


def _assert_same_files(ours, theirs, suffixes):
    for suffix in suffixes:
        assert (ours.parent / (ours.name + suffix)).read_bytes() == (theirs.parent / (theirs.name + suffix)).read_bytes(), suffix


@pytest.mark.parametrize("fixture,prefix", [("dtypes", "model"), ("partitioned", "model"), ("partitioned", "bigslice"),
                                            ("seed_ref", "my_test_model-1000"), ("mlp_adam", "model-3")])
def test_writes_fixture_bytes(tmp_path, fixture, prefix):
    (op,) = load_expected(fixture)["checkpoints"][prefix]["save_ops"]
    write_bundle(str(tmp_path / prefix), *save_args(op))
    _assert_same_files(tmp_path / prefix, FIXTURES / fixture / prefix, [".index", ".data-00000-of-00001"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [prefix + ".data-00000-of-00001", prefix + ".index"]


def test_writes_multiblock_bytes(tmp_path):
    write_bundle(str(tmp_path / "model"), *multiblock_args(load_expected("multiblock")))
    _assert_same_files(tmp_path / "model", FIXTURES / "multiblock" / "model", [".index", ".data-00000-of-00001"])


def test_merge_reproduces_sharded_fixture(tmp_path):
    ops = load_expected("sharded")["checkpoints"]["model"]["save_ops"]
    parts = []
    for op in ops:
        part = str(tmp_path / "model_temp" / ("part-%05d-of-%05d" % (op["shard"], op["num_shards"])))
        write_bundle(part, *save_args(op))
        parts.append(part)
    merge_bundles(parts, str(tmp_path / "model"))
    _assert_same_files(tmp_path / "model", FIXTURES / "sharded" / "model",
                       [".index", ".data-00000-of-00002", ".data-00001-of-00002"])
    assert not (tmp_path / "model_temp").exists()


def test_merge_rejects_duplicate_plain_keys(tmp_path):
    write_bundle(str(tmp_path / "a"), ["x"], [""], [np.zeros(2)])
    write_bundle(str(tmp_path / "b"), ["x"], [""], [np.ones(2)])
    with pytest.raises(InvalidArgumentError, match="'x'"):
        merge_bundles([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "m"))


def test_sub_slice_reads():
    full = to_array(load_expected("partitioned")["checkpoints"]["model"]["tensors"]["emb"])
    with BundleReader(FIXTURES / "partitioned" / "model") as reader:
        np.testing.assert_array_equal(reader.read("emb", "10 4 -:0,2"), full[:, :2])
        np.testing.assert_array_equal(reader.read("emb", "10 4 3,2:1,3"), full[3:5, 1:4])
        np.testing.assert_array_equal(reader.read("emb", TensorSlice.parse("4,3:-")), full[4:7])
        w = reader.read("w")
        np.testing.assert_array_equal(reader.read("w", "2 2 1,1:-"), w[1:2])
        with pytest.raises(InvalidArgumentError, match="does not match"):
            reader.read("emb", "10 5 -:0,2")
        with pytest.raises(InvalidArgumentError):
            reader.read("emb", "10 4 9,2:-")


def test_zero_copy_and_copy():
    with BundleReader(FIXTURES / "dtypes" / "model") as reader:
        view = reader.read("float32_3d")
        assert not view.flags.writeable
        owned = reader.read("float32_3d", copy=True)
        assert owned.flags.writeable and not np.shares_memory(owned, view)
        expected = view.copy()
    # A copy does not depend on the reader's mapping or files.
    owned += 0
    np.testing.assert_array_equal(owned, expected)


def test_string_encoding_example(tmp_path):
    value = np.array([b"ab", b"", b"x" * 200], dtype=object)
    write_bundle(str(tmp_path / "s"), ["s"], [""], [value])
    data = (tmp_path / "s.data-00000-of-00001").read_bytes()
    assert data[:8].hex() == "0200c8015b788972" and len(data) == 210
    with BundleReader(tmp_path / "s") as reader:
        assert list(reader.read("s")) == list(value)
    write_bundle(str(tmp_path / "u"), ["u"], [""], [np.array(["hé", "wörld"])])
    with BundleReader(tmp_path / "u") as reader:
        assert list(reader.read("u")) == ["hé".encode(), "wörld".encode()]


def test_empty_tensors(tmp_path):
    write_bundle(str(tmp_path / "e"), ["f", "s"], ["", ""], [np.zeros((2, 0), np.float32), np.array([], dtype=object)])
    with BundleReader(tmp_path / "e") as reader:
        assert reader.entry("f").crc32c == crc32c.MASK_DELTA and reader.entry("f").size == 0
        assert reader.entry("s").size == 4
        assert reader.read("f").shape == (2, 0) and reader.read("s").shape == (0,)


def test_non_contiguous_and_big_endian_input(tmp_path):
    a = np.arange(24, dtype=">f4").reshape(4, 6)[:, ::2]
    write_bundle(str(tmp_path / "n"), ["a"], [""], [a])
    with BundleReader(tmp_path / "n") as reader:
        np.testing.assert_array_equal(reader.read("a"), a)


def test_writer_errors_leave_nothing(tmp_path):
    with pytest.raises(InvalidArgumentError, match="duplicate"):
        write_bundle(str(tmp_path / "d"), ["a", "a"], ["", ""], [np.zeros(1), np.zeros(1)])
    with pytest.raises(InvalidArgumentError):
        write_bundle(str(tmp_path / "d"), ["a"], ["3 0,2"], [np.zeros(3)])
    with pytest.raises(InvalidArgumentError):
        write_bundle(str(tmp_path / "d"), ["a"], [""], [np.array([1, None], dtype=object)])
    assert list(tmp_path.iterdir()) == []


def test_missing_files(tmp_path):
    with pytest.raises(NotFoundError):
        BundleReader(tmp_path / "nothing")
    shutil.copy(FIXTURES / "seed_ref" / "my_test_model-1000.index", tmp_path / "m.index")
    with BundleReader(tmp_path / "m") as reader, pytest.raises(NotFoundError, match="data-00000-of-00001"):
        reader.read("bias")
    with BundleReader(tmp_path / "m") as reader, pytest.raises(NotFoundError, match="'nope'"):
        reader.read("nope")


def test_header_checks(tmp_path):
    for tweak, error in [(lambda h: setattr(h, "endianness", 1), UnimplementedError),
                         (lambda h: setattr(h.version, "min_consumer", 2), DataLossError),
                         (lambda h: h.version.bad_consumers.append(1), DataLossError)]:
        header = bundle.new_header(1)
        tweak(header)
        write_index(str(tmp_path / "h"), {}, header)
        with pytest.raises(error):
            BundleReader(tmp_path / "h")


def test_large_tensor_is_streamed_in_chunks(tmp_path, monkeypatch):
    from nanotf.formats import tensor_codec

    monkeypatch.setattr(tensor_codec, "WRITE_CHUNK", 1000)
    a = np.random.default_rng(0).standard_normal((50, 70))
    write_bundle(str(tmp_path / "l"), ["a", "b"], ["", ""], [a, a.T])
    with BundleReader(tmp_path / "l") as reader:
        np.testing.assert_array_equal(reader.read("a"), a)
        np.testing.assert_array_equal(reader.read("b"), a.T)
        assert reader.entry("a").crc32c == crc32c.mask(crc32c.crc32c(a.tobytes()))


def test_checksums_of_large_chunks_are_computed_beside_the_write(tmp_path, monkeypatch):
    import threading

    from nanotf.formats import tensor_codec

    threads = []
    native = crc32c.extend

    def recording_extend(crc, data):
        threads.append(threading.current_thread() is threading.main_thread())
        return native(crc, data)

    # Tensors of 4-128 bytes, in chunks of up to 48: those of 32 bytes or more are checksummed on an I/O
    # thread, and the files must still be TF's, byte for byte.
    monkeypatch.setattr(tensor_codec, "WRITE_CHUNK", 48)
    monkeypatch.setattr(tensor_codec, "CHECKSUM_BESIDE_MIN", 32)
    monkeypatch.setattr(crc32c, "extend", recording_extend)
    (op,) = load_expected("mlp_adam")["checkpoints"]["model-3"]["save_ops"]
    write_bundle(str(tmp_path / "model-3"), *save_args(op))
    _assert_same_files(tmp_path / "model-3", FIXTURES / "mlp_adam" / "model-3", [".index", ".data-00000-of-00001"])
    assert False in threads, "no chunk was checksummed on another thread"
    assert True in threads, "the chunks under 32 bytes should be checksummed on the calling thread"


def test_writeback_is_started_while_the_data_file_is_written(tmp_path, monkeypatch):
    from nanotf.formats import writeback

    real = writeback._sync_file_range
    if sys.platform == "linux":
        assert real is not None, "sync_file_range should be found in the C library on Linux"
    calls = []

    def record(fd, offset, length, flags):
        calls.append((os.fstat(fd).st_size, offset, length, flags))
        return real(fd, offset, length, flags) if real is not None else 0

    arrays = [np.arange(i * 1000, dtype=np.float32) for i in range(1, 6)]
    names = [f"v{i}" for i in range(5)]
    monkeypatch.setattr(writeback, "STEP", 8000)
    monkeypatch.setattr(writeback, "_sync_file_range", record)
    write_bundle(str(tmp_path / "hinted"), names, [""] * 5, arrays)
    # Tensors of 4000-20000 bytes: 8000 or more are pending after each but the first. Each request is for the
    # whole file, which by then holds every byte counted, with only the "start writing" flag.
    assert [size for size, *_ in calls] == [12000, 24000, 40000, 60000]
    assert {tuple(c[1:]) for c in calls} == {(0, 0, 2)}
    monkeypatch.setattr(writeback, "_sync_file_range", None)  # a system without the call: same files
    write_bundle(str(tmp_path / "plain"), names, [""] * 5, arrays)
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / f"hinted{suffix}").read_bytes() == (tmp_path / f"plain{suffix}").read_bytes()

"""Corrupted and hostile files must give the exact values or a typed nanotf error, never anything else."""

import random
import shutil
import struct
import time
import tracemalloc
import warnings

import numpy as np
import pytest

from nanotf.errors import DataLossError, OpError, UnimplementedError
from nanotf.formats import bundle, crc32c, snappy
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle, write_index
from nanotf.formats.protoparse import parse_message, parse_text_message, read_message_file
from nanotf.formats.slices import TensorSlice, encode_tensor_name_slice
from nanotf.formats.table import BlockHandle, TableReader
from nanotf.formats.table_writer import BlockBuilder, encode_handle
from nanotf.formats.v1 import V1Reader
from nanotf.formats.varint import encode_varint
from nanotf.protos import checkpoint_pb2, graph_pb2
from nanotf.train import CheckpointStateWarning, get_checkpoint_state, latest_checkpoint
from nanotf.train.meta_graph import read_meta_graph_file

from fixture_io import FIXTURES, assert_tensor_equal, load_expected

CASES_PER_FILE = 60
TARGETS = [
    ("dtypes", "model", ".index"), ("dtypes", "model", ".data-00000-of-00001"),
    ("partitioned", "model", ".index"), ("partitioned", "model", ".data-00000-of-00001"),
    ("sharded", "model", ".index"), ("sharded", "model", ".data-00001-of-00002"),
    ("v1", "model", ""),
]


def _mutations(data: bytes, rng: random.Random):
    n = len(data)
    for _ in range(CASES_PER_FILE // 2):
        pos, bit = rng.randrange(n), 1 << rng.randrange(8)
        yield f"flip byte {pos} bit {bit}", data[:pos] + bytes([data[pos] ^ bit]) + data[pos + 1:]
    for _ in range(CASES_PER_FILE // 3):
        cut = rng.randrange(n)
        yield f"truncate to {cut}", data[:cut]
    yield "append garbage", data + bytes(rng.randrange(256) for _ in range(17))
    yield "prepend garbage", bytes(rng.randrange(256) for _ in range(17)) + data
    yield "zeroed", bytes(n)


def _read_all(fixture, prefix, path, tensors):
    reader = (V1Reader if fixture == "v1" else BundleReader)(path)
    try:
        for key, t in tensors.items():
            assert_tensor_equal(reader.read(key), t)
    finally:
        reader.close()


@pytest.mark.parametrize("fixture,prefix,suffix", TARGETS)
def test_corrupted_files_fail_cleanly(tmp_path, fixture, prefix, suffix):
    tensors = load_expected(fixture)["checkpoints"][prefix]["tensors"]
    for f in (FIXTURES / fixture).glob(prefix + "*"):
        shutil.copy(f, tmp_path / f.name)
    victim = tmp_path / (prefix + suffix)
    original = victim.read_bytes()
    rng = random.Random(f"{fixture}/{prefix}{suffix}")
    for label, data in _mutations(original, rng):
        victim.write_bytes(data)
        try:
            _read_all(fixture, prefix, tmp_path / prefix, tensors)
        except OpError as exc:
            assert str(exc), label
        except AssertionError:
            pytest.fail(f"{victim.name}, {label}: read wrong values without an error")


# -- hand-made hostile files: valid checksums, adversarial content ---------------------
# Each must be answered with a typed error (or exact values) in bounded time, and
# without allocating more than the file's size justifies: tracemalloc sees NumPy's
# allocations too, and every file here is a few hundred bytes (the prefix-sharing
# bomb ~200 KB, which may cost 16x its size before it is refused).

MEMORY_LIMIT = 8 << 20
TIME_LIMIT = 2.0


def _bounded(call, *args):
    """Run ``call(*args)``; return its exception and fail if it allocated or took too much."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        call(*args)
    except OpError as exc:
        error = exc
    else:
        error = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"allocated {peak} bytes"
    assert time.perf_counter() - start < TIME_LIMIT
    return error


def _entry(dtype=1, shape=(), offset=0, size=0, crc=0, slices=()):
    entry = checkpoint_pb2.BundleEntryProto(dtype=dtype, offset=offset, size=size, crc32c=crc)
    entry.shape.SetInParent()
    for d in shape:
        entry.shape.dim.add().size = d
    for slc in slices:
        entry.slices.append(slc.to_proto())
    return entry


def _bundle(tmp_path, entries, data=b"", header=None):
    prefix = str(tmp_path / "h")
    write_index(prefix, {bundle.key_bytes(k): e for k, e in entries.items()}, header or bundle.new_header(1))
    (tmp_path / "h.data-00000-of-00001").write_bytes(data)
    return prefix


def _read_every_tensor(prefix):
    with BundleReader(prefix) as reader:
        return {key: reader.read(key, copy=True) for key in reader.variable_keys()}


def test_huge_declared_shape_allocates_nothing(tmp_path):
    data = np.float32(1).tobytes()
    crc = crc32c.mask(crc32c.crc32c(data))
    for shape in [(2**30, 2**30), (2**60,), (10**9, 0, 10**9)]:
        prefix = _bundle(tmp_path, {"w": _entry(shape=shape, size=4, crc=crc)}, data)
        error = _bounded(_read_every_tensor, prefix)
        assert isinstance(error, DataLossError) and "h.data-00000-of-00001" in str(error), shape
    prefix = _bundle(tmp_path, {"w": _entry(shape=(2**40, 2**40), size=4, crc=crc)}, data)
    assert "more than 2**63-1 bytes" in str(_bounded(_read_every_tensor, prefix))
    # No elements, but dimensions no NumPy array can have (TensorFlow allows them; nanotf says it cannot).
    for shape, dtype in [((2**40, 2**62, 0), 1), ((0, 2**61), 1), ((0, 2**60), 7), ((1,) * 65, 1)]:
        prefix = _bundle(tmp_path, {"w": _entry(dtype=dtype, shape=shape)})
        assert isinstance(_bounded(_read_every_tensor, prefix), UnimplementedError), shape


def test_string_tensor_declaring_a_billion_elements(tmp_path):
    prefix = _bundle(tmp_path, {"s": _entry(dtype=7, shape=(10**9,), size=8)}, bytes(8))
    assert isinstance(_bounded(_read_every_tensor, prefix), DataLossError)


def test_partitioned_tensor_claiming_a_huge_shape(tmp_path):
    # Two slices that together "cover" 2**40 elements, each backed by 4 bytes: the
    # result must not be allocated before the slices' own sizes are checked.
    halves = [TensorSlice(((0, 2**19), (0, -1))), TensorSlice(((2**19, 2**19), (0, -1)))]
    data = np.float32(1).tobytes()
    crc = crc32c.mask(crc32c.crc32c(data))
    entries = {"emb": _entry(shape=(2**20, 2**20), slices=halves)}
    for slc in halves:
        entries[encode_tensor_name_slice("emb", slc)] = _entry(shape=(2**19, 2**20), size=4, crc=crc)
    prefix = str(tmp_path / "p")
    write_index(prefix, {bundle.key_bytes(k): e for k, e in entries.items()}, bundle.new_header(1))
    (tmp_path / "p.data-00000-of-00001").write_bytes(data)
    assert isinstance(_bounded(_read_every_tensor, prefix), DataLossError)


def test_thousands_of_slices_are_checked_in_linear_time(tmp_path):
    n = 3000
    values = np.arange(n, dtype=np.float32)
    write_bundle(str(tmp_path / "m"), ["v"] * n, [f"{n} {i},1" for i in range(n)], [values[i : i + 1] for i in range(n)])
    start = time.perf_counter()
    with BundleReader(tmp_path / "m") as reader:
        assert np.array_equal(reader.read("v"), values)
    assert time.perf_counter() - start < TIME_LIMIT
    # The same slices listed with one overlap among thousands.
    with BundleReader(tmp_path / "m") as reader:
        full = reader.entry("v")
    full.slices[7].CopyFrom(TensorSlice(((6, 2),)).to_proto())
    full.slices[6].CopyFrom(TensorSlice(((5, 1),)).to_proto())
    full.slices[5].CopyFrom(TensorSlice(((4, 1),)).to_proto())
    full.slices[4].CopyFrom(TensorSlice(((3, 1),)).to_proto())
    full.slices[3].CopyFrom(TensorSlice(((3, 1),)).to_proto())
    with BundleReader(tmp_path / "m") as reader:
        entries = {key: reader.entry(key) for key in reader.keys()}
    entries[b"v"] = full
    write_index(str(tmp_path / "m"), entries, bundle.new_header(1))
    with BundleReader(tmp_path / "m") as reader, pytest.raises(DataLossError, match="overlap|cover"):
        reader.read("v")


def _table_with_block(path, block: bytes, last_key: bytes):
    """A table whose only data block is ``block`` (raw, trailer added here)."""
    def with_trailer(contents):
        return contents + b"\x00" + struct.pack("<I", crc32c.mask(crc32c.extend(crc32c.crc32c(contents), b"\x00")))

    out = bytearray(with_trailer(block))
    meta = BlockBuilder(1).finish()
    meta_handle = encode_handle(BlockHandle(len(out), len(meta)))
    out += with_trailer(meta)
    index = BlockBuilder(1)
    index.add(last_key + b"\xff", encode_handle(BlockHandle(0, len(block))))
    index_bytes = index.finish()
    index_handle = encode_handle(BlockHandle(len(out), len(index_bytes)))
    out += with_trailer(index_bytes)
    footer = meta_handle + index_handle
    out += footer + bytes(40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    path.write_bytes(bytes(out))


def test_prefix_sharing_bomb_is_refused_quickly(tmp_path):
    # Every entry repeats the whole previous key and adds one byte: 40k entries
    # in ~200 KB would describe keys totalling ~800 MB.
    entries, key_len = bytearray(), 0
    for _ in range(40000):
        entries += encode_varint(key_len) + b"\x01\x00a"
        key_len += 1
    block = bytes(entries) + struct.pack("<II", 0, 1)
    _table_with_block(tmp_path / "bomb", block, b"a" * key_len)
    error = _bounded(lambda: TableReader(tmp_path / "bomb").get(b"a"))
    assert isinstance(error, DataLossError) and "expand" in str(error)


def test_entries_sharing_bytes_read_what_they_name(tmp_path):
    # Overlapping offsets are not corruption by themselves: each entry is checked
    # against the bytes it names.
    data = np.arange(4, dtype=np.float32).tobytes()
    crc = crc32c.mask(crc32c.crc32c(data))
    prefix = _bundle(tmp_path, {"a": _entry(shape=(4,), size=16, crc=crc), "b": _entry(shape=(2, 2), size=16, crc=crc),
                                "c": _entry(shape=(2,), offset=8, size=8, crc=crc)}, data)  # fmt: skip
    with BundleReader(prefix) as reader:
        assert reader.read("b").tolist() == [[0, 1], [2, 3]]
        with pytest.raises(DataLossError, match="checksum"):
            reader.read("c")


def test_offsets_and_sizes_past_any_file(tmp_path):
    for offset, size in [(2**63 - 1, 4), (0, 2**63 - 1), (2**62, 2**62)]:
        prefix = _bundle(tmp_path, {"w": _entry(shape=(), offset=offset, size=size)}, bytes(4))
        error = _bounded(_read_every_tensor, prefix)
        assert isinstance(error, DataLossError) and "run past the end" in str(error)


def test_header_claiming_billions_of_shards(tmp_path):
    header = bundle.new_header(2**31 - 1)
    prefix = _bundle(tmp_path, {"w": _entry(shape=(), size=4)}, bytes(4), header)
    with BundleReader(prefix) as reader:
        error = _bounded(reader.check_data_files)
    assert isinstance(error, DataLossError) and "2147483647 data files" in str(error)


def test_variant_nested_beyond_the_protobuf_limit(tmp_path):
    body = b""
    for _ in range(200):  # VariantTensorDataProto.tensors -> TensorProto.variant_val -> ...
        tensor = b"\x7a" + encode_varint(len(body)) + body  # TensorProto field 15 (variant_val)
        body = b"\x1a" + encode_varint(len(tensor)) + tensor  # VariantTensorDataProto field 3 (tensors)
    length = encode_varint(len(body))
    crc = crc32c.extend(crc32c.crc32c(struct.pack("<Q", len(body))), body)
    element = length + body + struct.pack("<I", crc32c.mask(crc))
    entry_crc = crc32c.mask(crc32c.extend(crc, element[-4:]))
    prefix = _bundle(tmp_path, {"v": _entry(dtype=21, shape=(), size=len(element), crc=entry_crc)}, element)
    error = _bounded(_read_every_tensor, prefix)
    assert isinstance(error, DataLossError) and "offset" in str(error)


def test_snappy_blocks():
    # "abcabcabcabc": literal "abc", then a copy of 9 bytes from 3 back (overlapping).
    assert snappy.uncompress(bytes.fromhex("0c 08 616263 1503"), "t") == b"abc" * 4
    for bad, why in [("0c 08 616263 1504", "back"), ("0c 0c 6162", "past the block"), ("05 08 616263 1503", "exceeds"),
                     ("0d 08 616263 1503", "header says"), ("ffffffffff", "varint")]:  # fmt: skip
        with pytest.raises(DataLossError, match=why):
            snappy.uncompress(bytes.fromhex(bad), "t")


def _attr_value_chain(depth):
    value = b""
    for _ in range(depth):  # AttrValue.func -> NameAttrList.attr["b"] -> AttrValue ...
        entry = b"\x0a\x01b\x12" + encode_varint(len(value)) + value
        names = b"\x12" + encode_varint(len(entry)) + entry
        value = b"\x52" + encode_varint(len(names)) + names
    return value


def test_graph_files_nested_too_deeply(tmp_path):
    with pytest.raises(DataLossError, match=r"offset \d+ .*nested deeper than 100"):
        parse_message(graph_pb2.AttrValue(), _attr_value_chain(150), "deep.pb")
    text = 'node { attr { key: "a" value { ' + 'func { attr { key: "b" value { ' * 3000 + "}}}" * 3000 + "}}}"
    (tmp_path / "deep.pbtxt").write_text(text)
    with pytest.raises(DataLossError, match="nested too deeply"):
        read_message_file(str(tmp_path / "deep.pbtxt"), graph_pb2.GraphDef)
    with pytest.raises(DataLossError, match=r"offset 2 \(field name\): invalid UTF-8"):
        parse_message(graph_pb2.NodeDef(), b"\x0a\x02\xff\xfe", "bad.pb")
    with pytest.raises(DataLossError, match="1:14"):
        parse_text_message(graph_pb2.GraphDef(), 'node { name: "a" ', "bad.pbtxt")


def test_meta_file_errors_name_the_offset_and_are_oserrors(tmp_path):
    meta = (FIXTURES / "seed_ref" / "my_test_model-1000.meta").read_bytes()
    (tmp_path / "cut.meta").write_bytes(meta[:-7])
    with pytest.raises(DataLossError, match=r"cut.meta.*offset \d+ \(field collection_def\)") as caught:
        read_meta_graph_file(tmp_path / "cut.meta")
    assert isinstance(caught.value, OSError)


def test_hostile_state_files(tmp_path):
    state = tmp_path / "checkpoint"
    with open(state, "wb") as f:
        f.truncate(100 << 20)  # sparse: a 100 MB state file is refused before it is read
    with pytest.warns(CheckpointStateWarning, match="more than"):
        assert _bounded(lambda: get_checkpoint_state(str(tmp_path))) is None
    for text in [b'model_checkpoint_path: "\xff\xfe"\n', b"model_checkpoint_path { { {\n", b"\x00" * 100]:
        state.write_bytes(text)
        with pytest.warns(CheckpointStateWarning):
            assert get_checkpoint_state(str(tmp_path)) is None
    # Found by atheris: a NUL byte next to glob characters once reached glob.glob (ValueError).
    state.write_bytes(b'model_checkpoint_path: "ml_\\000\\025: /m*del]_paths"\n')
    with pytest.warns(CheckpointStateWarning, match="whose files do not exist"):
        assert latest_checkpoint(str(tmp_path)) is None
    state.write_bytes(b'model_checkpoint_path: "a\\000b"\nall_model_checkpoint_paths: "../../x"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = get_checkpoint_state(str(tmp_path))
    assert got.model_checkpoint_path == str(tmp_path / "a\0b")

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nanotf.errors import DataLossError, InvalidArgumentError
from nanotf.formats.table import TableReader
from nanotf.formats.table_writer import BLOCK_SIZE, TableWriter, short_successor, shortest_separator

from fixture_io import FIXTURES, load_expected

SEED_INDEX = (
    "00000608011a02080100040b626961730801120028043510fd784f00000000010000000007814b4f000000000100000000c0f2a1b0"
    "0001026300230000000001000000006e253dc82808350e" + "00" * 36 + "57fb808b247547db"
)


def write_table(path, items):
    with open(path, "wb") as f:
        table = TableWriter(f, str(path))
        for key, value in items:
            table.add(key, value)
        return table.finish()


def test_seed_index_bytes(tmp_path):
    path = tmp_path / "t.index"
    write_table(path, [(b"", bytes.fromhex("08011a020801")), (b"bias", bytes.fromhex("0801120028043510fd784f"))])
    assert path.read_bytes().hex() == SEED_INDEX
    with TableReader(path) as table:
        assert [(k, bytes(v).hex()) for k, v in table] == [(b"", "08011a020801"), (b"bias", "0801120028043510fd784f")]


@pytest.mark.parametrize("start,limit,expected", [
    (b"abc", b"abe", b"abd"), (b"abc", b"abd", b"abc"), (b"ab", b"abc", b"ab"), (b"a\xff", b"b", b"a\xff"),
    (b"layer_06053/x", b"layer_06054/x", b"layer_06053/x"), (b"a1", b"a9", b"a2"),
])
def test_shortest_separator(start, limit, expected):
    assert shortest_separator(start, limit) == expected


def test_short_successor():
    assert short_successor(b"bias") == b"c"
    assert short_successor(b"\xff\xffa") == b"\xff\xffb"
    assert short_successor(b"\xff\xff") == b"\xff\xff"


def test_empty_table_round_trip(tmp_path):
    write_table(tmp_path / "t", [])
    with TableReader(tmp_path / "t") as table:
        assert list(table) == [] and table.get(b"") is None


def test_out_of_order_keys_rejected():
    table = TableWriter(io.BytesIO())
    table.add(b"b", b"")
    with pytest.raises(InvalidArgumentError):
        table.add(b"a", b"")


entries = st.dictionaries(st.binary(max_size=12), st.binary(max_size=40), max_size=300)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=entries, probes=st.lists(st.binary(max_size=12), max_size=20), big=st.integers(0, 3))
def test_table_matches_sorted_dict(tmp_path, data, probes, big):
    # A few values far larger than a block force flushes and multi-block indexes.
    data = dict(data)
    for i in range(big):
        data[b"big%d" % i] = bytes([i]) * (BLOCK_SIZE // 2 + i * BLOCK_SIZE)
    items = sorted(data.items())
    path = tmp_path / "model.tbl"
    write_table(path, items)
    with TableReader(path) as table:
        assert [(k, bytes(v)) for k, v in table] == items
        for key in list(data)[:50] + probes:
            value = table.get(key)
            assert (None if value is None else bytes(value)) == data.get(key)
            assert [k for k, _ in table.items(key)] == [k for k, _ in items if k >= key]


def test_multiblock_fixture_index(tmp_path):
    expected = load_expected("multiblock")
    with TableReader(FIXTURES / "multiblock" / "model.index") as table:
        assert [k.decode() for k in table.index.keys] == expected["index"]["index_block_keys"]
        assert len(list(table)) == expected["generated"]["count"] + 1


def test_bad_magic_and_short_file(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(bytes.fromhex(SEED_INDEX)[:-1] + b"\x00")
    with pytest.raises(DataLossError, match="magic"):
        TableReader(path)
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(DataLossError, match="too short"):
        TableReader(path)


def test_block_checksum_and_skip(tmp_path):
    raw = bytearray.fromhex(SEED_INDEX)
    raw[0x18] ^= 0x01  # a byte of the entry's value inside the data block
    path = tmp_path / "t"
    path.write_bytes(raw)
    with TableReader(path) as table, pytest.raises(DataLossError, match="offset 0.*checksum"):
        table.get(b"bias")
    with TableReader(path, verify_checksums=False) as table:
        assert bytes(table.get(b"bias")) != bytes.fromhex("0801120028043510fd784f")


def test_snappy_block_without_module_is_typed(tmp_path):
    from nanotf import errors

    raw = bytearray.fromhex(SEED_INDEX)
    raw[0x23] = 1  # data block type byte -> snappy
    path = tmp_path / "t"
    path.write_bytes(raw)
    with TableReader(path, verify_checksums=False) as table, pytest.raises(errors.OpError, match="snappy"):
        table.get(b"bias")

import numpy as np
import pytest

from nanotf.errors import DataLossError, InvalidArgumentError
from nanotf.formats.slices import (
    TensorSlice,
    assemble,
    encode_tensor_name_slice,
    format_shape_and_slice,
    parse_shape_and_slice,
)


@pytest.mark.parametrize("name,spec,key", [
    ("emb", "4,3:-", "00656d62000101028483807f"),
    ("emb", "4,3:0,4", "00656d620001010284838084"),
    ("a", "-", "006100010101807f"),
    ("i64", "", "00693634000100"),
    ("a\x00b\xff", "0,100", "006100ff62c3bf0001010180c064"),  # 00 and ff escaped; 100 -> c0 64
    ("big", "200,100:-", "0062696700010102c0c8c064807f"),
])
def test_ordered_code_keys(name, spec, key):
    assert encode_tensor_name_slice(name, TensorSlice.parse(spec)).hex() == key


def test_spec_round_trip_and_proto():
    shape, slc = parse_shape_and_slice("10 4 4,3:-")
    assert shape == [10, 4] and slc.extents == ((4, 3), (0, -1))
    assert format_shape_and_slice(shape, slc) == "10 4 4,3:-"
    assert slc.to_proto().SerializeToString().hex() == "0a0408041003" + "0a00"
    assert TensorSlice.from_proto(slc.to_proto()) == slc
    assert parse_shape_and_slice("") == (None, None)


@pytest.mark.parametrize("spec", ["10 4 4,3", "10 4 8,3:-", "10 x 0,1:-", "10 4 a,b:-", "10 4 -1,2:-"])
def test_bad_specs(spec):
    with pytest.raises(InvalidArgumentError):
        parse_shape_and_slice(spec)


def test_assemble_and_sub_slices():
    full = np.arange(40, dtype=np.float32).reshape(10, 4)
    stored = [TensorSlice.parse(s) for s in ("0,4:-", "4,3:-", "7,3:-")]
    parts = [full[0:4], full[4:7], full[7:10]]
    load = lambda i, direct: parts[i]  # noqa: E731
    np.testing.assert_array_equal(assemble([10, 4], TensorSlice.full(2), stored, load, np.float32, "t"), full)
    np.testing.assert_array_equal(assemble([10, 4], TensorSlice.parse("3,5:1,2"), stored, load, np.float32, "t"),
                                  full[3:8, 1:3])
    assert assemble([10, 4], TensorSlice.parse("4,3:-"), stored, load, np.float32, "t") is parts[1]
    with pytest.raises(DataLossError, match="cover"):
        assemble([10, 4], TensorSlice.full(2), stored[:2], load, np.float32, "t")
    with pytest.raises(DataLossError, match="overlap"):
        assemble([10, 4], TensorSlice.full(2), stored + [TensorSlice.parse("6,1:-")], load, np.float32, "t")

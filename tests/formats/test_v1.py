import numpy as np
import pytest

from nanotf.errors import NotFoundError
from nanotf.formats.v1 import V1Reader

from fixture_io import FIXTURES, assert_tensor_equal, load_expected, to_array


def test_reads_v1_fixture_exactly():
    expected = load_expected("v1")["checkpoints"]["model"]["tensors"]
    with V1Reader(FIXTURES / "v1" / "model") as reader:
        assert reader.variable_keys() == sorted(expected)
        for key, t in expected.items():
            assert reader.dtype(key).name == t["dtype"]
            assert_tensor_equal(reader.read(key), t)


def test_v1_sub_slice():
    full = to_array(load_expected("v1")["checkpoints"]["model"]["tensors"]["emb"])
    with V1Reader(FIXTURES / "v1" / "model") as reader:
        np.testing.assert_array_equal(reader.read("emb", "10 4 3,5:1,2"), full[3:8, 1:3])


def test_v1_missing(tmp_path):
    with pytest.raises(NotFoundError):
        V1Reader(tmp_path / "model")

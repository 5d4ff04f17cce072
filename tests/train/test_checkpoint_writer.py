import numpy as np
import pytest

import nanotf.train as train
from nanotf.errors import InvalidArgumentError

from formats.fixture_io import FIXTURES, load_expected, to_array


@pytest.mark.parametrize("fixture,prefix", [("mlp_adam", "model-3"), ("dtypes", "model"),
                                            ("seed_ref", "my_test_model-1000")])
def test_same_bytes_as_saver(tmp_path, monkeypatch, fixture, prefix):
    expected = load_expected(fixture)["checkpoints"][prefix]
    (op,) = expected["save_ops"]
    tensors = {t["key"]: to_array(t) for t in op["tensors"]}
    monkeypatch.chdir(tmp_path)
    assert train.write_checkpoint(prefix, tensors, dtypes={t["key"]: t["dtype"] for t in op["tensors"]}) == prefix
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / (prefix + suffix)).read_bytes() == (FIXTURES / fixture / (prefix + suffix)).read_bytes()
    assert (tmp_path / "checkpoint").read_bytes() == (FIXTURES / fixture / "checkpoint").read_bytes()


def test_partitioned_input_matches_saver(tmp_path):
    (op,) = load_expected("partitioned")["checkpoints"]["model"]["save_ops"]
    tensors = {}
    for t in op["tensors"]:
        if t["shape_and_slice"]:
            tensors.setdefault(t["key"], []).append((t["shape_and_slice"], to_array(t)))
        else:
            tensors[t["key"]] = to_array(t)
    train.write_checkpoint(str(tmp_path / "model"), tensors, write_state=False)
    for suffix in (".index", ".data-00000-of-00001"):
        assert (tmp_path / ("model" + suffix)).read_bytes() == (FIXTURES / "partitioned" / ("model" + suffix)).read_bytes()
    assert not (tmp_path / "checkpoint").exists()


def test_sharded_round_trip_and_state_history(tmp_path):
    values = {"a": np.arange(3.0), "b": np.array(["x", "yz"], dtype=object), "c": np.int64(7)}
    train.write_checkpoint(str(tmp_path / "m-1"), values, num_shards=2)
    train.write_checkpoint(str(tmp_path / "m-2"), values, num_shards=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint", "m-1.data-00000-of-00002", "m-1.data-00001-of-00002", "m-1.index",
        "m-2.data-00000-of-00003", "m-2.data-00001-of-00003", "m-2.data-00002-of-00003", "m-2.index"]
    state = train.get_checkpoint_state(str(tmp_path))
    assert list(state.all_model_checkpoint_paths) == [str(tmp_path / "m-1"), str(tmp_path / "m-2")]
    reader = train.load_checkpoint(str(tmp_path))
    assert reader.prefix == str(tmp_path / "m-2")
    np.testing.assert_array_equal(reader.get_tensor("a"), values["a"])
    assert list(reader.get_tensor("b")) == [b"x", b"yz"] and reader.get_tensor("c") == 7


def test_bad_num_shards(tmp_path):
    with pytest.raises(InvalidArgumentError):
        train.write_checkpoint(str(tmp_path / "m"), {"a": np.zeros(1)}, num_shards=0)

import shutil

import numpy as np
import pytest

import nanotf.train as train
from nanotf.errors import NotFoundError

from formats.fixture_io import FIXTURES, assert_tensor_equal, load_expected


@pytest.mark.parametrize("fixture,prefix", [("dtypes", "model"), ("partitioned", "model"), ("sharded", "model"),
                                            ("v1", "model"), ("mlp_adam", "model-3")])
def test_reader_api_reads_fixtures(fixture, prefix):
    tensors = load_expected(fixture)["checkpoints"][prefix]["tensors"]
    reader = train.NewCheckpointReader(str(FIXTURES / fixture / prefix))
    assert reader.get_variable_to_shape_map() == {k: t["shape"] for k, t in tensors.items()}
    dtypes = reader.get_variable_to_dtype_map()
    assert {k: d.name for k, d in dtypes.items()} == {k: t["dtype"] for k, t in tensors.items()}
    for key, t in tensors.items():
        assert reader.has_tensor(key)
        assert_tensor_equal(reader.get_tensor(key), t)
    assert not reader.has_tensor("nope")


def test_directory_prefix_and_files_resolve(tmp_path):
    directory = FIXTURES / "seed_ref"
    prefix = str(directory / "my_test_model-1000")
    assert train.list_variables(str(directory)) == [("bias", [])]
    assert train.load_variable(prefix, "bias:0") == np.float32(2.0)
    for suffix in (".index", ".data-00000-of-00001", ".meta"):
        with pytest.warns(UserWarning, match="pass the prefix '" + prefix + "'"):
            assert train.load_checkpoint(prefix + suffix).prefix == prefix


def test_load_variable_is_writable():
    value = train.load_variable(str(FIXTURES / "partitioned"), "w")
    value += 1  # TF hands out arrays of their own


def test_missing_checkpoint_and_key(tmp_path):
    with pytest.raises(NotFoundError, match="no checkpoint in directory"):
        train.load_checkpoint(str(tmp_path))
    with pytest.raises(NotFoundError, match=r"model\.index"):
        train.load_checkpoint(str(tmp_path / "model"))
    reader = train.load_checkpoint(str(FIXTURES / "dtypes" / "model"))
    with pytest.raises(NotFoundError, match="closest: float32"):
        reader.get_tensor("float33")


def test_debug_string():
    reader = train.load_checkpoint(str(FIXTURES / "partitioned" / "model"))
    assert reader.debug_string() == b"emb (float) [10,4]\nw (float) [2,2]\n"


def test_dtype_objects_compare_like_tf_dtypes():
    dtype = train.load_checkpoint(str(FIXTURES / "dtypes" / "model")).get_variable_to_dtype_map()["bfloat16"]
    assert dtype == "bfloat16" and dtype.as_datatype_enum == 14 and repr(dtype) == "tf.bfloat16"


def test_v1_shards_by_pattern(tmp_path):
    shutil.copy(FIXTURES / "v1" / "model", tmp_path / "m-00000-of-00001")
    assert train.list_variables(str(tmp_path / "m-?????-of-00001"))[0] == ("emb", [10, 4])
    assert train.list_variables(str(tmp_path / "m"))[0] == ("emb", [10, 4])

"""DType conversions, TensorShape algebra and TF's Const encodings."""

import numpy as np
import pytest

import nanotf as tf
from nanotf.framework import tensor_util
from nanotf.protos import tensor_pb2


@pytest.mark.parametrize(
    "spelling, expected",
    [("float", tf.float32), ("float32", tf.float32), ("DT_DOUBLE", tf.float64), (1, tf.float32), (9, tf.int64),
     (np.int16, tf.int16), (np.dtype("bool"), tf.bool), (float, tf.float32), (bytes, tf.string), (101, tf.dtypes.float32_ref),
     ("half", tf.float16), (tf.bfloat16, tf.bfloat16)],
)  # fmt: skip
def test_as_dtype_spellings(spelling, expected):
    assert tf.as_dtype(spelling) is expected


def test_dtype_properties():
    assert tf.float32._as_ref.base_dtype is tf.float32
    assert tf.dtypes.float32_ref.name == "float32_ref"
    assert tf.int8.is_integer and not tf.float16.is_integer and tf.bfloat16.is_floating
    assert tf.uint8.is_unsigned and tf.qint8.is_quantized
    assert tf.int32.max == 2**31 - 1
    with pytest.raises(TypeError):
        tf.as_dtype("floatish")


def test_tensor_shape_partial_algebra():
    s = tf.TensorShape([None, 3])
    assert s.is_compatible_with([5, 3]) and not s.is_compatible_with([5, 4])
    assert s.merge_with([5, None]).as_list() == [5, 3]
    assert tf.TensorShape(None).ndims is None
    assert s.concatenate([2]).as_list() == [None, 3, 2]
    assert s[1].value == 3 and s[0].value is None
    proto = s.as_proto()
    assert [d.size for d in proto.dim] == [-1, 3]
    assert tf.TensorShape(proto) == s
    with pytest.raises(ValueError):
        s.merge_with([1, 2, 3])


@pytest.mark.parametrize(
    "value, kwargs, field",
    [([1.0, 2.0], {}, "tensor_content"), (2.0, {}, "float_val"), ([1.0], {}, "float_val"),
     (0.0, {"shape": [3, 2]}, "float_val"), ([1.0, 2.0], {"dtype": tf.float16}, "tensor_content"),
     (1.5, {"dtype": tf.float16}, "half_val"), ([True, False], {}, "bool_val"), ([b"a", "bc"], {}, "string_val"),
     (2**40, {}, "int64_val"), (np.array([1, 2], np.uint16), {}, "int_val"), ([1 + 2j, 3j], {}, "dcomplex_val")],
)  # fmt: skip
def test_make_tensor_proto_uses_tensorflows_field_and_round_trips(value, kwargs, field):
    proto = tensor_util.make_tensor_proto(value, **kwargs)
    assert len(getattr(proto, field)) > 0
    back = tensor_util.make_ndarray(tensor_pb2.TensorProto.FromString(proto.SerializeToString()))
    expected = np.broadcast_to(np.asarray(value, dtype=back.dtype), back.shape)
    if back.dtype == object:
        assert back.tolist() == [v.encode() if isinstance(v, str) else v for v in np.asarray(value, object).tolist()]
    else:
        np.testing.assert_array_equal(back, expected)


def test_python_defaults_and_short_values_repeat_last():
    assert tensor_util.make_tensor_proto(7).dtype == tf.int32.as_datatype_enum
    assert tensor_util.make_tensor_proto(7.0).dtype == tf.float32.as_datatype_enum
    proto = tensor_util.make_tensor_proto([1, 2], shape=[4])
    assert list(proto.int_val) == [1, 2]
    assert tensor_util.make_ndarray(proto).tolist() == [1, 2, 2, 2]
    with pytest.raises(ValueError):
        tensor_util.make_tensor_proto([1, 2, 3], shape=[2])

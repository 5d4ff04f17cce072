"""NumPy arrays <-> ``TensorProto``, encoded exactly as TensorFlow encodes graph Consts.

TensorFlow's choices (FORMATS.md §6 'Graph Const values'), which a byte-equal
GraphDef depends on:
  * an array of more than one element whose type can be memcpy'd goes to
    ``tensor_content`` (raw little-endian bytes);
  * anything else (scalars, one-element arrays, bool, complex, string,
    uint16) goes to the typed ``*_val`` field; half and bfloat16 go to
    ``half_val`` as their 16-bit patterns;
  * when ``shape`` asks for more elements than given, only the given values
    are stored and readers repeat the last one (``tf.zeros([3, 2])`` stores
    one ``float_val: 0``).
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.tensor_shape import as_shape
from nanotf.protos import tensor_pb2

__all__ = ["make_tensor_proto", "make_ndarray", "to_numpy"]

# Types TF writes as raw bytes in tensor_content (when more than one element).
_CONTENT_TYPES = {
    "float32", "float64", "int32", "uint8", "int8", "int64", "uint32", "uint64", "float16", "bfloat16",
    "qint8", "quint8", "qint16", "quint16", "qint32", "int16",
    "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz",
    "int4", "uint4", "int2", "uint2", "float4_e2m1fn",
}  # fmt: skip

# The typed repeated field for each dtype, for values written one by one.
_VAL_FIELD = {
    "float32": "float_val", "float64": "double_val", "int64": "int64_val", "bool": "bool_val",
    "string": "string_val", "complex64": "scomplex_val", "complex128": "dcomplex_val",
    "uint32": "uint32_val", "uint64": "uint64_val", "float16": "half_val", "bfloat16": "half_val",
    "resource": "resource_handle_val", "variant": "variant_val",
}  # fmt: skip
_INT_VAL = "int_val"  # int8/16/32, uint8/16, quantized


def _val_field(name: str) -> str:
    if name.startswith("float8") or name == "float4_e2m1fn":
        return "float8_val"
    return _VAL_FIELD.get(name, _INT_VAL)


def to_numpy(values, dtype=None) -> np.ndarray:
    """Converts Python/NumPy values to an array with TF's default types.

    Python floats become float32, ints int32 (int64 if they do not fit),
    strings are object arrays of ``bytes``.

    Args:
        values: a scalar, nested list or array.
        dtype: an optional target ``DType`` (anything ``as_dtype`` accepts).

    Returns:
        An ``np.ndarray``.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype).base_dtype
        if dtype == dtypes.string:
            return _string_array(values)
        arr = np.asarray(values)
        if arr.dtype.kind in "OSU":
            raise TypeError(f"Expected {dtype.name}, got {values!r} of type '{type(values).__name__}' instead.")
        target = np.dtype(dtype.as_numpy_dtype)
        if target.kind in "iu" and arr.dtype.kind == "f" and not np.all(np.floor(arr) == arr):
            raise TypeError(f"Expected {dtype.name}, got {values!r} of type '{type(values).__name__}' instead.")
        return arr.astype(target, copy=False)
    if isinstance(values, np.ndarray):
        return _string_array(values) if values.dtype.kind in "SU" else values
    if isinstance(values, np.generic):
        return np.asarray(values)
    arr = np.asarray(values)
    if arr.dtype.kind in "SUO":
        return _string_array(values)
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64:
        info = np.iinfo(np.int32)
        if arr.size == 0 or (arr.min() >= info.min and arr.max() <= info.max):
            return arr.astype(np.int32)
    return arr


def _string_array(values) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    flat = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def make_tensor_proto(values, dtype=None, shape=None) -> tensor_pb2.TensorProto:
    """Encodes ``values`` as a ``TensorProto`` the way TensorFlow does.

    Args:
        values: a scalar, nested list, or NumPy array.
        dtype: optional ``DType``; inferred from the values otherwise.
        shape: optional full shape; if it has more elements than ``values``,
            only the given values are stored (readers repeat the last).

    Returns:
        The ``TensorProto``.

    Raises:
        TypeError: if the values cannot be represented in ``dtype``.
        ValueError: if ``values`` has more elements than ``shape`` allows.
    """
    if isinstance(values, tensor_pb2.TensorProto):
        return values
    arr = to_numpy(values, dtype)
    dt = dtypes.as_dtype(dtype).base_dtype if dtype is not None else dtypes.as_dtype(arr.dtype)
    if shape is None:
        full_shape = list(arr.shape)
    else:
        full_shape = [int(d) for d in as_shape(shape).as_list()]
        n = int(np.prod(full_shape, dtype=np.int64))
        if arr.size > n:
            raise ValueError(f"Too many elements provided. Needed at most {n}, but received {arr.size}")
        if arr.size == n:
            arr = arr.reshape(full_shape)
        elif arr.size == 0 and n > 0:
            raise ValueError(f"Expected {n} values for shape {full_shape}, got none")
    proto = tensor_pb2.TensorProto(dtype=dt.as_datatype_enum)
    proto.tensor_shape.CopyFrom(as_shape(full_shape).as_proto())
    n_full = int(np.prod(full_shape, dtype=np.int64))
    if dt.name in _CONTENT_TYPES and arr.size == n_full and n_full > 1:
        proto.tensor_content = np.ascontiguousarray(arr).tobytes()
        return proto
    flat = arr.reshape(-1)
    field = _val_field(dt.name)
    if field == "half_val":
        getattr(proto, field).extend(flat.view(np.uint16).astype(np.int32).tolist())
    elif field in ("scomplex_val", "dcomplex_val"):
        pairs = np.stack([flat.real, flat.imag], axis=-1).reshape(-1)
        getattr(proto, field).extend(pairs.tolist())
    elif field == "float8_val":
        proto.float8_val = flat.tobytes()
    else:
        getattr(proto, field).extend(flat.tolist())
    return proto


def make_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decodes a ``TensorProto`` into a NumPy array (a fresh, writable copy).

    Args:
        proto: the tensor; either ``tensor_content`` or the typed values, the
            last value repeated to fill the shape.

    Returns:
        The array; strings come back as an object array of ``bytes``.
    """
    dt = dtypes.as_dtype(proto.dtype).base_dtype
    shape = [d.size for d in proto.tensor_shape.dim]
    n = int(np.prod(shape, dtype=np.int64))
    if dt == dtypes.string:
        values = list(proto.string_val)
        return _fill(np.array(values + [b""] * (not values), dtype=object), n, shape)
    np_type = np.dtype(dt.as_numpy_dtype)
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=np_type).copy().reshape(shape)
    field = _val_field(dt.name)
    if field == "half_val":
        values = np.array(proto.half_val, dtype=np.uint16).view(np_type)
    elif field in ("scomplex_val", "dcomplex_val"):
        raw = np.array(getattr(proto, field), dtype=np.float64)
        values = (raw[0::2] + 1j * raw[1::2]).astype(np_type)
    elif field == "float8_val":
        values = np.frombuffer(proto.float8_val, dtype=np_type)
    elif field in ("resource_handle_val", "variant_val"):
        values = np.array(list(getattr(proto, field)), dtype=object)
    else:
        values = np.array(getattr(proto, field), dtype=np_type)
    if values.size == 0:
        values = np.zeros(1, dtype=np_type)
    return _fill(values, n, shape)


def _fill(values: np.ndarray, n: int, shape: list) -> np.ndarray:
    if values.size >= n:
        return values[:n].reshape(shape)
    out = np.empty(n, dtype=values.dtype)
    out[: values.size] = values
    out[values.size :] = values[-1]
    return out.reshape(shape)

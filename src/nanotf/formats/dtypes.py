"""The wire table of TensorFlow's ``DataType`` enum: numbers, names, NumPy types.

This is the one place that knows how each dtype is laid out in bytes. The
graph-level ``nanotf.DType`` objects are built on top of it in
``framework/dtypes.py``; the formats layer uses it directly to decode tensors.

Quantized types are stored as their base integer type; ``_REF`` types are the
value type plus ``REF_OFFSET``. Files are little-endian; the NumPy types here
are native, and nanotf requires a little-endian host (checked at import).
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

REF_OFFSET = 100

if np.little_endian is False:  # pragma: no cover - no big-endian CI machine
    raise ImportError("nanotf needs a little-endian machine: tensor bytes are read in place")


@dataclass(frozen=True)
class WireDType:
    """One ``DataType`` value as it appears in files.

    Attributes:
        enum: the ``DataType`` number (1 = DT_FLOAT, ...).
        name: TensorFlow's Python name (``float32``, ``bfloat16``, ``string``).
        numpy: the NumPy dtype of the raw bytes, or None for string,
            resource and variant, which have their own encodings.
    """

    enum: int
    name: str
    numpy: np.dtype | None

    @property
    def itemsize(self) -> int | None:
        return None if self.numpy is None else self.numpy.itemsize


def _w(enum: int, name: str, numpy_type) -> WireDType:
    return WireDType(enum, name, None if numpy_type is None else np.dtype(numpy_type))


# Enum numbers are TensorFlow's (types.proto); names are tf.DType.name.
_TABLE = [
    _w(1, "float32", np.float32),
    _w(2, "float64", np.float64),
    _w(3, "int32", np.int32),
    _w(4, "uint8", np.uint8),
    _w(5, "int16", np.int16),
    _w(6, "int8", np.int8),
    _w(7, "string", None),
    _w(8, "complex64", np.complex64),
    _w(9, "int64", np.int64),
    _w(10, "bool", np.bool_),
    _w(11, "qint8", np.int8),
    _w(12, "quint8", np.uint8),
    _w(13, "qint32", np.int32),
    _w(14, "bfloat16", ml_dtypes.bfloat16),
    _w(15, "qint16", np.int16),
    _w(16, "quint16", np.uint16),
    _w(17, "uint16", np.uint16),
    _w(18, "complex128", np.complex128),
    _w(19, "float16", np.float16),
    _w(20, "resource", None),
    _w(21, "variant", None),
    _w(22, "uint32", np.uint32),
    _w(23, "uint64", np.uint64),
    _w(24, "float8_e5m2", ml_dtypes.float8_e5m2),
    _w(25, "float8_e4m3fn", ml_dtypes.float8_e4m3fn),
    _w(26, "float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz),
    _w(27, "float8_e4m3b11fnuz", ml_dtypes.float8_e4m3b11fnuz),
    _w(28, "float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz),
    _w(29, "int4", ml_dtypes.int4),
    _w(30, "uint4", ml_dtypes.uint4),
    _w(31, "int2", ml_dtypes.int2),
    _w(32, "uint2", ml_dtypes.uint2),
    _w(33, "float4_e2m1fn", ml_dtypes.float4_e2m1fn),
]

BY_ENUM: dict[int, WireDType] = {w.enum: w for w in _TABLE}
BY_NAME: dict[str, WireDType] = {w.name: w for w in _TABLE}

DT_FLOAT = 1
DT_STRING = 7
DT_RESOURCE = 20
DT_VARIANT = 21

# The NumPy type each plain (non-quantized) dtype maps back from. Quantized
# types share NumPy types with plain ints, so they are left out of this map.
_QUANTIZED = {"qint8", "quint8", "qint16", "quint16", "qint32"}
_BY_NUMPY: dict[np.dtype, WireDType] = {
    w.numpy: w for w in _TABLE if w.numpy is not None and w.name not in _QUANTIZED
}


def wire_dtype(enum: int) -> WireDType:
    """The WireDType for a ``DataType`` number, ``_REF`` types folded to their value type.

    Raises:
        KeyError: for a number TensorFlow does not define; callers turn this
            into a typed error that names their file or op.
    """
    if enum > REF_OFFSET:
        enum -= REF_OFFSET
    return BY_ENUM[enum]


def from_numpy(dtype) -> WireDType:
    """The WireDType of a NumPy dtype; ``object``/``str``/``bytes`` arrays are strings.

    Raises:
        KeyError: for NumPy types TensorFlow has no DataType for.
    """
    dtype = np.dtype(dtype)
    if dtype.kind in ("O", "S", "U"):
        return BY_ENUM[DT_STRING]
    if dtype.byteorder == ">":
        dtype = dtype.newbyteorder("<")
    return _BY_NUMPY[dtype]

"""Graph-level data types: ``nanotf.float32`` and friends, and ``as_dtype``.

A ``DType`` wraps one entry of the wire table in ``formats/dtypes.py`` and adds
what graph code needs: ref types (``float32_ref``, enum + 100), the predicates
TensorFlow exposes (``is_floating``, ``is_integer``), and conversions from the
many spellings TF accepts ("float", ``np.float32``, ``DT_FLOAT`` numbers).
"""

from __future__ import annotations

import builtins

import numpy as np

from nanotf.formats import dtypes as wire

__all__ = ["DType", "as_dtype"]

_FLOATING = {"float16", "float32", "float64", "bfloat16"} | {n for n in wire.BY_NAME if n.startswith("float8") or n == "float4_e2m1fn"}
_COMPLEX = {"complex64", "complex128"}
_QUANTIZED = {"qint8", "quint8", "qint16", "quint16", "qint32"}
_UNSIGNED = {"uint8", "uint16", "uint32", "uint64", "uint4", "uint2", "quint8", "quint16"}


class DType:
    """A TensorFlow data type; compare with ``==``, e.g. ``t.dtype == nanotf.float32``.

    Instances are interned: there is one object per enum value.
    """

    __slots__ = ("_enum", "_wire")

    def __init__(self, enum: int):
        self._enum = enum
        self._wire = wire.wire_dtype(enum)

    @property
    def as_datatype_enum(self) -> int:
        return self._enum

    @property
    def is_ref_dtype(self) -> bool:
        return self._enum > wire.REF_OFFSET

    @property
    def base_dtype(self) -> DType:
        return _BY_ENUM[self._enum - wire.REF_OFFSET] if self.is_ref_dtype else self

    @property
    def real_dtype(self) -> DType:
        base = self.base_dtype
        return {"complex64": float32, "complex128": float64}.get(base.name, base)

    @property
    def _as_ref(self) -> DType:
        return self if self.is_ref_dtype else _BY_ENUM[self._enum + wire.REF_OFFSET]

    @property
    def name(self) -> str:
        return self._wire.name + ("_ref" if self.is_ref_dtype else "")

    @property
    def as_numpy_dtype(self):
        """The NumPy scalar type; strings are ``object`` (arrays of ``bytes``)."""
        if self._wire.numpy is None:
            return np.object_
        return self._wire.numpy.type

    @property
    def is_floating(self) -> bool:
        return self._wire.name in _FLOATING

    @property
    def is_complex(self) -> bool:
        return self._wire.name in _COMPLEX

    @property
    def is_integer(self) -> bool:
        w = self._wire
        return w.numpy is not None and w.numpy.kind in "iu" and w.name not in _QUANTIZED

    @property
    def is_unsigned(self) -> bool:
        return self._wire.name in _UNSIGNED

    @property
    def is_quantized(self) -> bool:
        return self._wire.name in _QUANTIZED

    @property
    def is_bool(self) -> bool:
        return self._wire.name == "bool"

    @property
    def is_numpy_compatible(self) -> bool:
        return self._wire.numpy is not None

    @property
    def size(self) -> int:
        return self._wire.itemsize or 1

    @property
    def min(self):
        return _limits(self.base_dtype).min

    @property
    def max(self):
        return _limits(self.base_dtype).max

    def is_compatible_with(self, other) -> bool:
        other = as_dtype(other)
        return self._enum == other._enum or self._enum == other.base_dtype._enum

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return self._enum == other._enum
        try:
            return self._enum == as_dtype(other)._enum
        except TypeError:
            return False

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return self._enum

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self._enum,)


def _limits(d: DType):
    np_type = np.dtype(d.as_numpy_dtype)
    if d.is_floating:
        import ml_dtypes

        return ml_dtypes.finfo(np_type)
    if d.is_integer:
        import ml_dtypes

        return ml_dtypes.iinfo(np_type)
    raise TypeError(f"{d} has no min/max")


_BY_ENUM: dict[int, DType] = {}
for _enum in wire.BY_ENUM:
    _BY_ENUM[_enum] = DType(_enum)
    _BY_ENUM[_enum + wire.REF_OFFSET] = DType(_enum + wire.REF_OFFSET)

_BY_NAME: dict[str, DType] = {d.name: d for d in _BY_ENUM.values()}
# Spellings TF's as_dtype accepts besides the canonical names.
_BY_NAME.update(
    {
        "float": _BY_NAME["float32"],
        "half": _BY_NAME["float16"],
        "double": _BY_NAME["float64"],
        "float_ref": _BY_NAME["float32_ref"],
        "half_ref": _BY_NAME["float16_ref"],
        "double_ref": _BY_NAME["float64_ref"],
    }
)
for _d in list(_BY_ENUM.values()):
    _BY_NAME["DT_" + _d._wire.name.upper() + ("_REF" if _d.is_ref_dtype else "")] = _d
_BY_NAME.update({"DT_FLOAT": _BY_NAME["float32"], "DT_DOUBLE": _BY_NAME["float64"], "DT_HALF": _BY_NAME["float16"]})


def as_dtype(type_value) -> DType:
    """Converts ``type_value`` to a ``DType``.

    Args:
        type_value: a ``DType``, a ``DataType`` enum number, a name ("float32",
            "float", "DT_FLOAT"), a NumPy dtype or scalar type, or Python
            ``float``/``int``/``bool``/``str``/``bytes``.

    Returns:
        The interned ``DType``.

    Raises:
        TypeError: if the value names no TensorFlow type.
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, (int, np.integer)) and not isinstance(type_value, builtins.bool):
        try:
            return _BY_ENUM[int(type_value)]
        except KeyError:
            raise TypeError(f"Cannot convert {type_value!r} to a dtype: no DataType has that number") from None
    if isinstance(type_value, str):
        try:
            return _BY_NAME[type_value]
        except KeyError:
            raise TypeError(f"Cannot convert {type_value!r} to a dtype: unknown type name") from None
    python_types = {
        builtins.float: "float32",
        builtins.int: "int32",
        builtins.bool: "bool",
        builtins.str: "string",
        builtins.bytes: "string",
        builtins.complex: "complex128",
    }
    if type_value in python_types:
        return _BY_NAME[python_types[type_value]]
    try:
        return _BY_ENUM[wire.from_numpy(type_value).enum]
    except (KeyError, TypeError):
        raise TypeError(f"Cannot convert {type_value!r} to a dtype") from None


# The module-level names (``dtypes.float32``, ``dtypes.bool``, ...). Note that
# ``bool`` here shadows the builtin, as in TensorFlow; use ``builtins.bool``.
float16 = half = _BY_NAME["float16"]
float32 = _BY_NAME["float32"]
float64 = double = _BY_NAME["float64"]
bfloat16 = _BY_NAME["bfloat16"]
int8, int16, int32, int64 = (_BY_NAME[n] for n in ("int8", "int16", "int32", "int64"))
uint8, uint16, uint32, uint64 = (_BY_NAME[n] for n in ("uint8", "uint16", "uint32", "uint64"))
qint8, quint8, qint16, quint16, qint32 = (_BY_NAME[n] for n in ("qint8", "quint8", "qint16", "quint16", "qint32"))
complex64, complex128 = _BY_NAME["complex64"], _BY_NAME["complex128"]
bool = _BY_NAME["bool"]  # noqa: A001 - TensorFlow's name
string, resource, variant = _BY_NAME["string"], _BY_NAME["resource"], _BY_NAME["variant"]
float32_ref, float64_ref, int32_ref, int64_ref = (_BY_NAME[n + "_ref"] for n in ("float32", "float64", "int32", "int64"))

__all__ += [
    "float16", "half", "float32", "float64", "double", "bfloat16", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "qint8", "quint8", "qint16", "quint16", "qint32",
    "complex64", "complex128", "bool", "string", "resource", "variant",
]  # fmt: skip

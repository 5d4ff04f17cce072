"""Type lists that many OpDefs share, copied from TensorFlow's OpDefs (order matters)."""

REAL_NUMBER = "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}"
NUMBER = (
    "{float, double, int32, uint8, int16, int8, complex64, int64, qint8, quint8, qint32, bfloat16, "
    "qint16, quint16, uint16, complex128, half, uint32, uint64}"
)
FLOAT_COMPLEX = "{bfloat16, half, float, double, complex64, complex128}"
FLOAT = "{half, bfloat16, float, double}"
INDEX = "{int32, int64}"

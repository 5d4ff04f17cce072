"""Protobuf base-128 varints, as tables and bundles store lengths and handles.

A varint is little-endian groups of 7 bits, the high bit of each byte saying
"more follows". 32-bit varints take at most 5 bytes, 64-bit at most 10.
"""

from __future__ import annotations

from ..errors import DataLossError

MAX_VARINT32_BYTES = 5
MAX_VARINT64_BYTES = 10
_UINT64_LIMIT = 1 << 64


def encode_varint(value: int) -> bytes:
    """Encode an unsigned integer below 2**64.

    Args:
        value: the integer, 0 <= value < 2**64.

    Returns:
        Its varint bytes.
    """
    if not 0 <= value < _UINT64_LIMIT:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf, pos: int, end: int, where: str, max_bytes: int = MAX_VARINT64_BYTES) -> tuple[int, int]:
    """Decode one varint from ``buf[pos:end]``.

    Args:
        buf: bytes, bytearray, memoryview or mmap.
        pos: offset of the first byte.
        end: offset the varint must not reach past.
        where: names the file and structure, for the error message.
        max_bytes: 5 for varint32, 10 for varint64.

    Returns:
        ``(value, offset just after the varint)``.

    Raises:
        DataLossError: if the varint runs past ``end`` or is too long.
    """
    result = 0
    shift = 0
    limit = min(end, pos + max_bytes)
    i = pos
    while i < limit:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if max_bytes == MAX_VARINT32_BYTES and result > 0xFFFFFFFF:
                break
            if result >= _UINT64_LIMIT:
                break
            return result, i
        shift += 7
    raise DataLossError(f"{where}: bad or truncated varint at offset {pos}")

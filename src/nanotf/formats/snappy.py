"""Decoding snappy-compressed table blocks (the raw snappy format, no framing).

TensorFlow never compresses checkpoint tables, but its reader accepts block
type 1 = snappy, so nanotf decodes it too. Speed does not matter here;
bounds do: the output grows only as copies and literals are decoded (never
pre-allocated from the declared length), and every length and offset is
checked, so a hostile block costs at most ~22x its own size.

Layout::

    varint32 uncompressed length
    elements, each starting with a tag byte whose low 2 bits say:
      00 literal   length-1 = tag >> 2 if < 60, else in the next (tag>>2) - 59 bytes (LE)
      01 copy      length = 4 + ((tag >> 2) & 7), offset = (tag >> 5) << 8 | next byte
      10 copy      length = 1 + (tag >> 2), offset = next 2 bytes (LE)
      11 copy      length = 1 + (tag >> 2), offset = next 4 bytes (LE)

A copy repeats ``length`` bytes starting ``offset`` bytes back in the output;
it may overlap its own output (offset < length repeats a pattern).
"""

from __future__ import annotations

from ..errors import DataLossError
from .varint import MAX_VARINT32_BYTES, decode_varint

_LITERAL, _COPY1, _COPY2, _COPY4 = 0, 1, 2, 3
_SHORT_LITERAL_LIMIT = 60


def uncompress(data, where: str) -> bytes:
    """Decode one raw snappy buffer.

    Args:
        data: the compressed bytes.
        where: names the file and block for error messages.

    Raises:
        DataLossError: for a malformed buffer, naming the offset in it.
    """
    end = len(data)
    expected, pos = decode_varint(data, 0, end, f"{where}: snappy length", MAX_VARINT32_BYTES)
    out = bytearray()
    while pos < end:
        start = pos
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == _LITERAL:
            length = tag >> 2
            if length >= _SHORT_LITERAL_LIMIT:
                extra = length - _SHORT_LITERAL_LIMIT + 1
                if pos + extra > end:
                    raise DataLossError(f"{where}: snappy literal length at offset {start} is truncated")
                length = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise DataLossError(f"{where}: snappy literal of {length} bytes at offset {start} runs past the block")
            out += data[pos : pos + length]
            pos += length
        else:
            width = {_COPY1: 1, _COPY2: 2, _COPY4: 4}[kind]
            if pos + width > end:
                raise DataLossError(f"{where}: snappy copy at offset {start} is truncated")
            if kind == _COPY1:
                length, offset = 4 + ((tag >> 2) & 7), (tag >> 5) << 8 | data[pos]
            else:
                length, offset = 1 + (tag >> 2), int.from_bytes(data[pos : pos + width], "little")
            pos += width
            if not 0 < offset <= len(out):
                raise DataLossError(f"{where}: snappy copy at offset {start} reaches {offset} bytes back "
                                    f"into {len(out)} bytes of output")  # fmt: skip
            if offset >= length:
                begin = len(out) - offset
                out += out[begin : begin + length]
            else:  # the copy overlaps what it writes: byte by byte
                for _ in range(length):
                    out.append(out[-offset])
        if len(out) > expected:
            raise DataLossError(f"{where}: snappy data at offset {start} exceeds the declared {expected} bytes")
    if len(out) != expected:
        raise DataLossError(f"{where}: snappy data decodes to {len(out)} bytes, the header says {expected}")
    return bytes(out)

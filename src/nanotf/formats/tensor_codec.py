"""Encoding and decoding one tensor's bytes in a bundle data file.

Layouts (all little-endian; "mask" is crc32c.mask)::

    numeric   raw C-order element bytes; entry crc = mask(crc32c(bytes))
    string    varint64 len[0..n) | fixed32 mask(C1) | bytes[0] bytes[1] ...
              C1 = crc32c over every length as uint32 LE (uint64 if >= 2**32)
              entry crc = mask(crc of: C1's input, the 4 stored bytes, all string bytes)
    variant   per element: varint64 L | L bytes VariantTensorDataProto | fixed32 mask(R)
              R = running crc over L as uint64 LE, the proto bytes, then each stored checksum
              entry crc = mask(final R)

Decoding reads from a buffer (normally an mmap of the data file) and returns
numeric tensors zero-copy unless asked to copy; it checks every length against
the entry's size before allocating anything.
"""

from __future__ import annotations

import functools
import struct
from typing import Callable

import numpy as np

from ..errors import DataLossError, InvalidArgumentError
from ..protos import tensor_pb2
from . import crc32c, dtypes, parallel
from .protoparse import parse_message
from .varint import decode_varint, encode_varint

WRITE_CHUNK = 64 << 20  # bytes hashed and written per step for large numeric tensors
# From this size a chunk's checksum is computed on an I/O thread while this thread writes the same
# bytes, rather than after the write: 1 GiB in tensors of 10 MiB was written (without fsync) in 0.30 s
# so against 0.40 s. Smaller chunks lose more to the hand-over than they gain: 100 MiB in tensors of
# 512 KiB took 76 ms so against 50 ms (project machine, in-process medians of 8-15, alternated).
CHECKSUM_BESIDE_MIN = 4 << 20
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_UINT32_MAX = 0xFFFFFFFF


def _length_bytes(n: int) -> bytes:
    return _U32.pack(n) if n <= _UINT32_MAX else _U64.pack(n)


def to_string_elements(array: np.ndarray, what: str) -> list[bytes]:
    """The elements of a string tensor as bytes, in C order; ``str`` is UTF-8 encoded.

    Raises:
        InvalidArgumentError: for an element that is neither bytes nor str.
    """
    out = []
    for item in np.asarray(array).ravel(order="C"):
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, str):
            out.append(item.encode("utf-8"))
        else:
            raise InvalidArgumentError(f"{what}: string tensor element {item!r} is not bytes or str")
    return out


def _numeric_chunks(array: np.ndarray, wire: dtypes.WireDType):
    """Yield the tensor's little-endian C-order bytes in pieces, copying only what must be."""
    if array.flags.c_contiguous and array.dtype == wire.numpy:
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, flat.size, WRITE_CHUNK):
            yield flat[start : start + WRITE_CHUNK]
        return
    if array.ndim == 0:
        yield np.ascontiguousarray(array, dtype=wire.numpy).reshape(-1).view(np.uint8)
        return
    row_bytes = max(1, array[0].size * wire.itemsize)
    rows = max(1, WRITE_CHUNK // row_bytes)
    for start in range(0, array.shape[0], rows):
        yield np.ascontiguousarray(array[start : start + rows], dtype=wire.numpy).reshape(-1).view(np.uint8)


def encode_tensor(array: np.ndarray, wire: dtypes.WireDType, write: Callable, what: str) -> tuple[int, int]:
    """Stream one tensor's encoding to ``write``.

    Args:
        array: the tensor (any NumPy array; converted chunk by chunk if its
            dtype or layout differs from the wire format).
        wire: the DataType to store it as.
        write: called with successive bytes-like pieces.
        what: names the tensor for error messages.

    Returns:
        ``(size in bytes, unmasked entry crc32c)``.
    """
    if wire.enum == dtypes.DT_STRING:
        return _encode_strings(to_string_elements(array, what), write)
    if wire.enum == dtypes.DT_VARIANT:
        return _encode_variants(array, write, what)
    if wire.numpy is None:
        raise InvalidArgumentError(f"{what}: cannot save a tensor of type {wire.name}")
    size, crc = 0, 0
    for chunk in _numeric_chunks(np.asarray(array), wire):
        if chunk.size < CHECKSUM_BESIDE_MIN:
            write(chunk)
            crc = crc32c.extend(crc, chunk)
        else:
            pending = parallel.submit_shared(functools.partial(crc32c.extend, crc), [chunk])[0]
            write(chunk)
            crc = pending.result()
        size += chunk.size
    return size, crc


def _encode_strings(items: list[bytes], write: Callable) -> tuple[int, int]:
    lengths = b"".join(encode_varint(len(s)) for s in items)
    crc = crc32c.crc32c(b"".join(_length_bytes(len(s)) for s in items))
    checksum = _U32.pack(crc32c.mask(crc))
    body = b"".join(items)
    crc = crc32c.extend(crc32c.extend(crc, checksum), body)
    write(lengths + checksum)
    write(body)
    return len(lengths) + len(checksum) + len(body), crc


def _encode_variants(array: np.ndarray, write: Callable, what: str) -> tuple[int, int]:
    size, crc = 0, 0
    for item in np.asarray(array, dtype=object).ravel(order="C"):
        if not isinstance(item, tensor_pb2.VariantTensorDataProto):
            raise InvalidArgumentError(f"{what}: variant element {item!r} is not a VariantTensorDataProto")
        body = item.SerializeToString(deterministic=True)
        crc = crc32c.extend(crc32c.extend(crc, _U64.pack(len(body))), body)
        checksum = _U32.pack(crc32c.mask(crc))
        crc = crc32c.extend(crc, checksum)
        piece = encode_varint(len(body)) + body + checksum
        write(piece)
        size += len(piece)
    return size, crc


def decode_tensor(buf, offset: int, size: int, stored_crc: int, wire: dtypes.WireDType, shape: tuple[int, ...],
                  where: str, verify: bool = True, copy: bool = False) -> np.ndarray:
    """Decode one tensor from ``buf[offset:offset+size]``.

    Args:
        buf: the data file's bytes (an mmap memoryview, or bytes); the range
            must already be checked to lie inside it.
        offset, size: the entry's byte range.
        stored_crc: the entry's masked crc32c.
        wire: the entry's dtype; shape: its shape.
        where: names the file and key for error messages.
        verify: check the checksum(s).
        copy: return an array that owns its memory; otherwise numeric tensors
            are read-only views of ``buf``.

    Returns:
        The tensor; strings as an object array of bytes, variants as an
        object array of VariantTensorDataProto.

    Raises:
        DataLossError: if sizes disagree or a checksum does not match.
    """
    n = int(np.prod(shape, dtype=object))
    if wire.enum == dtypes.DT_STRING:
        array = _decode_strings(buf, offset, size, n, where, verify)
    elif wire.enum == dtypes.DT_VARIANT:
        array = _decode_variants(buf, offset, size, n, where, verify)
    elif wire.numpy is None:
        raise DataLossError(f"{where}: tensors of type {wire.name} cannot be stored in a checkpoint")
    else:
        if size != n * wire.itemsize:
            raise DataLossError(
                f"{where}: entry size {size} at offset {offset} does not match "
                f"{n} x {wire.itemsize}-byte {wire.name} elements of shape {list(shape)}"
            )
        view = buf[offset : offset + size]
        if verify and crc32c.crc32c(view) != crc32c.unmask(stored_crc):
            raise DataLossError(f"{where}: checksum mismatch in the {size} data bytes at offset {offset}")
        array = (np.frombuffer(view, dtype=wire.numpy) if n else np.empty(0, dtype=wire.numpy)).reshape(shape)
        return array.copy() if copy else array
    if verify and array.crc != crc32c.unmask(stored_crc):
        raise DataLossError(f"{where}: checksum mismatch in the {size} data bytes at offset {offset}")
    return array.values.reshape(shape)


class _Decoded:
    __slots__ = ("values", "crc")

    def __init__(self, values: np.ndarray, crc: int):
        self.values = values
        self.crc = crc


def _decode_strings(buf, offset: int, size: int, n: int, where: str, verify: bool) -> _Decoded:
    end = offset + size
    if n + 4 > size:
        raise DataLossError(f"{where}: {size} bytes at offset {offset} cannot hold {n} strings")
    lengths = []
    pos = offset
    for _ in range(n):
        length, pos = decode_varint(buf, pos, end - 4, where)
        lengths.append(length)
    (stored,) = _U32.unpack_from(buf, pos)
    crc = 0
    if verify:
        crc = crc32c.crc32c(b"".join(_length_bytes(n) for n in lengths))
        if crc != crc32c.unmask(stored):
            raise DataLossError(f"{where}: string length checksum mismatch at offset {pos}")
        crc = crc32c.extend(crc, buf[pos : pos + 4])
    pos += 4
    if pos + sum(lengths) != end:
        raise DataLossError(
            f"{where}: string lengths add up to {pos + sum(lengths) - offset} bytes, entry size is {size} (offset {offset})"
        )
    if verify:
        crc = crc32c.extend(crc, buf[pos:end])
    values = np.empty(n, dtype=object)
    for i, length in enumerate(lengths):
        values[i] = bytes(buf[pos : pos + length])
        pos += length
    return _Decoded(values, crc)


def _decode_variants(buf, offset: int, size: int, n: int, where: str, verify: bool) -> _Decoded:
    end = offset + size
    if 5 * n > size:
        raise DataLossError(f"{where}: {size} bytes at offset {offset} cannot hold {n} variants")
    values = np.empty(n, dtype=object)
    crc = 0
    pos = offset
    for i in range(n):
        start = pos
        length, pos = decode_varint(buf, pos, end, where)
        if length + 4 > end - pos:
            raise DataLossError(f"{where}: variant element {i} at offset {start} runs past the entry")
        body = bytes(buf[pos : pos + length])
        pos += length
        crc = crc32c.extend(crc32c.extend(crc, _U64.pack(length)), body)
        (stored,) = _U32.unpack_from(buf, pos)
        if verify and crc != crc32c.unmask(stored):
            raise DataLossError(f"{where}: checksum mismatch after variant element {i} (offset {pos})")
        crc = crc32c.extend(crc, buf[pos : pos + 4])
        pos += 4
        values[i] = parse_message(tensor_pb2.VariantTensorDataProto(), body, f"{where}: variant element {i} at offset {start}")
    if pos != end:
        raise DataLossError(f"{where}: {end - pos} stray bytes after the variants (offset {pos})")
    return _Decoded(values, crc)

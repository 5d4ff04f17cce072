"""Reading the immutable sorted table ("SSTable") TensorFlow keeps its indexes in.

A V2 checkpoint's ``.index`` file and a whole V1 checkpoint are tables: sorted
byte-string keys mapped to byte-string values (LevelDB's layout, as forked
into ``tensorflow/core/lib/io``). All integers are little-endian.

File::

    +--------------------+  offset 0
    | data block 0       |  entries, sorted by key
    | trailer (5 bytes)  |
    | data block 1 ...   |
    +--------------------+
    | metaindex block    |  always present, always empty in TF's files
    | trailer            |
    +--------------------+
    | index block        |  key >= last key of block i (and < first key of
    | trailer            |  block i+1)  ->  BlockHandle of data block i
    +--------------------+
    | footer (48 bytes)  |  handle(metaindex), handle(index), zero padding
    |                    |  to 40 bytes, fixed64 TABLE_MAGIC
    +--------------------+

BlockHandle = varint64 offset, varint64 size (size excludes the trailer).

Block (before its trailer)::

    entry*        varint32 shared       bytes shared with the previous key
                  varint32 non_shared   bytes of key that follow
                  varint32 value_len
                  key[shared:]          (non_shared bytes)
                  value                 (value_len bytes)
    fixed32 restarts[num_restarts]     offsets of entries with shared == 0
    fixed32 num_restarts

Trailer = byte type (0 raw, 1 snappy) + fixed32 mask(crc32c(block bytes + type)).

The writer is in ``table_writer.py``.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import os
import struct
from typing import Iterator, NamedTuple

from ..errors import DataLossError
from . import crc32c, snappy
from .fileerrors import typed_os_error
from .varint import MAX_VARINT32_BYTES, decode_varint

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
FOOTER_HANDLES_SIZE = 40  # two handles, zero padded, before the magic
BLOCK_TRAILER_SIZE = 5
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
# Prefix compression lets a block describe keys far longer than itself (each
# entry may repeat all of the previous key and add a byte). Writers restart
# sharing every 16 entries (TensorFlow and LevelDB; the index block every
# entry), and a key is at most the unshared bytes since its restart, so a
# real block's keys add up to less than 16x the block. Beyond that a block
# is a decompression bomb, not a table.
MAX_KEY_EXPANSION = 16
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class BlockHandle(NamedTuple):
    """Where a block lies in the file; ``size`` excludes its 5-byte trailer."""

    offset: int
    size: int


def decode_handle(buf, pos: int, end: int, where: str) -> tuple[BlockHandle, int]:
    """Decode a BlockHandle at ``buf[pos:end]``; returns it and the next offset."""
    offset, pos = decode_varint(buf, pos, end, where)
    size, pos = decode_varint(buf, pos, end, where)
    return BlockHandle(offset, size), pos


class Block:
    """One decoded block: its sorted keys and values (memoryviews into the file).

    Args:
        contents: the block bytes without trailer.
        where: names the file and block offset for error messages.
    """

    def __init__(self, contents, where: str):
        size = len(contents)
        if size < 4:
            raise DataLossError(f"{where}: block of {size} bytes is too short for its restart count")
        (num_restarts,) = _U32.unpack_from(contents, size - 4)
        if num_restarts == 0 or num_restarts > (size - 4) // 4:
            raise DataLossError(f"{where}: bad restart count {num_restarts} for a block of {size} bytes")
        limit = size - 4 - 4 * num_restarts
        restarts = struct.unpack_from(f"<{num_restarts}I", contents, limit)
        self.keys: list[bytes] = []
        self.values: list[memoryview] = []
        starts = self._decode_entries(memoryview(contents), limit, where)
        for r in restarts:
            if starts.get(r) is not True and (starts or r != 0):  # an empty block keeps restart 0
                raise DataLossError(f"{where}: restart offset {r} is not the start of an unshared entry")

    def _decode_entries(self, buf: memoryview, limit: int, where: str) -> dict[int, bool]:
        """Fill keys/values; returns entry offset -> whether it has shared == 0."""
        starts: dict[int, bool] = {}
        prev = b""
        pos = 0
        key_budget = MAX_KEY_EXPANSION * max(limit, 1)
        while pos < limit:
            start = pos
            shared, pos = decode_varint(buf, pos, limit, where, MAX_VARINT32_BYTES)
            non_shared, pos = decode_varint(buf, pos, limit, where, MAX_VARINT32_BYTES)
            value_len, pos = decode_varint(buf, pos, limit, where, MAX_VARINT32_BYTES)
            if shared > len(prev) or non_shared + value_len > limit - pos:
                raise DataLossError(f"{where}: bad entry at block offset {start}")
            key = prev[:shared] + bytes(buf[pos : pos + non_shared])
            pos += non_shared
            key_budget -= len(key)
            if key_budget < 0:
                raise DataLossError(
                    f"{where}: keys up to block offset {start} expand to more than "
                    f"{MAX_KEY_EXPANSION}x the block's {limit} bytes (corrupted prefix sharing)"
                )
            if self.keys and key <= prev:
                raise DataLossError(f"{where}: keys out of order at block offset {start}")
            self.keys.append(key)
            self.values.append(buf[pos : pos + value_len])
            pos += value_len
            starts[start] = shared == 0
            prev = key
        return starts

    def seek(self, key: bytes) -> int:
        """Index of the first entry whose key is >= ``key``."""
        return bisect.bisect_left(self.keys, key)


def _in_memory(data: bytes) -> mmap.mmap:
    """An anonymous mapping holding ``data``, so that a table read into memory is handled like a mapped file."""
    m = mmap.mmap(-1, len(data))
    m.write(data)
    return m


class TableReader:
    """Random and sequential access to a table file, read via mmap.

    Args:
        path: the table file.
        verify_checksums: check every block's CRC when it is read (default).
        data: the file's bytes if already read (from an object store);
            ``path`` then only names the file in errors.

    Raises:
        NotFoundError: if the file does not exist (other OS refusals are
            typed too, see ``fileerrors``).
        DataLossError: if the footer, index or metaindex block is malformed.
    """

    def __init__(self, path: str | os.PathLike, verify_checksums: bool = True, data: bytes | None = None):
        self.path = os.fspath(path)
        self.verify_checksums = verify_checksums
        try:
            with open(self.path, "rb") if data is None else contextlib.nullcontext() as f:
                self.size = os.fstat(f.fileno()).st_size if data is None else len(data)
                if self.size < FOOTER_SIZE:
                    raise DataLossError(
                        f"{self.path}: {self.size} bytes is too short for a table (footer alone is {FOOTER_SIZE})"
                    )
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if data is None else _in_memory(data)
        except OSError as exc:
            raise typed_os_error(exc, self.path, "opening the table") from None
        self._buf = memoryview(self._map)
        self._blocks: dict[int, Block] = {}
        metaindex, index = self._read_footer()
        self._read_block(metaindex, "metaindex block")
        self.index = self._read_block(index, "index block")
        self._handles: list[BlockHandle] = []
        for i, value in enumerate(self.index.values):
            where = f"{self.path}: index entry {i} (block at offset {index.offset})"
            handle, end = decode_handle(value, 0, len(value), where)
            if end != len(value):
                raise DataLossError(f"{where}: {len(value) - end} stray bytes after the block handle")
            self._handles.append(handle)

    def _read_footer(self) -> tuple[BlockHandle, BlockHandle]:
        start = self.size - FOOTER_SIZE
        where = f"{self.path}: footer at offset {start}"
        (magic,) = _U64.unpack_from(self._buf, self.size - 8)
        if magic != TABLE_MAGIC:
            raise DataLossError(f"{where}: bad table magic {magic:#018x} (not a TensorFlow table or truncated)")
        end = start + FOOTER_HANDLES_SIZE
        metaindex, pos = decode_handle(self._buf, start, end, where)
        index, _ = decode_handle(self._buf, pos, end, where)
        return metaindex, index

    def _read_block(self, handle: BlockHandle, what: str) -> Block:
        """Read, check and decode the block at ``handle``."""
        where = f"{self.path}: {what} at offset {handle.offset}"
        if handle.offset + handle.size + BLOCK_TRAILER_SIZE > self.size - FOOTER_SIZE:
            raise DataLossError(f"{where}: block of {handle.size} bytes runs past the end of the data")
        end = handle.offset + handle.size
        contents = self._buf[handle.offset : end]
        kind = self._buf[end]
        if self.verify_checksums:
            (stored,) = _U32.unpack_from(self._buf, end + 1)
            actual = crc32c.extend(crc32c.crc32c(contents), self._buf[end : end + 1])
            if crc32c.unmask(stored) != actual:
                raise DataLossError(f"{where}: block checksum mismatch (stored {stored:#010x})")
        if kind == SNAPPY_COMPRESSION:
            contents = snappy.uncompress(contents, where)
        elif kind != NO_COMPRESSION:
            raise DataLossError(f"{where}: bad block type {kind}")
        return Block(contents, where)

    def _data_block(self, i: int) -> Block:
        block = self._blocks.get(i)
        if block is None:
            block = self._read_block(self._handles[i], f"data block {i}")
            self._blocks = {i: block}  # keep one: sequential scans reuse it, memory stays bounded
        return block

    def get(self, key: bytes) -> memoryview | None:
        """The value stored under ``key``, or None."""
        i = bisect.bisect_left(self.index.keys, key)
        if i == len(self._handles):
            return None
        block = self._data_block(i)
        j = block.seek(key)
        if j < len(block.keys) and block.keys[j] == key:
            return block.values[j]
        return None

    def items(self, start: bytes = b"") -> Iterator[tuple[bytes, memoryview]]:
        """Iterate ``(key, value)`` in key order from the first key >= ``start``.

        Raises:
            DataLossError: if blocks overlap or are out of order.
        """
        prev = None
        for i in range(bisect.bisect_left(self.index.keys, start), len(self._handles)):
            block = self._data_block(i)
            index_key = self.index.keys[i]
            if block.keys and (block.keys[-1] > index_key or (prev is not None and block.keys[0] <= prev)):
                raise DataLossError(f"{self.path}: data block {i} at offset {self._handles[i].offset} out of order")
            for j in range(block.seek(start), len(block.keys)):
                yield block.keys[j], block.values[j]
            if block.keys:
                prev = block.keys[-1]

    def __iter__(self) -> Iterator[tuple[bytes, memoryview]]:
        return self.items()

    def close(self) -> None:
        """Release the mapping (values read earlier must not be used after this)."""
        self._blocks = {}
        self.index = None
        self._handles = []
        self._buf.release()
        try:
            self._map.close()
        except BufferError:
            pass  # a caller still holds a value; the mapping is freed with it

    def __enter__(self) -> "TableReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

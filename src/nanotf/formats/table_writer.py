"""Writing tables byte-identical to TensorFlow's ``table::TableBuilder``.

The layout is drawn in ``table.py``. What makes the bytes match TensorFlow:

* data blocks restart key sharing every 16 entries, the index block every entry;
* a data block is cut as soon as its size estimate (entries + restart array +
  count) reaches BLOCK_SIZE, and before an entry whose key+value alone is at
  least 2 x BLOCK_SIZE;
* a block's index key is the shortest separator between its last key and the
  next block's first key; the last block's is the short successor of its last key;
* the metaindex block is written even though it is empty; no compression.
"""

from __future__ import annotations

import struct

from ..errors import InvalidArgumentError
from . import crc32c
from .table import BLOCK_TRAILER_SIZE, FOOTER_HANDLES_SIZE, NO_COMPRESSION, TABLE_MAGIC, BlockHandle
from .varint import encode_varint

BLOCK_SIZE = 262144
DATA_RESTART_INTERVAL = 16
INDEX_RESTART_INTERVAL = 1
_OVERSIZED_ENTRY_RATIO = 2


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key k with start <= k < limit (TF's FindShortestSeparator).

    At the first differing byte, bump it by one and cut after it if that stays
    below ``limit``; otherwise (or if one key prefixes the other) keep ``start``.
    """
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i < n and start[i] < 0xFF and start[i] + 1 < limit[i]:
        return start[:i] + bytes([start[i] + 1])
    return start


def short_successor(key: bytes) -> bytes:
    """A short key >= ``key``: bump the first non-0xff byte and cut after it."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def encode_handle(handle: BlockHandle) -> bytes:
    return encode_varint(handle.offset) + encode_varint(handle.size)


class BlockBuilder:
    """Accumulates the entries of one block with prefix-shared keys."""

    def __init__(self, restart_interval: int):
        self.restart_interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""
        self.empty = True

    def add(self, key: bytes, value) -> None:
        shared = 0
        if self.counter < self.restart_interval:
            n = min(len(key), len(self.last_key))
            while shared < n and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buf))
            self.counter = 0
        self.buf += encode_varint(shared) + encode_varint(len(key) - shared) + encode_varint(len(value))
        self.buf += key[shared:]
        self.buf += value
        self.last_key = key
        self.counter += 1
        self.empty = False

    def size_estimate(self) -> int:
        return len(self.buf) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        return bytes(self.buf) + struct.pack(f"<{len(self.restarts)}I", *self.restarts) + struct.pack(
            "<I", len(self.restarts)
        )


class TableWriter:
    """Streams a table into a binary file object.

    Args:
        file: an object with ``write(bytes)``, positioned where the table starts
            (offsets in the table count from there).
        name: the file name, for error messages.
    """

    def __init__(self, file, name: str = "<table>"):
        self.file = file
        self.name = name
        self.offset = 0
        self.data_block = BlockBuilder(DATA_RESTART_INTERVAL)
        self.index_block = BlockBuilder(INDEX_RESTART_INTERVAL)
        self.last_key: bytes | None = None
        self.pending_handle: BlockHandle | None = None

    def add(self, key: bytes, value) -> None:
        """Append one entry; keys must be strictly increasing (unsigned bytes).

        Raises:
            InvalidArgumentError: for a key not greater than the previous one.
        """
        key = bytes(key)
        if self.last_key is not None:
            if key <= self.last_key:
                raise InvalidArgumentError(f"{self.name}: table keys out of order: {key!r} after {self.last_key!r}")
            if len(key) + len(value) >= _OVERSIZED_ENTRY_RATIO * BLOCK_SIZE:
                self._flush()
        if self.pending_handle is not None:
            self.index_block.add(shortest_separator(self.last_key, key), encode_handle(self.pending_handle))
            self.pending_handle = None
        self.last_key = key
        self.data_block.add(key, value)
        if self.data_block.size_estimate() >= BLOCK_SIZE:
            self._flush()

    def _flush(self) -> None:
        if not self.data_block.empty:
            self.pending_handle = self._write_block(self.data_block)

    def _write_block(self, block: BlockBuilder) -> BlockHandle:
        contents = block.finish()
        block.reset()
        kind = bytes([NO_COMPRESSION])
        crc = crc32c.mask(crc32c.extend(crc32c.crc32c(contents), kind))
        self.file.write(contents)
        self.file.write(kind + struct.pack("<I", crc))
        handle = BlockHandle(self.offset, len(contents))
        self.offset += len(contents) + BLOCK_TRAILER_SIZE
        return handle

    def finish(self) -> int:
        """Write the last data block, the metaindex and index blocks and the footer.

        Returns:
            The table's total size in bytes.
        """
        self._flush()
        metaindex = self._write_block(BlockBuilder(DATA_RESTART_INTERVAL))
        if self.pending_handle is not None:
            self.index_block.add(short_successor(self.last_key), encode_handle(self.pending_handle))
            self.pending_handle = None
        index = self._write_block(self.index_block)
        handles = encode_handle(metaindex) + encode_handle(index)
        self.file.write(handles.ljust(FOOTER_HANDLES_SIZE, b"\0") + struct.pack("<Q", TABLE_MAGIC))
        self.offset += FOOTER_HANDLES_SIZE + 8
        return self.offset

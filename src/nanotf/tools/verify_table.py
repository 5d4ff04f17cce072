"""Block-by-block verification of a table file (a V2 ``.index`` or a V1 checkpoint).

``TableReader`` checks the footer, metaindex and index block when it opens,
and each data block only when a lookup reaches it, stopping at the first bad
one. Here every data block named by the index is read, its CRC checked, its
entries decoded and its keys checked against the index, and each problem is
recorded with the block's offset before moving on to the next block.
"""

from __future__ import annotations

import mmap
import struct

from ..errors import OpError
from ..formats import crc32c
from ..formats.table import BLOCK_TRAILER_SIZE, FOOTER_SIZE, Block, TableReader, decode_handle

_U32 = struct.Struct("<I")


def check_table(path: str, found) -> int:
    """Verify the table at ``path``, adding problems to ``found`` (a ``cmd_verify.Findings``).

    Returns:
        The number of data blocks the index lists.
    """
    try:
        table = TableReader(path)
    except OpError as err:
        found.problem(path, str(err))
        return 0
    with table, open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            _check_blocks(path, memoryview(mapped), table.index, found)
        finally:
            mapped.close()
        return len(table.index.values)


def _check_blocks(path: str, buf: memoryview, index: Block, found) -> None:
    limit = len(buf) - FOOTER_SIZE
    previous_last = None
    for i, (index_key, value) in enumerate(zip(index.keys, index.values, strict=True)):
        try:
            handle, _ = decode_handle(value, 0, len(value), f"{path}: index entry {i}")
        except OpError as err:
            found.problem(path, str(err))
            continue
        where = f"data block {i} at offset {handle.offset}"
        end = handle.offset + handle.size
        if end + BLOCK_TRAILER_SIZE > limit:
            found.problem(path, f"{where}: its {handle.size} bytes run past the end of the data", handle.offset)
            continue
        contents, kind = buf[handle.offset : end], buf[end : end + 1]
        (stored,) = _U32.unpack_from(buf, end + 1)
        if crc32c.unmask(stored) != crc32c.extend(crc32c.crc32c(contents), kind):
            found.problem(path, f"{where}: block checksum mismatch (stored {stored:#010x})", handle.offset)
            continue
        if kind[0] != 0:
            found.warning(path, f"{where}: compressed (type {kind[0]}), which TensorFlow never writes", handle.offset)
            continue
        try:
            block = Block(contents, f"{path}: {where}")
        except OpError as err:
            found.problem(path, str(err), handle.offset)
            continue
        if not block.keys:
            continue
        if block.keys[-1] > index_key or (previous_last is not None and block.keys[0] <= previous_last):
            found.problem(path, f"{where}: its keys are out of order with the index", handle.offset)
        previous_last = block.keys[-1]

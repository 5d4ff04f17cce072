"""V2 checkpoints in an object store: the bundle reader, writer and merge over ``storage``.

The bytes are those of a local checkpoint (layout in ``bundle.py``); only the
way they travel differs:

* reading: the ``.index`` is downloaded whole and parsed like a local one;
  a tensor is fetched by ranged reads of its bytes in its data file (pieces
  fetched concurrently), its checksum extended piece by piece as each one
  lands, while it is still in the CPU's cache;
* writing: the data file is streamed as one upload that the store
  publishes only when complete, then the index is stored in one request.
  There is no rename; the order (data, then index, and the Saver's ``.meta``
  and state file after them) keeps an index from naming missing data and
  the state file from naming a missing checkpoint, whenever a save dies;
* merging a sharded save copies each shard's data file to its final name
  inside the store, writes the merged index, then deletes the shards.

``reader_for`` / ``writer_for`` pick the local or the remote class for a path.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..errors import DataLossError, NotFoundError
from ..protos import checkpoint_pb2
from . import bundle, crc32c, dtypes, storage
from .bundle_merge import plan_merge
from .bundle_reader import BundleReader
from .range_read import fresh_buffer
from .bundle_writer import BundleWriter
from .protoparse import MAX_MESSAGE_BYTES
from .table import TableReader
from .table_writer import TableWriter
from .tensor_codec import decode_tensor

__all__ = ["RemoteBundleReader", "RemoteBundleWriter", "merge_remote", "reader_for", "writer_for", "index_bytes"]


class RemoteBundleReader(BundleReader):
    """A V2 checkpoint in an object store, opened for reading (the API of ``BundleReader``).

    Every tensor comes back as a writable array that owns its memory (there
    is no file to map).
    """

    def __init__(self, prefix: str, verify: bool = True):
        self._sizes: dict[str, int] = {}
        super().__init__(prefix, verify)

    def _open_index(self) -> TableReader:
        data = storage.read_bytes(self.index_path, MAX_MESSAGE_BYTES)
        return TableReader(self.index_path, verify_checksums=self.verify, data=data)

    def _data_file_size(self, path: str) -> int:
        size = self._sizes.get(path)
        if size is None:
            try:
                size = self._sizes[path] = storage.size(path)
            except NotFoundError:
                raise NotFoundError(f"data file {path} of checkpoint {self.prefix} is missing") from None
        return size

    def _read_entry(self, key: bytes, entry, copy: bool) -> np.ndarray:
        path = bundle.data_filename(self.prefix, entry.shard_id, self.header.num_shards)
        where = f"{path}: tensor {bundle.key_repr(key)}"
        end = entry.offset + entry.size
        file_size = self._data_file_size(path)
        if end > file_size:
            raise DataLossError(f"{where}: entry bytes [{entry.offset}, {end}) run past the end "
                                f"of the {file_size}-byte data file (truncated?)")  # fmt: skip
        wire = dtypes.wire_dtype(entry.dtype)
        owned = fresh_buffer(entry.size)
        # Numeric tensors: the checksum is the CRC of the bytes, extended as each piece arrives.
        fused = self.verify and wire.numpy is not None
        crc = 0

        def extend(piece) -> None:
            nonlocal crc
            crc = crc32c.extend(crc, piece)

        if entry.size:
            storage.read_into(path, entry.offset, owned, on_piece=extend if fused else None)
        if fused and entry.size and crc != crc32c.unmask(entry.crc32c):
            raise DataLossError(f"{where}: checksum mismatch in the {entry.size} data bytes at offset {entry.offset}")
        return decode_tensor(memoryview(owned), 0, entry.size, entry.crc32c, wire, bundle.entry_shape(entry),
                             where, self.verify and not fused, copy=False)  # fmt: skip


class RemoteBundleWriter(BundleWriter):
    """Builds one single-shard V2 bundle in an object store (the API of ``BundleWriter``).

    Nothing is created locally: the data file streams into an upload that
    ``finish`` completes before it stores the index; ``abort`` (or a killed
    process) leaves no object under either name.
    """

    def __init__(self, prefix: str):  # not BundleWriter.__init__, which creates local files
        self.prefix = prefix
        self.data_path = bundle.data_filename(prefix, 0, 1)
        self._data = storage.open_output(self.data_path)
        self._offset = 0
        self._entries: dict[bytes, checkpoint_pb2.BundleEntryProto] = {}

    def _write(self, data) -> None:
        self._data.write(data)  # the upload streams in parts; there is no local writeback to start

    def finish(self) -> None:
        """Publish the data file, then the index.

        Raises:
            OpError: a typed error naming the object if an upload fails; the
                index is then not written.
        """
        try:
            self._data.commit()
        except BaseException:
            self.abort()
            raise
        index = bundle.index_filename(self.prefix)
        storage.put_bytes(index, index_bytes(index, self._entries, bundle.new_header(1)))

    def abort(self) -> None:
        """Abandon the data upload."""
        self._data.discard()


def index_bytes(name: str, entries: dict[bytes, checkpoint_pb2.BundleEntryProto],
                header: checkpoint_pb2.BundleHeaderProto) -> bytes:
    """The ``.index`` table for ``entries`` (sorted by key after the header) as bytes; ``name`` names it in errors."""
    out = io.BytesIO()
    table = TableWriter(out, name)
    table.add(bundle.HEADER_KEY, header.SerializeToString())
    for key in sorted(entries):
        table.add(key, entries[key].SerializeToString())
    table.finish()
    return out.getvalue()


def merge_remote(shard_prefixes, prefix: str, allow_missing_files: bool = False) -> None:
    """MergeV2Checkpoints in an object store (see ``bundle_merge.merge_bundles`` for the rules).

    Raises:
        NotFoundError: for a missing input (unless allowed) or when nothing is left to merge.
        InvalidArgumentError: for a key present in two inputs (other than the
            full-tensor entries of one partitioned tensor).
    """
    readers = [RemoteBundleReader(p) for p in map(os.fspath, shard_prefixes)
               if not allow_missing_files or storage.exists(bundle.index_filename(p))]  # fmt: skip
    header, merged, copies = plan_merge(readers, prefix, len(shard_prefixes))
    for source, target in copies:
        storage.copy(source, target)
    index = bundle.index_filename(prefix)
    storage.put_bytes(index, index_bytes(index, merged, header))
    for source, _ in copies:
        storage.remove(source)
    for reader in readers:
        storage.remove(reader.index_path)


def reader_for(prefix, verify: bool = True) -> BundleReader:
    """A ``BundleReader`` for a local prefix (or ``file://`` URL), a ``RemoteBundleReader`` for other URLs."""
    remote, prefix = storage.resolve(prefix)
    return RemoteBundleReader(prefix, verify) if remote else BundleReader(prefix, verify)


def writer_for(prefix) -> BundleWriter:
    """A ``BundleWriter`` for a local prefix (or ``file://`` URL), a ``RemoteBundleWriter`` for other URLs."""
    remote, prefix = storage.resolve(prefix)
    return RemoteBundleWriter(prefix) if remote else BundleWriter(prefix)

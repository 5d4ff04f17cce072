"""Reading V2 checkpoints (layout in ``bundle.py``).

Opening reads only the ``.index`` file. Data files are mapped on first use and
tensors are decoded from the mapping: numeric tensors come back as read-only
``np.frombuffer`` views (zero-copy) unless ``copy=True``. A copy is read with
``pread`` straight into fresh page-aligned memory rather than copied out of the
mapping, large ones in chunks on several threads with the checksum taken as
the bytes arrive (``range_read.py``): that is the fastest route from the page
cache on these machines, and the process then holds one copy of the bytes, not
the copy plus mapped file pages. Copy reads that come in file order, one
tensor at a time, have the next tensors read ahead (``read_ahead.py``).
Partitioned tensors are returned whole, assembled from their slices, and any
sub-slice of any tensor can be read (RestoreV2's ``shape_and_slices``).
"""

from __future__ import annotations

import mmap
import os
import threading

import numpy as np

from ..errors import DataLossError, InvalidArgumentError, NotFoundError
from ..protos import checkpoint_pb2
from . import bundle, crc32c, dtypes
from .fileerrors import typed_os_error
from .range_read import Range, read_alone, read_ranges
from .read_ahead import ReadAhead
from .slices import TensorSlice, assemble, encode_tensor_name_slice, parse_shape_and_slice
from .table import TableReader
from .tensor_codec import decode_tensor

class BundleReader:
    """A V2 checkpoint opened for reading.

    Args:
        prefix: the checkpoint prefix (``<prefix>.index`` must exist).
        verify: check data checksums on every read (table block CRCs are
            checked either way unless ``verify`` is False).

    Raises:
        NotFoundError: if ``<prefix>.index`` does not exist.
        DataLossError: if the index is malformed.
        UnimplementedError: for a big-endian checkpoint.
    """

    def __init__(self, prefix: str | os.PathLike, verify: bool = True):
        self.prefix = os.fspath(prefix)
        self.verify = verify
        self.index_path = bundle.index_filename(self.prefix)
        self._raw: dict[bytes, bytes] = {}
        with self._open_index() as table:
            items = table.items()
            first = next(items, None)
            if first is None or first[0] != bundle.HEADER_KEY:
                raise DataLossError(f"{self.index_path}: the first key is not the bundle header \"\"")
            self.header = bundle.parse_header(first[1], self.index_path)
            for key, value in items:
                self._raw[key] = bytes(value)
        self._entries: dict[bytes, checkpoint_pb2.BundleEntryProto] = {}
        self._maps: dict[int, tuple[object, memoryview | bytes]] = {}
        self._files: dict[int, object] = {}  # open data files, for copy reads
        self._open_lock = threading.Lock()
        self._read_ahead = ReadAhead(self._in_file_order, self._read_alone)

    # -- index ---------------------------------------------------------------

    def _open_index(self) -> TableReader:
        """The ``.index`` table (``remote_bundle.RemoteBundleReader`` downloads it instead)."""
        return TableReader(self.index_path, verify_checksums=self.verify)

    def _data_file_size(self, path: str) -> int:
        """The length of data file ``path`` (``remote_bundle.RemoteBundleReader`` asks the object store)."""
        try:
            return os.stat(path).st_size
        except FileNotFoundError:
            raise NotFoundError(f"data file {path} of checkpoint {self.prefix} is missing") from None
        except OSError as exc:
            raise typed_os_error(exc, path, "checking the data file") from None

    def keys(self) -> list[bytes]:
        """All index keys except the header, sorted (slice keys included)."""
        return list(self._raw)

    def entry(self, key: str | bytes) -> checkpoint_pb2.BundleEntryProto:
        """The BundleEntryProto stored under ``key``.

        Raises:
            NotFoundError: if the key is absent.
            DataLossError: if its entry is malformed.
        """
        raw_key = bundle.key_bytes(key)
        entry = self._entries.get(raw_key)
        if entry is None:
            value = self._raw.get(raw_key)
            if value is None:
                raise NotFoundError(f"key {bundle.key_repr(raw_key)} not found in checkpoint {self.prefix}")
            entry = bundle.parse_entry(value, self.index_path, raw_key)
            if entry.shard_id >= self.header.num_shards:
                raise DataLossError(
                    f"{self.index_path}: entry for key {bundle.key_repr(raw_key)} names data shard "
                    f"{entry.shard_id} of {self.header.num_shards}"
                )
            self._entries[raw_key] = entry
        return entry

    def variable_keys(self) -> list[str]:
        """Tensor names as TF's CheckpointReader lists them: slice keys of partitioned tensors left out."""
        hidden: set[bytes] = set()
        for key in self._raw:
            entry = self.entry(key)
            for proto in entry.slices:
                hidden.add(encode_tensor_name_slice(key, TensorSlice.from_proto(proto)))
        return [bundle.key_name(k) for k in self._raw if k not in hidden]

    def dtype(self, key: str | bytes) -> dtypes.WireDType:
        return dtypes.wire_dtype(self.entry(key).dtype)

    def shape(self, key: str | bytes) -> tuple[int, ...]:
        return bundle.entry_shape(self.entry(key))

    def check_data_files(self) -> None:
        """Check that every data file exists and is exactly as long as its tensors need.

        A completeness test that reads no tensor bytes (``read`` checks those).

        Raises:
            NotFoundError: if a data file is missing.
            DataLossError: if one is shorter or longer than its entries say,
                or the header claims more shards than there are entries.
        """
        num_shards = self.header.num_shards
        if num_shards > max(1, len(self._raw)):
            raise DataLossError(f"{self.index_path}: the header claims {num_shards} data files for {len(self._raw)} entries")
        ends = dict.fromkeys(range(num_shards), 0)
        for key in self._raw:
            entry = self.entry(key)
            ends[entry.shard_id] = max(ends[entry.shard_id], entry.offset + entry.size)
        for shard, end in ends.items():
            path = bundle.data_filename(self.prefix, shard, num_shards)
            size = self._data_file_size(path)
            if size != end:
                raise DataLossError(f"{path}: {size} bytes, but the entries of {self.index_path} end at byte {end}")

    # -- data ----------------------------------------------------------------

    def _data(self, shard_id: int) -> memoryview | bytes:
        with self._open_lock:  # tensors may be read on several threads (a parallel RestoreV2)
            return self._map_data(shard_id)

    def _map_data(self, shard_id: int) -> memoryview | bytes:
        mapped = self._maps.get(shard_id)
        if mapped is None:
            path = bundle.data_filename(self.prefix, shard_id, self.header.num_shards)
            try:
                f = open(path, "rb", buffering=0)  # noqa: SIM115 - kept open for copy reads
            except FileNotFoundError:
                raise NotFoundError(f"data file {path} of checkpoint {self.prefix} is missing") from None
            except OSError as exc:
                raise typed_os_error(exc, path, "opening the data file") from None
            size = os.fstat(f.fileno()).st_size
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
            self._files[shard_id] = f
            mapped = self._maps[shard_id] = (m, memoryview(m) if m is not None else b"")
        return mapped[1]

    def _read_entry(self, key: bytes, entry, copy: bool) -> np.ndarray:
        """Decode a data-bearing entry after checking its range against its data file."""
        if copy and dtypes.wire_dtype(entry.dtype).numpy is not None:
            read_ahead = self._read_ahead.take(key, entry)
            if read_ahead is None:
                return self._read_copies([(key, entry)])[0]
            return self._checked_copy(key, entry, *read_ahead)
        buf, where = self._checked_range(key, entry)
        return decode_tensor(buf, entry.offset, entry.size, entry.crc32c, dtypes.wire_dtype(entry.dtype),
                             bundle.entry_shape(entry), where, self.verify, copy)

    def _where(self, key: bytes, entry) -> str:
        """Names a tensor's bytes in errors: its data file and key."""
        path = bundle.data_filename(self.prefix, entry.shard_id, self.header.num_shards)
        return f"{path}: tensor {bundle.key_repr(key)}"

    def _checked_range(self, key: bytes, entry) -> tuple[memoryview | bytes, str]:
        """The mapped data file of ``entry`` and a name for errors, once its bytes are known to lie inside it."""
        buf = self._data(entry.shard_id)
        where = self._where(key, entry)
        if entry.offset + entry.size > len(buf):
            raise DataLossError(
                f"{where}: entry bytes [{entry.offset}, {entry.offset + entry.size}) run past the end "
                f"of the {len(buf)}-byte data file (truncated?)"
            )
        return buf, where

    def _range(self, key: bytes, entry) -> Range:
        """Where a numeric entry's bytes are, once known to lie inside its data file."""
        self._checked_range(key, entry)
        path = bundle.data_filename(self.prefix, entry.shard_id, self.header.num_shards)
        itemsize = dtypes.wire_dtype(entry.dtype).numpy.itemsize
        return Range(self._files[entry.shard_id].fileno(), entry.offset, entry.size, path, itemsize)

    def _checked_copy(self, key: bytes, entry, owned, crc: int) -> np.ndarray:
        """The array over ``owned``, the bytes of ``entry`` read with checksum ``crc``, once that is checked."""
        where = self._where(key, entry)
        if self.verify and crc != crc32c.unmask(entry.crc32c):
            raise DataLossError(f"{where}: checksum mismatch in the {entry.size} data bytes at offset {entry.offset}")
        return decode_tensor(memoryview(owned), 0, entry.size, entry.crc32c, dtypes.wire_dtype(entry.dtype),
                             bundle.entry_shape(entry), where, verify=False, copy=False)  # fmt: skip

    def _read_copies(self, items: list[tuple[bytes, object]]) -> list[np.ndarray]:
        """Numeric entries read together into fresh memory (``range_read.read_ranges``), checksums checked."""
        ranges = [self._range(key, entry) for key, entry in items]
        return [self._checked_copy(key, entry, owned, crc)
                for (key, entry), (owned, crc) in zip(items, read_ranges(ranges, self.verify))]  # fmt: skip

    def _read_alone(self, key: bytes, entry) -> tuple[object, int]:
        """Read ahead on an I/O thread (``read_ahead.py``): one entry's bytes and their checksum.

        The data file stays open meanwhile: the job holds this reader, and ``close`` waits for the job.
        """
        return read_alone(self._range(key, entry), self.verify)

    def _in_file_order(self) -> list[tuple[bytes, object]]:
        """The whole numeric tensors, by data file and offset: what ``ReadAhead`` may read ahead."""
        found = []
        for key in self._raw:
            try:
                entry = self.entry(key)
                numeric = dtypes.wire_dtype(entry.dtype).numpy is not None
            except (DataLossError, InvalidArgumentError, KeyError):
                continue  # raised again if this tensor itself is asked for
            if numeric and not entry.slices and entry.size:
                found.append((key, entry))
        return sorted(found, key=lambda item: (item[1].shard_id, item[1].offset))

    def read_many(self, keys: list[str | bytes]) -> list[np.ndarray]:
        """Whole tensors as writable arrays that own their memory, read together.

        The same values as ``[read(k, copy=True) for k in keys]``, but the
        bytes of all plain numeric tensors are read in one pass on every core
        (``range_read.read_ranges``), without waiting between tensors.

        Raises:
            As ``read``.
        """
        entries = [(bundle.key_bytes(k), self.entry(k)) for k in keys]
        batch = [i for i, (_, e) in enumerate(entries) if not e.slices and dtypes.wire_dtype(e.dtype).numpy is not None]
        values: list = [None] * len(entries)
        for i, value in zip(batch, self._read_copies([entries[i] for i in batch])):
            values[i] = value
        return [v if v is not None else self.read(key, copy=True) for v, key in zip(values, keys)]

    def read(self, key: str | bytes, slice_spec: str | TensorSlice | None = None, copy: bool = False) -> np.ndarray:
        """Read a tensor, whole or a slice of it.

        Args:
            key: the tensor name.
            slice_spec: None or ``""`` for the whole tensor; a TensorSlice;
                or a RestoreV2 spec ``"<full dims> <slice>"`` whose dims must
                match the stored shape.
            copy: return a writable array that owns its memory. Otherwise
                numeric tensors read in one piece are read-only views of the
                mapped data file.

        Returns:
            The tensor (partitioned tensors assembled from their slices).

        Raises:
            NotFoundError: if the key (or a data file) is missing.
            InvalidArgumentError: if the slice does not fit the tensor.
            DataLossError: if the files are truncated or corrupted.
        """
        raw_key = bundle.key_bytes(key)
        entry = self.entry(raw_key)
        full_shape = bundle.entry_shape(entry)
        target = self._target_slice(raw_key, full_shape, slice_spec)
        if not entry.slices:
            array = self._read_entry(raw_key, entry, copy=copy and target is None)
            if target is None:
                return array
            part = array[tuple(slice(s, e) for s, e in target.bounds(full_shape))]
            return part.copy() if copy else part
        return self._assemble(raw_key, entry, target or TensorSlice.full(len(full_shape)), copy)

    def _target_slice(self, key: bytes, full_shape, slice_spec) -> TensorSlice | None:
        what = f"checkpoint {self.prefix}, tensor {bundle.key_repr(key)}"
        if slice_spec is None or slice_spec == "":
            return None
        if isinstance(slice_spec, str):
            spec_shape, slc = parse_shape_and_slice(slice_spec)
            if list(spec_shape) != list(full_shape):
                raise InvalidArgumentError(
                    f"{what}: shape {spec_shape} in slice spec {slice_spec!r} does not match the stored shape {list(full_shape)}"
                )
        else:
            slc = slice_spec
        slc.check(full_shape, what)
        return slc

    def _assemble(self, key: bytes, entry, target: TensorSlice, copy: bool) -> np.ndarray:
        """Build ``target`` of a partitioned tensor from the stored slices it overlaps."""
        full_shape = bundle.entry_shape(entry)
        what = f"{self.index_path}: partitioned tensor {bundle.key_repr(key)}"
        wire = dtypes.wire_dtype(entry.dtype)
        stored = [TensorSlice.from_proto(p) for p in entry.slices]

        def load(i: int, direct: bool) -> np.ndarray:
            slice_key = encode_tensor_name_slice(key, stored[i])
            try:
                slice_entry = self.entry(slice_key)
            except NotFoundError:
                raise DataLossError(f"{what}: the entry of its slice {stored[i]} is missing") from None
            if slice_entry.dtype != entry.dtype or bundle.entry_shape(slice_entry) != stored[i].shape(full_shape):
                raise DataLossError(f"{what}: the entry of slice {stored[i]} has the wrong dtype or shape")
            return self._read_entry(slice_key, slice_entry, copy and direct)

        return assemble(full_shape, target, stored, load, object if wire.numpy is None else wire.numpy, what)

    def close(self) -> None:
        """Unmap the data files (arrays still referring to them keep their mapping alive)."""
        self._read_ahead.stop()
        maps, self._maps = self._maps, {}
        files, self._files = self._files, {}
        for f in files.values():
            f.close()
        for m, view in maps.values():
            if m is None:
                continue
            view.release()
            try:
                m.close()
            except BufferError:
                pass  # zero-copy arrays still use it; it is unmapped when they go

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


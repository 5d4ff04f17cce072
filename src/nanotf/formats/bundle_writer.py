"""Writing a V2 checkpoint byte-identical to TensorFlow's ``BundleWriter``.

Layout: see ``bundle.py``. What the writer guarantees:

* tensors are appended to ``<prefix>.data-00000-of-00001`` in the order they
  are added, with no padding; the index lists them sorted by key;
* both files are written under temp names (``atomic.temp_name``) and fsynced
  before either is renamed into place, data file first: a failure while
  writing (a full disk, a kill) leaves any previous checkpoint at this prefix
  untouched, and a crash never leaves an index pointing at missing data;
* a tensor is streamed from its own buffer in chunks while its CRC is
  extended, so even a tensor larger than 2 GiB is never held twice; the
  CRC of a large chunk is computed on an I/O thread while the chunk is
  written (``tensor_codec.CHECKSUM_BESIDE_MIN``);
* the data file goes to the disk while it is written (``writeback.py``), so
  the fsync before the renames has little left to wait for;
* an OSError surfaces as a typed nanotf error naming the file
  (``fileerrors``), and the temp files are removed.
"""

from __future__ import annotations

import contextlib
import os
from typing import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..protos import checkpoint_pb2
from . import atomic, bundle, crc32c, dtypes
from .fileerrors import os_errors
from .slices import TensorSlice, encode_tensor_name_slice, parse_shape_and_slice
from .table_writer import TableWriter
from .tensor_codec import encode_tensor
from .writeback import Writeback

WRITE_BUFFER = 1 << 20


def resolve_dtype(dtype, array: np.ndarray, what: str) -> dtypes.WireDType:
    """The WireDType to store ``array`` as: ``dtype`` if given (enum, name or WireDType), else inferred.

    Raises:
        InvalidArgumentError: for a dtype TensorFlow has no DataType for.
    """
    try:
        if dtype is None:
            return dtypes.from_numpy(np.asarray(array).dtype)
        if isinstance(dtype, dtypes.WireDType):
            return dtype
        if isinstance(dtype, str):
            return dtypes.BY_NAME[dtype]
        return dtypes.wire_dtype(int(getattr(dtype, "as_datatype_enum", dtype)))
    except KeyError:
        raise InvalidArgumentError(f"{what}: no TensorFlow dtype for {dtype if dtype is not None else array.dtype}") from None


def _fsync_close(f) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()


def _make_parent(path: str) -> None:
    directory = os.path.dirname(path)
    if directory:
        with os_errors(directory, "creating the checkpoint directory"):
            os.makedirs(directory, exist_ok=True)


class BundleWriter:
    """Builds one single-shard V2 bundle at ``prefix``.

    Args:
        prefix: the checkpoint prefix; its directory is created if missing.

    Use ``add`` / ``add_slice`` for every tensor, then ``finish``. On an error
    from ``add`` call ``abort`` to remove the temp file (``finish`` cleans up
    after itself).

    Raises:
        OpError: a typed error naming the file for any OSError (see ``fileerrors``).
    """

    def __init__(self, prefix: str | os.PathLike):
        self.prefix = os.fspath(prefix)
        _make_parent(self.prefix)
        self.data_path = bundle.data_filename(self.prefix, 0, 1)
        self._data_temp = atomic.temp_name(self.data_path)
        with os_errors(self.data_path, "creating"):
            self._data = open(self._data_temp, "wb", buffering=WRITE_BUFFER)  # noqa: SIM115 - closed in finish/abort
        self._writeback = Writeback(self._data)
        self._offset = 0
        self._entries: dict[bytes, checkpoint_pb2.BundleEntryProto] = {}

    def add(self, name: str, array, dtype=None) -> None:
        """Append a whole tensor under key ``name``.

        Args:
            name: the checkpoint key.
            array: the value (NumPy array or anything ``np.asarray`` takes;
                strings as bytes/str/object arrays).
            dtype: the DataType to store (enum, name or WireDType); inferred
                from the array if None (needed for quantized types).

        Raises:
            InvalidArgumentError: for a duplicate key or an unsupported value.
        """
        self._add_entry(bundle.key_bytes(name), name, array, dtype)

    def add_slice(self, name: str, full_shape: Sequence[int], slc: TensorSlice, array, dtype=None) -> None:
        """Append one slice of a partitioned tensor.

        Records ``slc`` in the data-less full-tensor entry ``name`` and stores
        the data under the slice's ordered-code key; a slice covering the
        whole tensor is stored as a plain entry, as TensorFlow does.

        Raises:
            InvalidArgumentError: if the slice does not fit the shape, the
                array's shape is not the slice's, or it repeats a key.
        """
        full_shape = [int(d) for d in full_shape]
        array = np.asarray(array) if not isinstance(array, np.ndarray) else array
        what = f"{self.prefix}: tensor '{name}' slice {slc}"
        slc.check(full_shape, what)
        if tuple(array.shape) != slc.shape(full_shape):
            raise InvalidArgumentError(f"{what}: value has shape {list(array.shape)}, slice has {list(slc.shape(full_shape))}")
        if slc.is_full(full_shape):
            self.add(name, array, dtype)
            return
        wire = resolve_dtype(dtype, array, what)
        key = bundle.key_bytes(name)
        full = self._entries.get(key)
        if full is None:
            full = self._entries[key] = checkpoint_pb2.BundleEntryProto(dtype=wire.enum)
            full.shape.SetInParent()
            for d in full_shape:
                full.shape.dim.add().size = d
        elif full.dtype != wire.enum or list(bundle.entry_shape(full)) != full_shape or not full.slices:
            raise InvalidArgumentError(f"{what}: conflicts with an earlier entry for '{name}'")
        full.slices.append(slc.to_proto())
        self._add_entry(encode_tensor_name_slice(name, slc), f"{name} [{slc}]", array, wire)

    def _add_entry(self, key: bytes, name: str, array, dtype) -> None:
        what = f"{self.prefix}: tensor '{name}'"
        if key in self._entries:
            raise InvalidArgumentError(f"{what}: duplicate key")
        array = np.asarray(array) if not isinstance(array, np.ndarray) else array
        wire = resolve_dtype(dtype, array, what)
        with os_errors(self.data_path, "writing"):
            size, crc = encode_tensor(array, wire, self._write, what)
        entry = checkpoint_pb2.BundleEntryProto(dtype=wire.enum, offset=self._offset, size=size)
        entry.crc32c = crc32c.mask(crc)
        entry.shape.SetInParent()
        for d in array.shape:
            entry.shape.dim.add().size = d
        self._entries[key] = entry
        self._offset += size

    def _write(self, data) -> None:
        self._data.write(data)
        self._writeback.wrote(memoryview(data).nbytes)

    def finish(self) -> None:
        """Write the index, then move both files into place (data first).

        Raises:
            OpError: a typed error naming the file if writing fails; nothing
                is then renamed, and the temp files are removed.
        """
        index_temp = None
        try:
            with os_errors(self.data_path, "writing"):
                _fsync_close(self._data)
            index_temp = write_index_temp(self.prefix, self._entries, bundle.new_header(1))
            atomic.commit([(self._data_temp, self.data_path), (index_temp, bundle.index_filename(self.prefix))])
        except BaseException:
            self.abort()
            if index_temp is not None:
                atomic.remove_quietly(index_temp)
            raise

    def abort(self) -> None:
        """Discard the temp data file."""
        with contextlib.suppress(OSError):
            self._data.close()  # closing flushes, which fails again on a full disk
        atomic.remove_quietly(self._data_temp)


def write_index_temp(prefix: str, entries: dict[bytes, checkpoint_pb2.BundleEntryProto],
                     header: checkpoint_pb2.BundleHeaderProto) -> str:
    """Write the index of ``prefix`` to a fsynced temp file beside ``<prefix>.index``.

    Args:
        prefix: the checkpoint prefix.
        entries: key -> entry.
        header: the BundleHeaderProto (see ``bundle.new_header``).

    Returns:
        The temp file's path; the caller renames it (``atomic.commit``).

    Raises:
        OpError: a typed error naming the file for any OSError; no temp file is left.
    """
    path = bundle.index_filename(prefix)
    temp = atomic.temp_name(path)
    try:
        with os_errors(path, "writing"), open(temp, "wb", buffering=WRITE_BUFFER) as f:
            table = TableWriter(f, path)
            table.add(bundle.HEADER_KEY, header.SerializeToString())
            for key in sorted(entries):
                table.add(key, entries[key].SerializeToString())
            table.finish()
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        atomic.remove_quietly(temp)
        raise
    return temp


def write_index(prefix: str, entries: dict[bytes, checkpoint_pb2.BundleEntryProto],
                header: checkpoint_pb2.BundleHeaderProto) -> None:
    """Write ``<prefix>.index`` atomically: the header, then the entries sorted by key."""
    atomic.commit([(write_index_temp(prefix, entries, header), bundle.index_filename(prefix))])


def write_bundle(prefix: str, names: Sequence[str], shape_and_slices: Sequence[str], arrays: Sequence,
                 dtypes_: Sequence | None = None) -> None:
    """SaveV2: write ``arrays`` as one V2 checkpoint at ``prefix``.

    Args:
        prefix: the checkpoint prefix (``<prefix>.index`` and
            ``<prefix>.data-00000-of-00001`` are written).
        names: tensor keys, one per array; data is written in this order.
        shape_and_slices: per tensor ``""`` (whole) or ``"<full dims> <slice>"``.
        arrays: the values (for a slice: the slice's value).
        dtypes_: optional per-tensor DataType (enum, name or WireDType); None
            infers each from its array.

    Raises:
        InvalidArgumentError: for mismatched argument lengths, bad specs,
            duplicate keys or unsupported values.
        OpError: ResourceExhaustedError (disk full), PermissionDeniedError, ...
            naming the file, if the operating system refuses a write.
        Nothing is left behind, and a previous checkpoint at ``prefix`` is intact.
    """
    if not len(names) == len(shape_and_slices) == len(arrays) or (dtypes_ is not None and len(dtypes_) != len(names)):
        raise InvalidArgumentError(
            f"SaveV2 for {prefix}: {len(names)} names, {len(shape_and_slices)} shape_and_slices, "
            f"{len(arrays)} tensors" + ("" if dtypes_ is None else f", {len(dtypes_)} dtypes")
        )
    from .remote_bundle import writer_for  # it imports this module

    writer = writer_for(prefix)  # an object store URL gets a RemoteBundleWriter
    try:
        for i, (name, spec, array) in enumerate(zip(names, shape_and_slices, arrays)):
            dtype = None if dtypes_ is None else dtypes_[i]
            full_shape, slc = parse_shape_and_slice(spec)
            if slc is None:
                writer.add(name, array, dtype)
            else:
                writer.add_slice(name, full_shape, slc, array, dtype)
    except BaseException:
        writer.abort()
        raise
    writer.finish()

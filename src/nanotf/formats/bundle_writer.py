"""Writing a V2 checkpoint byte-identical to TensorFlow's ``BundleWriter``.

Layout: see ``bundle.py``. What the writer guarantees:

* tensors are appended to ``<prefix>.data-00000-of-00001`` in the order they
  are added, with no padding; the index lists them sorted by key;
* both files are written as ``<file>.tempstate<random>``, fsynced, then renamed,
  data file first, so a crash never leaves an index pointing at missing data;
* a tensor is streamed from its own buffer in chunks while its CRC is
  extended, so even a tensor larger than 2 GiB is never held twice.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..protos import checkpoint_pb2
from . import bundle, crc32c, dtypes
from .slices import TensorSlice, encode_tensor_name_slice, parse_shape_and_slice
from .table_writer import TableWriter
from .tensor_codec import encode_tensor

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


class BundleWriter:
    """Builds one single-shard V2 bundle at ``prefix``.

    Args:
        prefix: the checkpoint prefix; its directory is created if missing.

    Use ``add`` / ``add_slice`` for every tensor, then ``finish``. On an error
    call ``abort`` to remove the temp files.
    """

    def __init__(self, prefix: str | os.PathLike):
        self.prefix = os.fspath(prefix)
        directory = os.path.dirname(self.prefix)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.data_path = bundle.data_filename(self.prefix, 0, 1)
        self._data_temp = bundle.temp_filename(self.data_path)
        self._data = open(self._data_temp, "wb", buffering=WRITE_BUFFER)
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
        size, crc = encode_tensor(array, wire, self._data.write, what)
        entry = checkpoint_pb2.BundleEntryProto(dtype=wire.enum, offset=self._offset, size=size)
        entry.crc32c = crc32c.mask(crc)
        entry.shape.SetInParent()
        for d in array.shape:
            entry.shape.dim.add().size = d
        self._entries[key] = entry
        self._offset += size

    def finish(self) -> None:
        """Write the index and move both files into place (data first)."""
        _fsync_close(self._data)
        os.replace(self._data_temp, self.data_path)
        write_index(self.prefix, self._entries, bundle.new_header(1))

    def abort(self) -> None:
        """Discard the temp data file."""
        self._data.close()
        if os.path.exists(self._data_temp):
            os.remove(self._data_temp)


def write_index(prefix: str, entries: dict[bytes, checkpoint_pb2.BundleEntryProto],
                header: checkpoint_pb2.BundleHeaderProto, atomic: bool = True) -> None:
    """Write ``<prefix>.index``: the header, then the entries sorted by key.

    Args:
        prefix: the checkpoint prefix.
        entries: key -> entry.
        header: the BundleHeaderProto (see ``bundle.new_header``).
        atomic: write a temp file, fsync and rename (BundleWriter); False
            writes in place, as MergeV2Checkpoints does.
    """
    path = bundle.index_filename(prefix)
    target = bundle.temp_filename(path) if atomic else path
    with open(target, "wb", buffering=WRITE_BUFFER) as f:
        table = TableWriter(f, path)
        table.add(bundle.HEADER_KEY, header.SerializeToString())
        for key in sorted(entries):
            table.add(key, entries[key].SerializeToString())
        table.finish()
        if atomic:
            f.flush()
            os.fsync(f.fileno())
    if atomic:
        os.replace(target, path)


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
            duplicate keys or unsupported values. Nothing is left behind.
    """
    if not len(names) == len(shape_and_slices) == len(arrays) or (dtypes_ is not None and len(dtypes_) != len(names)):
        raise InvalidArgumentError(
            f"SaveV2 for {prefix}: {len(names)} names, {len(shape_and_slices)} shape_and_slices, "
            f"{len(arrays)} tensors" + ("" if dtypes_ is None else f", {len(dtypes_)} dtypes")
        )
    writer = BundleWriter(prefix)
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

"""Reading legacy V1 checkpoints (``Saver(write_version=SaverDef.V1)``).

A V1 checkpoint is one table file ``<prefix>``, or shards
``<prefix>-00000-of-00002`` ... (``Saver.save`` returns ``<prefix>-?????-of-00002``).
Every value is a serialized ``SavedTensorSlices``::

    key ""                              -> { meta: { tensor: SavedSliceMeta{name, shape, type, slice*}*,
                                                     versions } }
    key EncodeTensorNameSlice(n, s)     -> { data: SavedSlice{name, slice, data: TensorProto} }

Every tensor, partitioned or not, is stored as slices (an unpartitioned one as a
single full slice). The TensorProto carries neither dtype nor shape, only the
typed value field of the meta's type (``float_val``, ``int_val``, ...).
"""

from __future__ import annotations

import glob
import os

import numpy as np

from ..errors import DataLossError, InvalidArgumentError, NotFoundError
from ..protos import checkpoint_pb2, tensor_pb2
from . import dtypes, storage
from .bundle import check_shape
from .protoparse import parse_message
from .slices import TensorSlice, assemble, encode_tensor_name_slice, parse_shape_and_slice
from .table import TableReader

_SHARD_GLOB = "-?????-of-?????"
_NO_LIMIT = 1 << 62  # a V1 file is read whole whatever its size, as a local one is mapped whole

# TensorProto field holding each dtype's values in a V1 file, and the NumPy
# type those values have in the proto before casting to the wire type.
_INT_VAL = ("int_val", np.int64)
_VALUE_FIELDS = {
    "float32": ("float_val", np.float32),
    "float64": ("double_val", np.float64),
    "int32": _INT_VAL, "int16": _INT_VAL, "int8": _INT_VAL, "uint8": _INT_VAL, "uint16": _INT_VAL,
    "qint8": _INT_VAL, "quint8": _INT_VAL, "qint16": _INT_VAL, "quint16": _INT_VAL, "qint32": _INT_VAL,
    "int64": ("int64_val", np.int64),
    "bool": ("bool_val", np.bool_),
    "complex64": ("scomplex_val", np.float32),
    "complex128": ("dcomplex_val", np.float64),
    "float16": ("half_val", np.uint16),
    "bfloat16": ("half_val", np.uint16),
    "uint32": ("uint32_val", np.uint32),
    "uint64": ("uint64_val", np.uint64),
    "string": ("string_val", object),
}


def v1_files(prefix: str) -> list[str]:
    """The table files of the V1 checkpoint ``prefix`` (a file, a shard pattern, or a sharded prefix).

    ``prefix`` may be an object store URL (wildcards in its last part only).

    Returns:
        Sorted file names; empty if there is no such checkpoint.
    """
    remote, prefix = storage.resolve(prefix)
    if any(c in prefix for c in "?*["):
        return storage.glob(prefix)
    if storage.exists(prefix) if remote else os.path.isfile(prefix):
        return [prefix]
    return storage.glob(glob.escape(prefix) + _SHARD_GLOB)


def _parse(value, path: str, what: str) -> checkpoint_pb2.SavedTensorSlices:
    return parse_message(checkpoint_pb2.SavedTensorSlices(), value, f"{path}: {what}")


def _decode_values(proto: tensor_pb2.TensorProto, wire: dtypes.WireDType, shape, where: str) -> np.ndarray:
    n = int(np.prod(shape, dtype=object))
    if proto.tensor_content:
        if wire.numpy is None or len(proto.tensor_content) != n * wire.itemsize:
            raise DataLossError(f"{where}: tensor_content of {len(proto.tensor_content)} bytes for {n} {wire.name}")
        return np.frombuffer(proto.tensor_content, dtype=wire.numpy).reshape(shape)
    if wire.name not in _VALUE_FIELDS:
        raise DataLossError(f"{where}: nanotf cannot read {wire.name} tensors from V1 checkpoints")
    field, base = _VALUE_FIELDS[wire.name]
    values = getattr(proto, field)
    per_element = 2 if wire.name.startswith("complex") else 1
    if len(values) != n * per_element:
        raise DataLossError(f"{where}: {len(values)} values in {field} for a slice of shape {list(shape)}")
    if base is object:
        array = np.empty(n, dtype=object)
        array[:] = list(values)
    elif per_element == 2:
        array = np.array(values, dtype=base).view(wire.numpy)
    elif field == "half_val":
        array = np.array(values, dtype=np.int64).astype(np.uint16).view(wire.numpy)
    else:
        array = np.array(values, dtype=base).astype(wire.numpy)
    return array.reshape(shape)


class V1Reader:
    """A V1 checkpoint opened for reading.

    Args:
        prefix: the checkpoint file, its shard pattern, or the prefix of its shards.
        verify: check table block checksums.

    Raises:
        NotFoundError: if no file matches.
        DataLossError: if a table or its metadata is malformed.
    """

    def __init__(self, prefix: str | os.PathLike, verify: bool = True):
        self.prefix = os.fspath(prefix)
        files = v1_files(self.prefix)
        if not files:
            raise NotFoundError(f"no V1 checkpoint file {self.prefix} (or {self.prefix}{_SHARD_GLOB})")
        self._tables: list[TableReader] = []
        self._meta: dict[str, tuple[dtypes.WireDType, tuple[int, ...], list[tuple[TensorSlice, int]]]] = {}
        try:
            for path in files:
                self._open(path)
        except BaseException:
            self.close()
            raise

    def _open(self, path: str) -> None:
        # A V1 table holds the values themselves, so a remote one is downloaded whole.
        table = TableReader(path, data=storage.read_bytes(path, _NO_LIMIT) if storage.is_remote(path) else None)
        self._tables.append(table)
        header = table.get(b"")
        if header is None:
            raise DataLossError(f"{path}: no metadata entry (key \"\"); not a V1 checkpoint")
        meta = _parse(header, path, "the metadata entry").meta
        for tensor in meta.tensor:
            where = f"{path}: tensor '{tensor.name}'"
            if tensor.type not in dtypes.BY_ENUM:
                raise DataLossError(f"{where}: unknown dtype {tensor.type}")
            wire = dtypes.wire_dtype(tensor.type)
            check_shape(tensor.shape, where, wire)
            shape = tuple(d.size for d in tensor.shape.dim)
            slices = [(TensorSlice.from_proto(s), len(self._tables) - 1) for s in tensor.slice]
            known = self._meta.get(tensor.name)
            if known is not None:
                if known[:2] != (wire, shape):
                    raise DataLossError(f"{where}: dtype or shape differs from another shard's")
                known[2].extend(slices)
            else:
                self._meta[tensor.name] = (wire, shape, slices)

    def variable_keys(self) -> list[str]:
        return sorted(self._meta)

    def _lookup(self, name: str):
        meta = self._meta.get(name)
        if meta is None:
            raise NotFoundError(f"key '{name}' not found in checkpoint {self.prefix}")
        return meta

    def dtype(self, name: str) -> dtypes.WireDType:
        return self._lookup(name)[0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self._lookup(name)[1]

    def read(self, name: str, slice_spec: str | TensorSlice | None = None, copy: bool = False) -> np.ndarray:
        """Read a tensor (assembled from its slices), or a slice of it.

        Args:
            name: the tensor name.
            slice_spec: None/``""``, a TensorSlice, or ``"<full dims> <slice>"``.
            copy: accepted for symmetry with BundleReader; V1 values are always fresh arrays.

        Raises:
            NotFoundError, InvalidArgumentError, DataLossError.
        """
        wire, shape, stored = self._lookup(name)
        what = f"{self.prefix}: tensor '{name}'"
        target = TensorSlice.full(len(shape))
        if isinstance(slice_spec, str) and slice_spec:
            spec_shape, target = parse_shape_and_slice(slice_spec)
            if tuple(spec_shape) != shape:
                raise InvalidArgumentError(f"{what}: shape {spec_shape} in {slice_spec!r} differs from stored {list(shape)}")
        elif isinstance(slice_spec, TensorSlice):
            target = slice_spec
        target.check(shape, what)

        def load(i: int, direct: bool) -> np.ndarray:
            slc, table_index = stored[i]
            table = self._tables[table_index]
            value = table.get(encode_tensor_name_slice(name, slc))
            if value is None:
                raise DataLossError(f"{table.path}: tensor '{name}': the entry of slice {slc} is missing")
            saved = _parse(value, table.path, f"slice {slc} of '{name}'").data
            if saved.name != name or TensorSlice.from_proto(saved.slice).bounds(shape) != slc.bounds(shape):
                raise DataLossError(f"{table.path}: tensor '{name}': entry of slice {slc} holds another slice")
            return _decode_values(saved.data, wire, slc.shape(shape), f"{table.path}: tensor '{name}' slice {slc}")

        # Key order (= table order) reads each table block once however the metadata lists the slices.
        stored = sorted(stored, key=lambda item: (item[1], encode_tensor_name_slice(name, item[0])))
        return assemble(shape, target, [s for s, _ in stored], load, object if wire.numpy is None else wire.numpy, what)

    def close(self) -> None:
        for table in self._tables:
            table.close()
        self._tables = []

    def __enter__(self) -> "V1Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

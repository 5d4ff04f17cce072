"""Writing legacy V1 checkpoints (SaveSlices), byte-identical to TensorFlow's TensorSliceWriter.

One table file (layout: v1.py)::

    ""                              -> SavedTensorSlices{meta: {tensor: SavedSliceMeta{name, shape, type,
                                                                slice*} per tensor, versions{producer: 1}}}
    EncodeTensorNameSlice(n, s)     -> SavedTensorSlices{data: SavedSlice{name, slice, data}}

``data`` is a TensorProto holding only the typed value field (``float_val``,
``string_val``, ...), no dtype or shape. An unpartitioned tensor is one full
slice. The file is written under a temp name, fsynced and renamed (``atomic``);
in an object store, by one upload (``storage.put_bytes``).
"""

from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..protos import checkpoint_pb2, tensor_pb2
from . import storage
from .atomic import atomic_file
from .bundle_writer import resolve_dtype
from .fileerrors import os_errors
from .slices import TensorSlice, encode_tensor_name_slice, parse_shape_and_slice
from .table_writer import TableWriter
from .tensor_codec import to_string_elements
from .v1 import _VALUE_FIELDS

__all__ = ["write_v1"]

V1_PRODUCER = 1


def _values_proto(array: np.ndarray, wire, what: str) -> tensor_pb2.TensorProto:
    field = _VALUE_FIELDS.get(wire.name)
    if field is None:
        raise InvalidArgumentError(f"{what}: dtype {wire.name} cannot be saved in a V1 checkpoint")
    name, proto_type = field
    proto = tensor_pb2.TensorProto()
    flat = array.reshape(-1)
    if wire.name == "string":
        getattr(proto, name).extend(to_string_elements(flat, what))
    elif name == "half_val":
        proto.half_val.extend(flat.view(np.uint16).astype(np.int64).tolist())
    elif name in ("scomplex_val", "dcomplex_val"):
        getattr(proto, name).extend(np.stack([flat.real, flat.imag], axis=-1).reshape(-1).astype(proto_type).tolist())
    else:
        getattr(proto, name).extend(flat.astype(proto_type).tolist())
    return proto


def write_v1(path: str, names: Sequence[str], shapes_and_slices: Sequence[str], arrays: Sequence,
             dtypes_: Sequence | None = None) -> None:
    """SaveSlices: write ``arrays`` as the V1 checkpoint file ``path``.

    Args:
        path: the output file.
        names: tensor names, one per array.
        shapes_and_slices: per tensor ``""`` (whole) or ``"<full dims> <slice>"``.
        arrays: the values (for a slice, the slice's value).
        dtypes_: optional per-tensor DataType; None infers it.

    Raises:
        InvalidArgumentError: for mismatched lengths, bad specs, duplicate
            slices or unsupported dtypes. Nothing is left behind.
    """
    if not len(names) == len(shapes_and_slices) == len(arrays):
        raise InvalidArgumentError(f"SaveSlices {path}: {len(names)} names, {len(shapes_and_slices)} "
                                   f"shapes_and_slices, {len(arrays)} tensors")  # fmt: skip
    meta = checkpoint_pb2.SavedTensorSlices()
    metas: dict[str, checkpoint_pb2.SavedSliceMeta] = {}
    entries: dict[bytes, bytes] = {}
    for i, (name, spec, value) in enumerate(zip(names, shapes_and_slices, arrays)):
        array = np.asarray(value)
        what = f"{path}: tensor '{name}'"
        wire = resolve_dtype(None if dtypes_ is None else dtypes_[i], array, what)
        full_shape, slc = parse_shape_and_slice(spec)
        if slc is None:
            full_shape, slc = list(array.shape), TensorSlice.full(array.ndim)
        slc.check(full_shape, what)
        if tuple(array.shape) != slc.shape(full_shape):
            raise InvalidArgumentError(f"{what}: value shape {list(array.shape)} is not slice {slc}'s")
        tmeta = metas.get(name)
        if tmeta is None:
            tmeta = metas[name] = meta.meta.tensor.add(name=name, type=wire.enum)
            tmeta.shape.SetInParent()
            for d in full_shape:
                tmeta.shape.dim.add().size = d
        tmeta.slice.add().CopyFrom(slc.to_proto())
        key = encode_tensor_name_slice(name, slc)
        if key in entries:
            raise InvalidArgumentError(f"{what}: slice {slc} is saved twice")
        saved = checkpoint_pb2.SavedTensorSlices()
        saved.data.name = name
        saved.data.slice.CopyFrom(slc.to_proto())
        saved.data.data.CopyFrom(_values_proto(array, wire, what))
        entries[key] = saved.SerializeToString()
    meta.meta.versions.producer = V1_PRODUCER
    remote, path = storage.resolve(path)
    if remote:  # one upload, which the store publishes whole: readers see the old object or all of the new
        buffer = io.BytesIO()
        _write_table(buffer, path, meta, entries)
        storage.put_bytes(path, buffer.getvalue())
        return
    directory = os.path.dirname(path)
    if directory:
        with os_errors(directory, "creating the checkpoint directory"):
            os.makedirs(directory, exist_ok=True)
    with atomic_file(path) as f:
        _write_table(f, path, meta, entries)


def _write_table(f, path: str, meta: checkpoint_pb2.SavedTensorSlices, entries: dict[bytes, bytes]) -> None:
    table = TableWriter(f, path)
    table.add(b"", meta.SerializeToString())
    for key in sorted(entries):
        table.add(key, entries[key])
    table.finish()

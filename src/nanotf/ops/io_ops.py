"""Checkpoint I/O ops: the ops a Saver's ``save/...`` subgraph is made of.

* ``SaveV2`` / ``RestoreV2`` / ``MergeV2Checkpoints``: V2 tensor bundles
  (formats/bundle_writer.py, bundle_reader.py, bundle_merge.py). RestoreV2
  also reads V1 checkpoints, and any slice (``"10 4 -:0,2"``) of any tensor.
* ``SaveSlices`` / ``Save`` / ``Restore`` / ``RestoreSlice``: the legacy V1
  format (formats/v1.py).
* ``ShardedFilename`` / ``ShardedFilespec`` / ``StringJoin`` /
  ``StaticRegexFullMatch``: the string ops a sharded save builds its file
  names with.

Signatures are TensorFlow 2.21's OpDefs (they go into ``stripped_op_list``).
"""

from __future__ import annotations

import os
import re

import numpy as np

from nanotf import errors
from nanotf.formats import bundle
from nanotf.formats import v1 as v1_format
from nanotf.formats.bundle_merge import merge_bundles
from nanotf.formats import parallel
from nanotf.formats import storage
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle
from nanotf.formats.remote_bundle import reader_for
from nanotf.formats.slices import parse_shape_and_slice
from nanotf.framework import dtypes
from nanotf.framework import handover
from nanotf.framework import tensor_util
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape

__all__ = ["open_checkpoint", "sharded_filename", "sharded_filespec"]

# A restore from an object store of at least this many bytes fetches several tensors at once: each
# request mostly waits on the network. A local one reads its whole tensors in one pass of chunks on
# every core (BundleReader.read_many, formats/range_read.py).
PARALLEL_RESTORE_BYTES = 32 << 20


def _text(value) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _strings(array, what: str) -> list[str]:
    array = np.asarray(array, dtype=object)
    if array.ndim != 1:
        raise errors.InvalidArgumentError(f"{what} must be a vector, got shape {list(array.shape)}")
    return [_text(v) for v in array]


def _outputs(values: list):
    # The executor stores a one-output op's result as is, several outputs as a tuple.
    return values[0] if len(values) == 1 else tuple(values)


def _no_outputs(op):
    return []


# -- V2 ---------------------------------------------------------------------------
def _check_parent(prefix: str) -> None:
    # TF's BundleWriter creates the prefix's directory, but not recursively.
    # An object store has no directories (a missing bucket fails the upload).
    remote, prefix = storage.resolve(prefix)
    if remote:
        return
    parent = os.path.dirname(os.path.dirname(prefix))
    if parent and not os.path.isdir(parent):
        raise errors.NotFoundError(f"{parent}: No such file or directory (saving {prefix})")


def _save_v2(attrs, prefix, tensor_names, shape_and_slices, *tensors):
    prefix = _text(prefix)
    _check_parent(prefix)
    names = _strings(tensor_names, "SaveV2 tensor_names")
    specs = _strings(shape_and_slices, "SaveV2 shape_and_slices")
    write_bundle(prefix, names, specs, [np.asarray(t) for t in tensors], attrs["dtypes"])
    return ()


register_op("SaveV2", ["prefix: string", "tensor_names: string", "shape_and_slices: string", "tensors: dtypes"], [],
            ["dtypes: list(type) >= 1"], shape=_no_outputs, kernel=_save_v2, is_stateful=True)  # fmt: skip


def open_checkpoint(prefix: str):
    """A reader for the V2 (``<prefix>.index``) or V1 checkpoint at ``prefix`` (local or in an object store).

    Raises:
        NotFoundError: if neither exists, in TensorFlow's words.
    """
    _, prefix = storage.resolve(prefix)
    if storage.exists(bundle.index_filename(prefix)):
        return reader_for(prefix)
    if v1_format.v1_files(prefix):
        return v1_format.V1Reader(prefix)
    raise errors.NotFoundError(
        f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files for {prefix} "
        f"(no V2 index {bundle.index_filename(prefix)} and no V1 file)"
    )


def _check_stored(reader, name: str, dtype: dtypes.DType) -> None:
    """Raise TensorFlow's errors for a key the checkpoint lacks or stores as another dtype."""
    try:
        stored = reader.dtype(name)
    except errors.NotFoundError:
        raise errors.NotFoundError(f"Key {name} not found in checkpoint {reader.prefix}") from None
    if stored.enum != dtype.as_datatype_enum:
        raise errors.InvalidArgumentError(
            f"tensor_name = {name}; expected dtype {dtype.name} does not equal original dtype {stored.name}"
        )


def _restored(value: np.ndarray, dtype: dtypes.DType) -> np.ndarray:
    value = np.array(value, dtype=object) if dtype == dtypes.string else value
    # Fresh memory no one else holds: the variable store keeps it without copying it again.
    return handover.hand_over(value)


def _restore_tensor(reader, name: str, spec: str, dtype: dtypes.DType) -> np.ndarray:
    _check_stored(reader, name, dtype)
    return _restored(reader.read(name, spec or None, copy=True), dtype)


def _restore_v2(attrs, prefix, tensor_names, shape_and_slices):
    names = _strings(tensor_names, "RestoreV2 tensor_names")
    specs = _strings(shape_and_slices, "RestoreV2 shape_and_slices")
    types = attrs["dtypes"]
    if not len(names) == len(specs) == len(types):
        raise errors.InvalidArgumentError(
            f"RestoreV2: {len(names)} tensor_names, {len(specs)} shape_and_slices and {len(types)} dtypes differ"
        )
    remote, prefix = storage.resolve(_text(prefix))
    threads = parallel.io_threads(remote)
    with open_checkpoint(prefix) as reader:
        jobs = list(zip(names, specs, types))
        if remote and len(jobs) > 1 and _stored_bytes(reader, names) >= PARALLEL_RESTORE_BYTES:
            return _outputs(parallel.map_ordered(lambda job: _restore_tensor(reader, *job), jobs, threads))
        if remote or not isinstance(reader, BundleReader):
            return _outputs([_restore_tensor(reader, *job) for job in jobs])
        # A local V2 checkpoint: the whole tensors are read together (BundleReader.read_many), slices one by one.
        for name, _, dtype in jobs:
            _check_stored(reader, name, dtype)
        whole = [i for i, (_, spec, _) in enumerate(jobs) if not spec]
        values = dict(zip(whole, reader.read_many([names[i] for i in whole])))
        return _outputs([_restored(values[i] if i in values else reader.read(name, spec, copy=True), dtype)
                         for i, (name, spec, dtype) in enumerate(jobs)])  # fmt: skip


def _stored_bytes(reader, names: list[str]) -> int:
    """The data bytes of ``names`` as a V2 index records them (0 for V1 or unknown keys: restore serially)."""
    total = 0
    for name in names:
        try:
            total += reader.entry(name).size if isinstance(reader, BundleReader) else 0
        except errors.NotFoundError:
            return 0  # _restore_tensor raises TensorFlow's error for it
    return total


def _restore_v2_shapes(op):
    # TF's shape fn: with a Const shape_and_slices, a slice spec gives that slice's shape; "" is unknown.
    n = len(op.get_attr("dtypes"))
    specs_op = op.inputs[2].op
    if specs_op.type != "Const":
        return [TensorShape(None)] * n
    specs = tensor_util.make_ndarray(specs_op.get_attr("value")).reshape(-1)
    shapes = []
    for spec in specs[:n]:
        full_shape, slc = parse_shape_and_slice(_text(spec))
        shapes.append(TensorShape(None) if slc is None else TensorShape(list(slc.shape(full_shape))))
    return shapes + [TensorShape(None)] * (n - len(shapes))


register_op("RestoreV2", ["prefix: string", "tensor_names: string", "shape_and_slices: string"], ["tensors: dtypes"],
            ["dtypes: list(type) >= 1"], shape=_restore_v2_shapes, kernel=_restore_v2, is_stateful=True)  # fmt: skip


def _merge(attrs, checkpoint_prefixes, destination_prefix):
    prefixes = [_text(p) for p in np.asarray(checkpoint_prefixes, dtype=object).reshape(-1)]
    merge_bundles(prefixes, _text(destination_prefix), delete_old_dirs=attrs["delete_old_dirs"],
                  allow_missing_files=attrs["allow_missing_files"])  # fmt: skip
    return ()


register_op("MergeV2Checkpoints", ["checkpoint_prefixes: string", "destination_prefix: string"], [],
            ["delete_old_dirs: bool = true", "allow_missing_files: bool = false"], shape=_no_outputs,
            kernel=_merge, is_stateful=True)  # fmt: skip


# -- file names ---------------------------------------------------------------------
def sharded_filename(basename: str, shard: int, num_shards: int) -> str:
    """``<basename>-<shard>-of-<num_shards>``, both five digits (TF's ShardedFilename)."""
    return "%s-%05d-of-%05d" % (basename, shard, num_shards)


def sharded_filespec(basename: str, num_shards: int) -> str:
    """The glob matching every shard: ``<basename>-?????-of-<num_shards>``."""
    return "%s-?????-of-%05d" % (basename, num_shards)


def _scalar_shape(op):
    return [TensorShape([])]


register_op("ShardedFilename", ["basename: string", "shard: int32", "num_shards: int32"], ["filename: string"], [],
            shape=_scalar_shape, grad=NOT_DIFFERENTIABLE,
            kernel=lambda attrs, b, s, n: np.array(sharded_filename(_text(b), int(s), int(n)).encode(), dtype=object))  # fmt: skip
register_op("ShardedFilespec", ["basename: string", "num_shards: int32"], ["filename: string"], [],
            shape=_scalar_shape, grad=NOT_DIFFERENTIABLE,
            kernel=lambda attrs, b, n: np.array(sharded_filespec(_text(b), int(n)).encode(), dtype=object))  # fmt: skip


def _as_bytes(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode("utf-8")


def _string_join(attrs, *inputs):
    arrays = [np.asarray(x, dtype=object) for x in inputs]
    shapes = {a.shape for a in arrays if a.ndim}
    if len(shapes) > 1:
        raise errors.InvalidArgumentError(f"StringJoin: input shapes do not match: {sorted(shapes)}")
    shape = shapes.pop() if shapes else ()
    sep = attrs["separator"]
    parts = [np.broadcast_to(a, shape).reshape(-1) for a in arrays]
    joined = [sep.join(_as_bytes(p[i]) for p in parts) for i in range(int(np.prod(shape, dtype=np.int64)))]
    out = np.empty(len(joined), dtype=object)
    out[:] = joined
    return out.reshape(shape)


def _string_join_shape(op):
    shape = TensorShape([])
    for t in op.inputs:
        if t.shape.ndims != 0:
            shape = t.shape if shape.ndims == 0 else shape.merge_with(t.shape)
    return [shape]


register_op("StringJoin", ["inputs: N * string"], ["output: string"], ["N: int >= 0", "separator: string = ''"],
            shape=_string_join_shape, kernel=_string_join, grad=NOT_DIFFERENTIABLE)  # fmt: skip


def _regex_full_match(attrs, x):
    pattern = re.compile(attrs["pattern"])
    flat = np.asarray(x, dtype=object).reshape(-1)
    matched = np.array([pattern.fullmatch(_as_bytes(v)) is not None for v in flat], dtype=bool)
    return matched.reshape(np.shape(x))


register_op("StaticRegexFullMatch", ["input: string"], ["output: bool"], ["pattern: string"],
            shape=lambda op: [op.inputs[0].shape], kernel=_regex_full_match, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- V1 (legacy) ---------------------------------------------------------------------
def _save_slices(attrs, filename, tensor_names, shapes_and_slices, *data):
    from nanotf.formats import v1_writer

    _check_parent(_text(filename))
    names = _strings(tensor_names, "SaveSlices tensor_names")
    specs = _strings(shapes_and_slices, "SaveSlices shapes_and_slices")
    v1_writer.write_v1(_text(filename), names, specs, [np.asarray(t) for t in data], attrs["T"])
    return ()


register_op("SaveSlices", ["filename: string", "tensor_names: string", "shapes_and_slices: string", "data: T"], [],
            ["T: list(type) >= 1"], shape=_no_outputs, kernel=_save_slices, is_stateful=True)  # fmt: skip
register_op("Save", ["filename: string", "tensor_names: string", "data: T"], [], ["T: list(type) >= 1"],
            shape=_no_outputs, is_stateful=True,
            kernel=lambda attrs, f, names, *data: _save_slices(attrs, f, names, [""] * len(data), *data))  # fmt: skip


def _restore_slice(attrs, file_pattern, tensor_name, shape_and_slice=b""):
    with open_checkpoint(_text(file_pattern)) as reader:
        return _restore_tensor(reader, _text(tensor_name), _text(shape_and_slice), attrs["dt"])


_RESTORE_ATTRS = ["dt: type", "preferred_shard: int = -1"]
register_op("Restore", ["file_pattern: string", "tensor_name: string"], ["tensor: dt"], _RESTORE_ATTRS,
            shape=lambda op: [TensorShape(None)], kernel=_restore_slice, is_stateful=True)  # fmt: skip
register_op("RestoreSlice", ["file_pattern: string", "tensor_name: string", "shape_and_slice: string"], ["tensor: dt"],
            _RESTORE_ATTRS, shape=lambda op: [TensorShape(None)], kernel=_restore_slice, is_stateful=True)  # fmt: skip

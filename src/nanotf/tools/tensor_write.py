"""Writing named tensors to a TF checkpoint, ``.npz`` or ``.safetensors``, one tensor in memory at a time.

``make_plan`` decides what to write (which tensors of a source, under which
names, as which dtypes); ``write_tensors`` reads each planned tensor from its
``TensorSource`` (see ``tensor_io.py``) and writes it in the format the
destination's suffix names.
"""

from __future__ import annotations

import os
import zipfile
from typing import NamedTuple

import numpy as np

from ..errors import InvalidArgumentError
from ..formats import dtypes
from ..formats.atomic import atomic_file
from ..formats.bundle_writer import BundleWriter
from ..formats.slices import TensorSlice
from ..train.checkpoint_management import get_checkpoint_state, update_checkpoint_state
from .safetensors_io import write_safetensors
from .tensor_io import NPY_SUFFIX, NPZ, SAFETENSORS, TensorSource, file_format


class Planned(NamedTuple):
    """One tensor to write: where it comes from and what it becomes."""

    source_name: str
    name: str
    dtype: dtypes.WireDType
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        """The data bytes of a numeric tensor (0 for strings, whose size is known only once read)."""
        return int(np.prod(self.shape, dtype=object)) * (self.dtype.itemsize or 0)


def load_cast(source: TensorSource, item: Planned, slc: TensorSlice | None = None) -> np.ndarray:
    """Read ``item`` (or one slice of it) from ``source`` as its planned dtype."""
    array = source.read(item.source_name, slc)
    if item.dtype.numpy is not None and array.dtype != item.dtype.numpy:
        array = array.astype(item.dtype.numpy)
    return array


def write_tensors(path: str, source: TensorSource, plan: list[Planned], on_bytes) -> None:
    """Write the planned tensors of ``source`` to ``path`` in the format its suffix names.

    A checkpoint keeps partitioned tensors partitioned and is recorded in the
    ``checkpoint`` state file of its directory, as the Saver records it.

    Args:
        path: a ``.npz`` / ``.safetensors`` file, or a checkpoint prefix.
        source: where the values come from.
        plan: what to write.
        on_bytes: called with each tensor's byte count once it is written.

    Raises:
        InvalidArgumentError: for a tensor the target format cannot hold.
    """
    kind = file_format(path)
    if kind == SAFETENSORS:
        by_name = {p.name: p for p in plan}
        write_safetensors(path, [(p.name, p.dtype, p.shape) for p in plan],
                          lambda name: load_cast(source, by_name[name]), on_bytes=on_bytes)  # fmt: skip
    elif kind == NPZ:
        _write_npz(path, source, plan, on_bytes)
    else:
        _write_checkpoint(path, source, plan, on_bytes)


def _write_npz(path: str, source: TensorSource, plan: list[Planned], on_bytes) -> None:
    for item in plan:  # check every dtype first: a late failure would waste the whole write
        if item.dtype.numpy is not None and not _numpy_native(item.dtype):
            raise InvalidArgumentError(
                f"tensor '{item.name}' is {item.dtype.name}, which .npz cannot hold as such "
                "(leave it out with --exclude, cast floats with --dtype, or write .safetensors)"
            )
    with atomic_file(path) as f, zipfile.ZipFile(f, "w", allowZip64=True) as archive:
        for item in plan:
            array = load_cast(source, item)
            if item.dtype.enum == dtypes.DT_STRING:
                array = _fixed_width_bytes(array, item.name)
            with archive.open(item.name + NPY_SUFFIX, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
            on_bytes(array.nbytes)


def _numpy_native(wire: dtypes.WireDType) -> bool:
    """Whether a ``.npy`` file records ``wire`` faithfully: not the extension types
    (bfloat16, float8, int4: stored as opaque void) nor quantized ones (read back as plain ints)."""
    if wire.numpy.kind == "V":
        return False
    return dtypes.from_numpy(wire.numpy) == wire


def _fixed_width_bytes(array: np.ndarray, name: str) -> np.ndarray:
    """A string tensor as a NumPy ``S`` array, which loads without pickle.

    Raises:
        InvalidArgumentError: if an element ends in a NUL byte, which ``S``
            arrays drop, so the value would not survive the round trip.
    """
    items = [x.encode("utf-8") if isinstance(x, str) else bytes(x) for x in array.ravel()]
    if any(x.endswith(b"\0") for x in items):
        raise InvalidArgumentError(
            f"tensor '{name}' has strings ending in NUL bytes, which .npz fixed-width strings drop; "
            "leave it out with --exclude"
        )
    return np.array(items, dtype=bytes).reshape(array.shape) if items else np.zeros(array.shape, dtype="S1")


def _write_checkpoint(prefix: str, source: TensorSource, plan: list[Planned], on_bytes) -> None:
    writer = BundleWriter(prefix)
    try:
        for item in sorted(plan, key=lambda p: p.name):  # the Saver's order, so the bytes match TF's
            slices = source.partitions(item.source_name)
            for slc in slices:
                part = load_cast(source, item, slc)
                writer.add_slice(item.name, item.shape, slc, part, item.dtype)
                on_bytes(part.nbytes)
            if not slices:
                array = load_cast(source, item)
                writer.add(item.name, array, item.dtype)
                on_bytes(array.nbytes)
    except BaseException:
        writer.abort()
        raise
    writer.finish()
    save_dir = os.path.dirname(prefix)
    previous = get_checkpoint_state(save_dir) if os.path.isdir(save_dir or ".") else None
    paths = [p for p in (previous.all_model_checkpoint_paths if previous else []) if p != prefix]
    update_checkpoint_state(save_dir, prefix, paths + [prefix])


def is_float(wire: dtypes.WireDType) -> bool:
    """Whether ``wire`` is a real floating-point type (what ``--dtype`` casts)."""
    return wire.name.startswith(("float", "bfloat"))


def make_plan(source: TensorSource, new_name, keep=lambda name: True,
              cast: dtypes.WireDType | None = None) -> list[Planned]:  # fmt: skip
    """Decide what to write: which tensors, under which names, as which dtypes.

    Args:
        source: the tensors to read.
        new_name: ``new_name(key) -> key`` for each kept tensor.
        keep: ``keep(key) -> bool``, applied to the source keys.
        cast: the dtype floating-point tensors become, or None to keep theirs.

    Raises:
        InvalidArgumentError: if two tensors would get the same name.
    """
    plan, taken = [], {}
    for name in source.names():
        if not keep(name):
            continue
        target = new_name(name)
        if not target:
            raise InvalidArgumentError(f"'{name}' would be renamed to the empty string, which is no valid key")
        if target in taken:
            raise InvalidArgumentError(f"'{taken[target]}' and '{name}' would both be written as '{target}'")
        taken[target] = name
        wire = source.dtype(name)
        plan.append(Planned(name, target, cast if cast is not None and is_float(wire) else wire, source.shape(name)))
    return plan

"""Named tensors in files: TF checkpoints, ``.npz`` and ``.safetensors`` behind one interface.

``open_tensors(path)`` picks the format from the suffix (``.npz``,
``.safetensors``, anything else is a checkpoint directory, prefix or file) and
returns a ``TensorSource``: names, dtypes and shapes without reading data,
values on demand. Writing is in ``tensor_write.py``.

``.npz`` files are read without unpickling (``allow_pickle=False``), so they
may hold only plain NumPy types (TF strings as fixed-width bytes).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import DataLossError, NotFoundError, UnimplementedError
from ..formats import dtypes, storage
from ..formats.bundle import index_filename
from ..formats.remote_bundle import reader_for
from ..formats.slices import TensorSlice
from ..formats.v1 import V1Reader
from .common import checkpoint_prefix
from .safetensors_io import SafetensorsFile

CHECKPOINT, NPZ, SAFETENSORS = "checkpoint", "npz", "safetensors"
NPY_SUFFIX = ".npy"


def file_format(path: str | os.PathLike) -> str:
    """``npz``, ``safetensors`` or ``checkpoint``, from the path's suffix."""
    lower = os.fspath(path).lower()
    if lower.endswith(".npz"):
        return NPZ
    if lower.endswith(".safetensors"):
        return SAFETENSORS
    return CHECKPOINT


class TensorSource:
    """Named tensors in one file or checkpoint; subclasses fill in the format."""

    format: str
    path: str  # as shown to the user: the checkpoint prefix, or the file

    def names(self) -> list[str]:
        raise NotImplementedError

    def dtype(self, name: str) -> dtypes.WireDType:
        raise NotImplementedError

    def shape(self, name: str) -> tuple[int, ...]:
        raise NotImplementedError

    def read(self, name: str, slc: TensorSlice | None = None) -> np.ndarray:
        raise NotImplementedError

    def partitions(self, name: str) -> list[TensorSlice]:
        """The slices a partitioned tensor is stored in; empty if it is stored whole."""
        return []

    def nbytes(self, name: str) -> int:
        """The tensor's data bytes (strings: what is known without reading them, else 0)."""
        wire = self.dtype(name)
        return int(np.prod(self.shape(name), dtype=object)) * (wire.itemsize or 0)

    def close(self) -> None:
        pass

    def __enter__(self) -> TensorSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CheckpointSource(TensorSource):
    """A V2 or V1 TensorFlow checkpoint; partitioned tensors keep their slices."""

    format = CHECKPOINT

    def __init__(self, path: str | os.PathLike):
        self.path = checkpoint_prefix(path)
        self.version = "V2" if storage.exists(index_filename(self.path)) else "V1"
        self.reader = reader_for(self.path) if self.version == "V2" else V1Reader(self.path)
        self._names = self.reader.variable_keys()

    def names(self) -> list[str]:
        return sorted(self._names)

    def dtype(self, name: str) -> dtypes.WireDType:
        return self.reader.dtype(name)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.reader.shape(name))

    def read(self, name: str, slc: TensorSlice | None = None) -> np.ndarray:
        return self.reader.read(name, slc)

    def partitions(self, name: str) -> list[TensorSlice]:
        if self.version == "V1":
            return []  # V1 slices are an artefact of the format; they are read whole
        return [TensorSlice.from_proto(p) for p in self.reader.entry(name).slices]

    def nbytes(self, name: str) -> int:
        if self.version == "V2" and self.dtype(name).numpy is None and not self.partitions(name):
            return self.reader.entry(name).size
        return super().nbytes(name)

    def close(self) -> None:
        self.reader.close()


class NpzSource(TensorSource):
    """A NumPy ``.npz`` archive of ``.npy`` members, read without pickle."""

    format = NPZ

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise NotFoundError(f"{self.path}: no such file") from None
        except zipfile.BadZipFile as err:
            raise DataLossError(f"{self.path}: not a .npz (zip) archive ({err})") from None
        try:
            members = [m for m in self._zip.namelist() if m.endswith(NPY_SUFFIX)]
            self._info = {m.removesuffix(NPY_SUFFIX): self._header(m) for m in members}
        except (zipfile.BadZipFile, EOFError, ValueError) as err:
            self._zip.close()
            raise DataLossError(f"{self.path}: a member's .npy header is unreadable ({err})") from None
        except UnimplementedError:
            self._zip.close()
            raise

    def _header(self, member: str) -> tuple[dtypes.WireDType, tuple[int, ...]]:
        where = f"{self.path}: member {member}"
        with self._zip.open(member) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise UnimplementedError(f"{where}: .npy format version {version} is not one nanotf reads")
        if dtype.hasobject:
            raise UnimplementedError(
                f"{where} holds Python objects, which load only by unpickling; nanotf never unpickles "
                "(save strings as fixed-width bytes, dtype 'S')"
            )
        try:
            return dtypes.from_numpy(dtype), tuple(shape)
        except KeyError:
            raise UnimplementedError(f"{where}: NumPy dtype {dtype} has no TensorFlow dtype") from None

    def names(self) -> list[str]:
        return sorted(self._info)

    def dtype(self, name: str) -> dtypes.WireDType:
        return self._info[name][0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self._info[name][1]

    def read(self, name: str, slc: TensorSlice | None = None) -> np.ndarray:
        try:
            with self._zip.open(name + NPY_SUFFIX) as f:
                array = np.lib.format.read_array(f, allow_pickle=False)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
            raise DataLossError(f"{self.path}: member {name}{NPY_SUFFIX} is corrupted ({err})") from None
        return array if slc is None else array[tuple(slice(a, b) for a, b in slc.bounds(array.shape))]

    def close(self) -> None:
        self._zip.close()


class SafetensorsSource(TensorSource):
    """A ``.safetensors`` file, read zero-copy."""

    format = SAFETENSORS

    def __init__(self, path: str | os.PathLike):
        self.file = SafetensorsFile(path)
        self.path = self.file.path

    def names(self) -> list[str]:
        return self.file.names()

    def dtype(self, name: str) -> dtypes.WireDType:
        return self.file.dtype(name)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.file.shape(name)

    def read(self, name: str, slc: TensorSlice | None = None) -> np.ndarray:
        array = self.file.read(name)
        return array if slc is None else array[tuple(slice(a, b) for a, b in slc.bounds(array.shape))]

    def close(self) -> None:
        self.file.close()


def open_tensors(path: str | os.PathLike) -> TensorSource:
    """Open ``path`` as a TensorSource of the format its suffix names.

    Raises:
        NotFoundError / DataLossError / UnimplementedError: from the readers.
    """
    kind = file_format(path)
    if kind == NPZ:
        return NpzSource(path)
    if kind == SAFETENSORS:
        return SafetensorsSource(path)
    return CheckpointSource(path)

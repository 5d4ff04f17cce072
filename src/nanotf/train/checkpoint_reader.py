"""Reading checkpoints without a graph: tf.train.load_checkpoint and friends.

Every function accepts a directory (its latest checkpoint), a checkpoint
prefix (V2 or V1, local or an object store URL, see formats/storage.py), or
any one file of a checkpoint (``model.ckpt-10.index``,
``.data-00000-of-00001``, ``.meta``), which is resolved to its prefix with a
warning naming the prefix meant.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings

import numpy as np

from ..errors import NotFoundError
from ..formats.bundle import index_filename
from ..formats import storage
from ..formats.remote_bundle import reader_for
from ..formats.v1 import V1Reader, v1_files
from ..framework import dtypes
from .checkpoint_management import latest_checkpoint

_FILE_SUFFIX = re.compile(r"(\.index|\.meta|\.data-\d{5}-of-\d{5})$")


def resolve_checkpoint(path: str | os.PathLike) -> str:
    """Turn a directory, prefix or checkpoint file into the checkpoint's prefix.

    Raises:
        NotFoundError: saying what was looked for, if there is no checkpoint.
    """
    _, path = storage.resolve(path)
    if storage.isdir(path):
        prefix = latest_checkpoint(path)
        if prefix is None:
            raise NotFoundError(
                f"no checkpoint in directory {path}: its 'checkpoint' state file is missing, "
                "unreadable, or names a checkpoint whose files do not exist"
            )
        return prefix
    if storage.exists(index_filename(path)):
        return path
    match = _FILE_SUFFIX.search(path)
    if match and storage.exists(index_filename(path[: match.start()])):
        prefix = path[: match.start()]
        warnings.warn(f"{path} is a file of checkpoint {prefix}; pass the prefix {prefix!r} instead", stacklevel=3)
        return prefix
    if v1_files(path):
        return path
    raise NotFoundError(
        f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files for {path} "
        f"(looked for the V2 index {index_filename(path)} and a V1 file {path} or {path}-?????-of-?????)"
    )


class CheckpointReader:
    """tf.train.NewCheckpointReader: named access to a checkpoint's tensors.

    Args:
        filepattern: a directory, checkpoint prefix, or one of its files.
        verify: check checksums when reading (default True).

    Raises:
        NotFoundError: if there is no checkpoint there.
        DataLossError: if its index or metadata is corrupted.
    """

    def __init__(self, filepattern: str | os.PathLike, verify: bool = True):
        self.prefix = resolve_checkpoint(filepattern)
        if storage.exists(index_filename(self.prefix)):
            self._reader = reader_for(self.prefix, verify=verify)
        else:
            self._reader = V1Reader(self.prefix, verify=verify)
        self._names = self._reader.variable_keys()
        self._name_set = set(self._names)

    def has_tensor(self, name: str) -> bool:
        return name in self._name_set

    def get_tensor(self, name: str, copy: bool = False) -> np.ndarray:
        """The value of tensor ``name`` (partitioned tensors whole).

        Args:
            name: the checkpoint key.
            copy: return a writable array of its own; by default numeric
                tensors are read-only views of the mapped data file.

        Raises:
            NotFoundError: naming the closest existing keys, if ``name`` is absent.
            DataLossError: if the tensor's bytes are corrupted.
        """
        if name not in self._name_set:
            close = difflib.get_close_matches(name, self._names, n=3, cutoff=0.5)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise NotFoundError(f"Key {name} not found in checkpoint {self.prefix}{hint}")
        return self._reader.read(name, copy=copy)

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {name: list(self._reader.shape(name)) for name in self._names}

    def get_variable_to_dtype_map(self) -> dict[str, dtypes.DType]:
        return {name: dtypes.as_dtype(self._reader.dtype(name).enum) for name in self._names}

    def debug_string(self) -> bytes:
        """``name (dtype) [dims]`` per tensor, sorted, as TensorFlow prints it."""
        lines = []
        for name in sorted(self._names):
            wire = self._reader.dtype(name)
            dims = ",".join(str(d) for d in self._reader.shape(name))
            lines.append(f"{name} ({_TF_TYPE_NAMES.get(wire.name, wire.name)}) [{dims}]\n")
        return "".join(lines).encode("utf-8")

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> "CheckpointReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# DataTypeString names where they differ from tf.DType.name.
_TF_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "half"}


def NewCheckpointReader(filepattern: str | os.PathLike) -> CheckpointReader:  # noqa: N802 - TensorFlow's name
    """tf.train.NewCheckpointReader."""
    return CheckpointReader(filepattern)


def load_checkpoint(ckpt_dir_or_file: str | os.PathLike) -> CheckpointReader:
    """tf.train.load_checkpoint: a CheckpointReader for a directory, prefix or checkpoint file."""
    return CheckpointReader(ckpt_dir_or_file)


def list_variables(ckpt_dir_or_file: str | os.PathLike) -> list[tuple[str, list[int]]]:
    """tf.train.list_variables: sorted ``(name, shape)`` pairs."""
    with CheckpointReader(ckpt_dir_or_file) as reader:
        return sorted(reader.get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file: str | os.PathLike, name: str) -> np.ndarray:
    """tf.train.load_variable: one tensor as a writable array (a trailing ``:0`` is ignored)."""
    if name.endswith(":0"):
        name = name[:-2]
    with CheckpointReader(ckpt_dir_or_file) as reader:
        return reader.get_tensor(name, copy=True)

"""Finding checkpoints: the ``checkpoint`` state file and checkpoint existence (tf.train API).

Path rules, as TensorFlow applies them:

* writing (``update_checkpoint_state``): if ``save_dir`` is relative (also
  ``""``), relative paths are rewritten relative to it; if it is absolute,
  paths are stored as given; ``save_relative_paths`` first makes absolute
  paths relative to ``save_dir``. ``model_checkpoint_path`` is appended to
  the list unless it is already last.
* reading (``get_checkpoint_state``): relative paths are joined onto the
  directory the state file was read from.

Where TensorFlow would silently return None or a dead path, nanotf keeps the
return value in the normal cases but says what it sees, with a
``CheckpointStateWarning``:

* a recorded path that does not exist while a checkpoint of the same name
  lies beside the state file (the directory was moved or copied) is replaced
  by that one (``CheckpointRelocatedWarning``);
* a missing, unreadable or dangling state file while complete checkpoints
  exist in the directory is reported, naming the newest;
  ``latest_checkpoint(dir, scan=True)`` returns it (``formats/inventory.py``).
"""

from __future__ import annotations

import glob
import os
import warnings
from typing import Sequence

from ..errors import DataLossError, OpError
from ..formats import inventory
from ..formats import state as state_file
from ..formats import storage
from ..formats.bundle import index_filename
from ..formats.protoparse import parse_text_message, read_file
from ..protos import checkpoint_pb2

# A state file lists one line per checkpoint; anything this large is not one.
MAX_STATE_BYTES = 64 << 20


class CheckpointStateWarning(UserWarning):
    """The ``checkpoint`` state file is missing, unreadable or stale while checkpoints exist."""


class CheckpointRelocatedWarning(CheckpointStateWarning):
    """The state file names a path that is gone; the checkpoint of that name beside it is used."""


class _InvalidStateError(DataLossError, ValueError):
    """A state file without model_checkpoint_path: nanotf's DataLossError, and the ValueError TensorFlow raises."""


def _state_path(save_dir: str, latest_filename: str | None) -> str:
    return os.path.join(save_dir, latest_filename or state_file.STATE_FILENAME)


def generate_checkpoint_state_proto(save_dir: str, model_checkpoint_path: str,
                                    all_model_checkpoint_paths: Sequence[str] | None = None,
                                    all_model_checkpoint_timestamps: Sequence[float] | None = None,
                                    last_preserved_timestamp: float | None = None) -> checkpoint_pb2.CheckpointState:
    """Build the CheckpointState TensorFlow would write into ``save_dir``.

    Returns:
        The proto, with relative paths rewritten relative to a relative ``save_dir``.

    Raises:
        ValueError: if timestamps are given but not one per path.
    """
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    if all_model_checkpoint_timestamps and len(all_model_checkpoint_timestamps) != len(paths):
        raise ValueError(
            f"Checkpoint timestamps, if provided, must match checkpoint paths "
            f"({len(all_model_checkpoint_timestamps)} timestamps, {len(paths)} paths)"
        )
    if not os.path.isabs(save_dir):
        if not os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, save_dir)
        paths = [p if os.path.isabs(p) else os.path.relpath(p, save_dir) for p in paths]
    return checkpoint_pb2.CheckpointState(
        model_checkpoint_path=model_checkpoint_path,
        all_model_checkpoint_paths=paths,
        all_model_checkpoint_timestamps=all_model_checkpoint_timestamps,
        last_preserved_timestamp=last_preserved_timestamp,
    )


def update_checkpoint_state(save_dir: str, model_checkpoint_path: str,
                            all_model_checkpoint_paths: Sequence[str] | None = None,
                            latest_filename: str | None = None,
                            all_model_checkpoint_timestamps: Sequence[float] | None = None,
                            last_preserved_timestamp: float | None = None,
                            save_relative_paths: bool = False) -> None:
    """Write ``<save_dir>/<latest_filename>`` (default ``checkpoint``) atomically.

    Args:
        save_dir: directory of the state file.
        model_checkpoint_path: the newest checkpoint prefix.
        all_model_checkpoint_paths: all kept prefixes, oldest first.
        latest_filename: the state file's name.
        all_model_checkpoint_timestamps, last_preserved_timestamp: as in CheckpointState.
        save_relative_paths: store paths relative to ``save_dir`` even if absolute.

    Raises:
        RuntimeError: if the state file would overwrite the checkpoint itself.
    """
    paths = list(all_model_checkpoint_paths or [])
    if save_relative_paths:
        if os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, save_dir)
        paths = [os.path.relpath(p, save_dir) if os.path.isabs(p) else p for p in paths]
    proto = generate_checkpoint_state_proto(save_dir, model_checkpoint_path, paths,
                                            all_model_checkpoint_timestamps, last_preserved_timestamp)
    path = _state_path(save_dir, latest_filename)
    if path == proto.model_checkpoint_path:
        raise RuntimeError(
            f"Save path '{model_checkpoint_path}' conflicts with path used for checkpoint state. "
            "Please use a different save path."
        )
    state_file.write_atomic(path, state_file.format_state(proto))


def _exists(path: str) -> bool:
    # Plain existence checks (no glob) unless the path is a V1 shard pattern:
    # a hostile state file may list a million paths.
    if any(c in os.path.basename(path) for c in "*?["):
        return checkpoint_exists(path)
    if storage.is_remote(path):
        return storage.exists(index_filename(path)) or storage.exists(path)
    path = storage.local_path(path)
    return os.path.exists(index_filename(path)) or os.path.isfile(path)


def _relocate_paths(proto: checkpoint_pb2.CheckpointState, checkpoint_dir: str, state_path: str) -> None:
    """Point recorded paths that are gone at the same-named checkpoints beside the state file."""
    moved: dict[str, str] = {}

    def relocate(path: str) -> str:
        if _exists(path):
            return path
        local = os.path.join(checkpoint_dir, os.path.basename(path))
        if local == path or not _exists(local):
            return path
        moved[path] = local
        return local

    proto.model_checkpoint_path = relocate(proto.model_checkpoint_path)
    for i, path in enumerate(proto.all_model_checkpoint_paths):
        proto.all_model_checkpoint_paths[i] = relocate(path)
    if moved:
        listed = "; ".join(f"{old} -> {new}" for old, new in moved.items())
        warnings.warn(CheckpointRelocatedWarning(
            f"{state_path} names checkpoints that do not exist where it says; using the ones of the same name "
            f"beside it (was the directory moved or copied?): {listed}"), stacklevel=3)  # fmt: skip


def _read_state(path: str) -> checkpoint_pb2.CheckpointState | None:
    """The parsed state file, or None (with a warning) if it exists but cannot be read."""
    try:
        data = read_file(path, MAX_STATE_BYTES)
        return parse_text_message(checkpoint_pb2.CheckpointState(), data, f"checkpoint state file {path}")
    except OpError as exc:
        if not os.path.lexists(path):
            return None
        warnings.warn(CheckpointStateWarning(f"cannot read the checkpoint state: {exc}"), stacklevel=3)
        return None


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> checkpoint_pb2.CheckpointState | None:
    """Read the state file of ``checkpoint_dir``, relative paths joined onto the directory.

    Paths that do not exist but whose checkpoint lies beside the state file
    are replaced by that one, with a ``CheckpointRelocatedWarning``.

    Returns:
        The CheckpointState, or None if the file is missing or unreadable (the
        latter with a ``CheckpointStateWarning``).

    Raises:
        DataLossError: if the file parses but names no model_checkpoint_path
            (also a ``ValueError``, as TensorFlow raises).
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = _state_path(checkpoint_dir, latest_filename)
    proto = _read_state(path)
    if proto is None:
        return None
    if not proto.model_checkpoint_path:
        raise _InvalidStateError(f"Invalid checkpoint state loaded from {checkpoint_dir}: {path} names no "
                                 "model_checkpoint_path")
    if not os.path.isabs(proto.model_checkpoint_path):
        proto.model_checkpoint_path = os.path.join(checkpoint_dir, proto.model_checkpoint_path)
    for i, p in enumerate(proto.all_model_checkpoint_paths):
        if not os.path.isabs(p):
            proto.all_model_checkpoint_paths[i] = os.path.join(checkpoint_dir, p)
    _relocate_paths(proto, checkpoint_dir, path)
    return proto


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether a V2 (``<prefix>.index``) or V1 (``<prefix>``, a glob) checkpoint exists, locally or in a store."""
    remote, prefix = storage.resolve(checkpoint_prefix)
    if remote:
        return storage.exists(index_filename(prefix)) or bool(storage.glob(prefix))
    if "\0" in prefix:
        return False  # no file has such a name (a state file can say anything); glob would raise ValueError
    return bool(glob.glob(index_filename(prefix)) or glob.glob(prefix))


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None, scan: bool = False) -> str | None:
    """The newest checkpoint prefix of ``checkpoint_dir``.

    Args:
        checkpoint_dir: the directory.
        latest_filename: the state file's name (default ``checkpoint``).
        scan: ignore the state file and return the newest complete checkpoint
            in the directory (index and data files whole; see
            ``formats/inventory.py``): the way back after a crash, a lost
            state file or a copy that lost it.

    Returns:
        Without ``scan``, as TensorFlow: the path the state file records (joined
        onto ``checkpoint_dir`` if relative) if its files exist, else None; a
        ``CheckpointStateWarning`` then says which complete checkpoint the
        directory does hold. With ``scan``: that checkpoint, or None.
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    if scan:
        return inventory.newest_complete(checkpoint_dir)[0]
    proto = get_checkpoint_state(checkpoint_dir, latest_filename)
    if proto is not None and checkpoint_exists(proto.model_checkpoint_path):
        return proto.model_checkpoint_path
    candidates = inventory.find_checkpoints(checkpoint_dir)
    if candidates or proto is not None:
        warnings.warn(CheckpointStateWarning(_why_none(checkpoint_dir, latest_filename, proto, len(candidates))),
                      stacklevel=2)  # fmt: skip
    return None


def _why_none(checkpoint_dir: str, latest_filename: str | None, proto, count: int) -> str:
    state_path = _state_path(checkpoint_dir, latest_filename)
    problem = ("is missing or unreadable" if proto is None
               else f"names {proto.model_checkpoint_path}, whose files do not exist")  # fmt: skip
    newest, skipped = inventory.newest_complete(checkpoint_dir)
    if newest:
        found = f"the newest complete one is {newest}; latest_checkpoint({checkpoint_dir!r}, scan=True) returns it"
    else:
        found = "none of them is complete"
    if skipped:
        found += f" ({len(skipped)} newer incomplete, e.g. {skipped[0][1]})"
    return f"{state_path} {problem}; {checkpoint_dir or '.'} holds {count} checkpoint(s): {found}"

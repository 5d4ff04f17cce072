"""Finding checkpoints: the ``checkpoint`` state file and checkpoint existence (tf.train API).

Path rules, as TensorFlow applies them:

* writing (``update_checkpoint_state``): if ``save_dir`` is relative (also
  ``""``), relative paths are rewritten relative to it; if it is absolute,
  paths are stored as given; ``save_relative_paths`` first makes absolute
  paths relative to ``save_dir``. ``model_checkpoint_path`` is appended to
  the list unless it is already last.
* reading (``get_checkpoint_state``): relative paths are joined onto the
  directory the state file was read from.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Sequence

from google.protobuf import text_format

from ..formats import state as state_file
from ..formats.bundle import index_filename
from ..protos import checkpoint_pb2

_log = logging.getLogger(__name__)


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


def get_checkpoint_state(checkpoint_dir: str, latest_filename: str | None = None) -> checkpoint_pb2.CheckpointState | None:
    """Read the state file of ``checkpoint_dir``, relative paths joined onto the directory.

    Returns:
        The CheckpointState, or None if the file is missing or unparseable.

    Raises:
        ValueError: if the file parses but names no model_checkpoint_path.
    """
    path = _state_path(os.fspath(checkpoint_dir), latest_filename)
    try:
        with open(path, encoding="utf-8") as f:
            proto = state_file.parse_state(f.read())
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, text_format.ParseError) as exc:
        _log.warning("%s: cannot read checkpoint state: %s", path, exc)
        return None
    if not proto.model_checkpoint_path:
        raise ValueError(f"Invalid checkpoint state loaded from {checkpoint_dir}")
    if not os.path.isabs(proto.model_checkpoint_path):
        proto.model_checkpoint_path = os.path.join(checkpoint_dir, proto.model_checkpoint_path)
    for i, p in enumerate(proto.all_model_checkpoint_paths):
        if not os.path.isabs(p):
            proto.all_model_checkpoint_paths[i] = os.path.join(checkpoint_dir, p)
    return proto


def checkpoint_exists(checkpoint_prefix: str) -> bool:
    """Whether a V2 (``<prefix>.index``) or V1 (``<prefix>``, a glob) checkpoint exists."""
    prefix = os.fspath(checkpoint_prefix)
    return bool(glob.glob(index_filename(prefix)) or glob.glob(prefix))


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The newest checkpoint prefix recorded in ``checkpoint_dir``, if its files exist.

    Returns:
        The prefix (joined onto ``checkpoint_dir`` if stored relative), or None.
    """
    proto = get_checkpoint_state(checkpoint_dir, latest_filename)
    if proto is None or not proto.model_checkpoint_path:
        return None
    if checkpoint_exists(proto.model_checkpoint_path):
        return proto.model_checkpoint_path
    _log.error("Couldn't match files for checkpoint %s", proto.model_checkpoint_path)
    return None

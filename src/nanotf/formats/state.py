"""The ``checkpoint`` state file: a text-format CheckpointState beside the checkpoints.

TensorFlow writes it with ``text_format.MessageToString``, one line per value::

    model_checkpoint_path: "model.ckpt-1000"
    all_model_checkpoint_paths: "model.ckpt-900"
    all_model_checkpoint_paths: "model.ckpt-1000"

(``all_model_checkpoint_timestamps`` / ``last_preserved_timestamp`` lines only
when given; the Saver never writes them). The file is replaced atomically
(``atomic``: temp file, fsync, rename). Path rewriting rules live with the
user-facing functions in ``nanotf.train.checkpoint_management``.
"""

from __future__ import annotations

from google.protobuf import text_format

from ..protos import checkpoint_pb2
from .atomic import write_atomic_bytes

STATE_FILENAME = "checkpoint"


def format_state(state: checkpoint_pb2.CheckpointState) -> str:
    """The exact text TensorFlow writes for ``state``."""
    return text_format.MessageToString(state)


def parse_state(text: str) -> checkpoint_pb2.CheckpointState:
    """Parse a state file's text.

    Raises:
        google.protobuf.text_format.ParseError: for malformed text.
    """
    state = checkpoint_pb2.CheckpointState()
    text_format.Merge(text, state)
    return state


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temp file, fsync and rename.

    The directory is fsynced first: the checkpoints the state names are then
    on disk before the state that names them, even across a power cut.
    """
    write_atomic_bytes(path, text.encode("utf-8"), publish=True)

"""Parsing protobuf messages from checkpoint and graph files, with typed errors that say where.

* ``parse_message``: binary; on failure the wire format is walked
  (``protowire``) to name the byte offset and field that broke.
* ``parse_text_message``: text format; errors name line and column, bad
  UTF-8 its byte offset, nesting too deep for the parser says so.
* ``read_message_file``: a whole file, binary first then text (as
  TensorFlow reads ``.meta`` and graph files), refusing files larger than a
  protobuf message can be before reading them into memory.
"""

from __future__ import annotations

import os

from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message

from ..errors import DataLossError, NotFoundError
from . import storage
from .fileerrors import typed_os_error
from .protowire import locate_error

# protobuf cannot hold a serialized message of 2 GiB or more.
MAX_MESSAGE_BYTES = (1 << 31) - 1


def parse_message(message: Message, data, what: str) -> Message:
    """Parse binary ``data`` into ``message`` (in place) and return it.

    Args:
        message: an empty message of the expected type.
        data: its serialized bytes (any buffer).
        what: names the file and field, e.g. ``"model.index: entry for key 'w'"``.

    Raises:
        DataLossError: ``"<what> is not a valid <MessageName>: offset N (field f): why"``.
    """
    data = bytes(data)
    try:
        message.ParseFromString(data)
    # The C (upb) backend raises DecodeError; the pure-Python one also raises
    # RuntimeError (recursion) or ValueError (bad UTF-8, bad enum in a packed field).
    except (DecodeError, RuntimeError, ValueError):
        where = locate_error(data, message.DESCRIPTOR) or "protobuf rejects it (no offset known)"
        raise DataLossError(f"{what} is not a valid {message.DESCRIPTOR.name}: {where}") from None
    return message


def parse_text_message(message: Message, data, what: str) -> Message:
    """Parse text-format ``data`` (bytes or str) into ``message`` (in place) and return it.

    Raises:
        DataLossError: naming the line and column, or the offset of bad UTF-8.
    """
    if not isinstance(data, str):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataLossError(f"{what} is not valid UTF-8 text: bad byte at offset {exc.start}") from None
    try:
        text_format.Merge(data, message)
    except text_format.ParseError as exc:
        raise DataLossError(f"{what} is not a valid text {message.DESCRIPTOR.name}: {exc}") from None
    except RecursionError:
        # The text parser recurses once per nesting level.
        raise DataLossError(f"{what}: text {message.DESCRIPTOR.name} nested too deeply to parse") from None
    return message


def read_file(path: str, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The contents of ``path``, refused before reading if over ``limit`` bytes.

    Raises:
        NotFoundError: if there is no such file.
        DataLossError: if it is larger than ``limit``.
        OpError: another typed error for other OS refusals.
    """
    remote, path = storage.resolve(path)
    if remote:
        return storage.read_bytes(path, limit)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise DataLossError(f"{path}: {size} bytes is more than the {limit} a file of this kind can hold")
            return f.read()
    except FileNotFoundError:
        raise NotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise typed_os_error(exc, path, "reading") from None


def read_message_file(path: str, message_type: type[Message], allow_text: bool = True) -> Message:
    """Parse the file ``path`` as a binary ``message_type``, else (``allow_text``) as text.

    Returns:
        The message.

    Raises:
        NotFoundError: if the file is missing.
        DataLossError: if neither parse works; the message gives both reasons.
    """
    data = read_file(path)
    try:
        return parse_message(message_type(), data, path)
    except DataLossError as binary_error:
        if not allow_text:
            raise
        try:
            return parse_text_message(message_type(), data, path)
        except DataLossError as text_error:
            raise DataLossError(f"{path}: neither binary nor text {message_type.DESCRIPTOR.name}. "
                                f"As binary: {binary_error}. As text: {text_error}") from None  # fmt: skip

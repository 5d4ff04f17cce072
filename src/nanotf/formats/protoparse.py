"""Parsing protobuf messages read from checkpoint files."""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message

from ..errors import DataLossError


def parse_message(message: Message, data, what: str) -> Message:
    """Parse ``data`` into ``message`` (in place) and return it.

    Args:
        message: an empty message of the expected type.
        data: its serialized bytes (any buffer).
        what: names the file and field, e.g. ``"model.index: entry for key 'w'"``.

    Raises:
        DataLossError: ``"<what> is not a valid <MessageName>"`` if it does not parse.
    """
    try:
        message.ParseFromString(bytes(data))
    # The C (upb) backend raises DecodeError; the pure-Python one also raises
    # RuntimeError (recursion) or ValueError (bad UTF-8, bad enum in a packed field).
    except (DecodeError, RuntimeError, ValueError):
        raise DataLossError(f"{what} is not a valid {message.DESCRIPTOR.name}") from None
    return message

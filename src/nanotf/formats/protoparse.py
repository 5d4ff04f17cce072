"""Parsing protobuf messages read from checkpoint files."""

from __future__ import annotations

from google.protobuf.message import Message

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
    except Exception:  # protobuf raises DecodeError or RuntimeError, depending on the backend
        raise DataLossError(f"{what} is not a valid {message.DESCRIPTOR.name}") from None
    return message

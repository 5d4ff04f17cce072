"""Finding where a serialized protobuf message goes wrong.

protobuf's parser reports only that a message failed to parse. To name the
byte offset and the field, this module walks the wire format with the
message's descriptor; it runs only after a parse has failed.

Wire format: a message is a sequence of fields, each a varint key
``field_number << 3 | wire_type`` followed by::

    0 varint    1 fixed64    5 fixed32
    2 length-delimited: varint length, then that many bytes (a nested
      message, a string, bytes, or a packed repeated scalar)
    3 / 4 start / end of a group (deprecated; nested fields in between)

Checks: every key, length and value lies inside its parent; field numbers
are positive; nested messages are walked (at most ``MAX_DEPTH`` levels, the
limit protobuf itself applies); ``string`` fields are valid UTF-8 (nanotf's
schemas are all proto3, where protobuf requires it); packed fixed-width
fields hold whole elements.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from ..errors import DataLossError
from .varint import decode_varint

MAX_DEPTH = 100
_MAX_FIELD_NUMBER = (1 << 29) - 1
_VARINT, _FIXED64, _LENGTH, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5
_FIXED_WIDTH = {
    FieldDescriptor.TYPE_FIXED32: 4, FieldDescriptor.TYPE_SFIXED32: 4, FieldDescriptor.TYPE_FLOAT: 4,
    FieldDescriptor.TYPE_FIXED64: 8, FieldDescriptor.TYPE_SFIXED64: 8, FieldDescriptor.TYPE_DOUBLE: 8,
}  # fmt: skip
_VARINT_TYPES = {
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_ENUM,
}  # fmt: skip


# Field paths in messages keep this many innermost names (nesting can be 100 deep).
_PATH_NAMES = 6


class _Problem(Exception):
    """Internal: carries the first problem found out of the recursive walk."""


def _short(path: str) -> str:
    names = path.split(".")
    return path if len(names) <= _PATH_NAMES else "(...)." + ".".join(names[-_PATH_NAMES:])


def _field_name(descriptor: Descriptor | None, number: int) -> str:
    field = descriptor.fields_by_number.get(number) if descriptor is not None else None
    return field.name if field is not None else f"#{number}"


def _check_length_delimited(data, pos: int, end: int, field: FieldDescriptor | None, path: str, depth: int) -> None:
    if field is None:
        return
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _walk(data, pos, end, field.message_type, path, depth + 1, None)
    elif field.type == FieldDescriptor.TYPE_STRING:
        try:
            bytes(data[pos:end]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Problem(f"offset {pos + exc.start} (field {path}): invalid UTF-8 in a string field") from None
    elif field.type in _FIXED_WIDTH and (end - pos) % _FIXED_WIDTH[field.type]:
        raise _Problem(f"offset {pos} (field {path}): packed {end - pos} bytes are not whole "
                       f"{_FIXED_WIDTH[field.type]}-byte elements")  # fmt: skip
    elif field.type in _VARINT_TYPES:
        while pos < end:
            _, pos = _varint(data, pos, end, path)


def _varint(data, pos: int, end: int, path: str) -> tuple[int, int]:
    try:
        return decode_varint(data, pos, end, path)
    except DataLossError:
        raise _Problem(f"offset {pos} (field {path}): bad or truncated varint") from None


def _walk(data, pos: int, end: int, descriptor: Descriptor | None, path: str, depth: int,
          group: int | None) -> int:
    """Walk fields in ``data[pos:end]``; returns where an enclosing ``group`` ended."""
    if depth > MAX_DEPTH:
        raise _Problem(f"offset {pos} (field {path}): messages nested deeper than {MAX_DEPTH} levels")
    while pos < end:
        start = pos
        key, pos = _varint(data, pos, end, path or "<key>")
        number, wire_type = key >> 3, key & 7
        here = _short(f"{path}.{_field_name(descriptor, number)}" if path else _field_name(descriptor, number))
        if not 0 < number <= _MAX_FIELD_NUMBER:
            raise _Problem(f"offset {start}: invalid field number {number}")
        if wire_type == _VARINT:
            _, pos = _varint(data, pos, end, here)
        elif wire_type in (_FIXED64, _FIXED32):
            pos += 8 if wire_type == _FIXED64 else 4
        elif wire_type == _LENGTH:
            length, pos = _varint(data, pos, end, here)
            if length > end - pos:
                raise _Problem(f"offset {start} (field {here}): length {length} runs past the end at {end}")
            field = descriptor.fields_by_number.get(number) if descriptor is not None else None
            _check_length_delimited(data, pos, pos + length, field, here, depth)
            pos += length
        elif wire_type == _START_GROUP:
            pos = _walk(data, pos, end, None, here, depth + 1, number)
        elif wire_type == _END_GROUP:
            if group != number:
                raise _Problem(f"offset {start} (field {here}): end of a group that was not started")
            return pos
        else:
            raise _Problem(f"offset {start} (field {here}): invalid wire type {wire_type}")
        if pos > end:
            raise _Problem(f"offset {start} (field {here}): value runs past the end at {end}")
    if group is not None:
        raise _Problem(f"offset {end} (field {path}): group never ends")
    return pos


def locate_error(data, descriptor: Descriptor) -> str | None:
    """Where ``data`` stops being a valid serialized ``descriptor`` message.

    Returns:
        ``"offset N (field a.b.c): what is wrong"``, or None if the walk finds
        nothing (protobuf may check more than this module does).
    """
    try:
        _walk(memoryview(data), 0, len(data), descriptor, "", 0, None)
    except _Problem as problem:
        return str(problem)
    return None

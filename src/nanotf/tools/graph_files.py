"""Reading graphs from files as protos, never importing them.

Accepts a ``.meta`` file (binary or text MetaGraphDef), a GraphDef (``.pb``
binary, ``.pbtxt`` text), or a checkpoint directory / prefix whose ``.meta``
is then read. Op types nanotf does not implement are no obstacle: nothing is
looked up in the op registry here.
"""

from __future__ import annotations

import os

from google.protobuf import text_format

from ..errors import DataLossError
from ..formats.protoparse import parse_message
from ..protos import graph_pb2, meta_graph_pb2
from .common import checkpoint_prefix, read_file

META_SUFFIX = ".meta"
PLACEHOLDER_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})
VARIABLE_OPS = frozenset({"Variable", "VariableV2", "VarHandleOp"})
TEXT_SUFFIXES = (".pbtxt", ".txt")
GRAPH_DEF_SUFFIXES = (".pb", ".graphdef")


def graph_path(path: str | os.PathLike) -> str:
    """The graph file meant by ``path``: itself, or the ``.meta`` of the checkpoint it names."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if os.path.isfile(path + META_SUFFIX):
        return path + META_SUFFIX
    return checkpoint_prefix(path) + META_SUFFIX  # a directory: its latest checkpoint


def _parse_text(data: bytes, path: str):
    errors = []
    for message in (meta_graph_pb2.MetaGraphDef(), graph_pb2.GraphDef()):
        try:
            return text_format.Parse(data.decode("utf-8"), message)
        except (text_format.ParseError, UnicodeDecodeError) as err:
            errors.append(f"as {message.DESCRIPTOR.name}: {err}")
    raise DataLossError(f"{path}: not a text MetaGraphDef or GraphDef ({'; '.join(errors)})")


def load_graph(path: str | os.PathLike) -> tuple[meta_graph_pb2.MetaGraphDef | None, graph_pb2.GraphDef]:
    """Parse a graph file.

    Returns:
        ``(meta_graph_def, graph_def)``; the first is None for a bare GraphDef.

    Raises:
        NotFoundError: if there is no such file or checkpoint.
        DataLossError: if the file parses as neither message.
    """
    path = graph_path(path)
    data = read_file(path, "reading")
    lower = path.lower()
    if lower.endswith(TEXT_SUFFIXES):
        message = _parse_text(data, path)
    elif lower.endswith(GRAPH_DEF_SUFFIXES):
        message = parse_message(graph_pb2.GraphDef(), data, path)
    else:
        try:
            message = parse_message(meta_graph_pb2.MetaGraphDef(), data, path)
        except DataLossError:
            message = _parse_text(data, path)  # TF's import_meta_graph also accepts text .meta files
    if isinstance(message, meta_graph_pb2.MetaGraphDef):
        return message, message.graph_def
    return None, message


def node_name(text: str) -> str:
    """The op name in an input string: ``^a`` / ``a:1`` / ``a`` -> ``a``."""
    name = text.removeprefix("^")
    base, sep, index = name.rpartition(":")
    return base if sep and index.isdigit() else name

"""MetaGraphDef export and import: the ``.meta`` file, byte for byte as TensorFlow writes it.

Export (``export_meta_graph``)::

    meta_info_def  stripped_op_list (registered OpDefs of the ops used, sorted by name),
                   tensorflow_version, tensorflow_git_version
    graph_def      the graph with ``_output_shapes`` on every node with outputs
    saver_def      if given
    collection_def per non-empty collection: VariableDefs (bytes_list) for the variable
                   collections, node_list for ops/tensors, bytes/int64/float lists for values

serialized deterministically (map entries sorted by key). Import
(``import_scoped_meta_graph``) reads binary or text, imports the graph and
rebuilds the collections, trainable_variables first. Op types nanotf does not
register import as ops without a kernel (see framework/importer.py); their
OpDefs, carried from the imported ``stripped_op_list``, are listed again on
export. ``unsupported_ops`` answers, for a graph or a graph file, which nodes
nanotf cannot run.
"""

from __future__ import annotations

import logging
import os

from google.protobuf import text_format

from nanotf import errors
from nanotf.formats import protoparse
from nanotf.formats import storage
from nanotf.formats.atomic import write_atomic_bytes
from nanotf.framework import graph as graph_lib
from nanotf.framework import op_support
from nanotf.framework import registry
from nanotf.framework.graph import GraphKeys
from nanotf.framework.importer import import_graph_def
from nanotf.ops.control_flow_proto import CONTEXT_PROTO_FUNCTIONS
from nanotf.protos import graph_pb2
from nanotf.protos import meta_graph_pb2
from nanotf.train import variables as variables_lib

__all__ = ["export_meta_graph", "create_meta_graph_def", "read_meta_graph_file", "import_scoped_meta_graph",
           "write_graph", "stripped_op_list_for_graph", "register_proto_function", "read_graph_file",
           "unsupported_ops",
           "TENSORFLOW_VERSION", "TENSORFLOW_GIT_VERSION"]  # fmt: skip

_log = logging.getLogger("nanotf")

TENSORFLOW_VERSION = "2.21.0"
TENSORFLOW_GIT_VERSION = "v2.21.0-rc1-5-ga481b10260d"  # as TF 2.21.0 records it (see tests/fixtures)

_VARIABLE_COLLECTIONS = (
    GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES, GraphKeys.MODEL_VARIABLES,
    GraphKeys.TRAINABLE_VARIABLES, GraphKeys.MOVING_AVERAGE_VARIABLES, GraphKeys.CONCATENATED_VARIABLES,
    GraphKeys.TRAINABLE_RESOURCE_VARIABLES,
)  # fmt: skip

# collection key -> (proto type, to_proto(x, export_scope), from_proto(proto, import_scope))
_PROTO_FUNCTIONS: dict = {}


def register_proto_function(key, proto_type, to_proto, from_proto) -> None:
    """How items of collection ``key`` become protos in a meta graph and back (TF's ``register_proto_function``)."""
    _PROTO_FUNCTIONS[key] = (proto_type, to_proto, from_proto)


for _key in (*_VARIABLE_COLLECTIONS, GraphKeys.GLOBAL_STEP):
    register_proto_function(_key, meta_graph_pb2.VariableDef, lambda v, export_scope=None: v.to_proto(export_scope),
                            variables_lib.Variable.from_proto)  # fmt: skip
for _key, _functions in CONTEXT_PROTO_FUNCTIONS.items():
    register_proto_function(_key, *_functions)  # cond_context, while_context


# -- helpers ------------------------------------------------------------------------
def _strip_scope(name: str, scope: str | None) -> str:
    if not scope:
        return name
    scope = scope.rstrip("/") + "/"
    marker = "^" if name.startswith("^") else ""
    bare = name.lstrip("^")
    if bare.startswith(scope):
        bare = bare[len(scope):]
    elif bare.startswith("loc:@" + scope):
        bare = "loc:@" + bare[5 + len(scope):]
    return marker + bare


def _prepend_scope(name: str, scope: str | None) -> str:
    if not scope:
        return name
    marker = "^" if name.startswith("^") else ""
    return f"{marker}{scope.rstrip('/')}/{name.lstrip('^')}"


def _in_scope(name: str, scope: str | None, exclude=None) -> bool:
    name = name.lstrip("^")
    if exclude and name.split(":")[0] in exclude:
        return False
    return not scope or name.startswith(scope.rstrip("/") + "/")


def stripped_op_list_for_graph(graph_def, graph=None) -> graph_pb2.OpList:
    """The OpDefs of every op type ``graph_def`` uses, sorted by name.

    A type nanotf does not register is listed if ``graph`` carried its OpDef
    over from an imported meta graph, and left out otherwise.
    """
    used = {node.op for node in graph_def.node}
    for func in graph_def.library.function:
        used.update(node.op for node in func.node_def)
    ops = [op_support.op_def_of(t, graph) for t in sorted(used)]
    return graph_pb2.OpList(op=[op_def for op_def in ops if op_def is not None])


def _is_default_attr(op_def, name: str, value) -> bool:
    for attr in op_def.attr:
        if attr.name == name:
            return attr.HasField("default_value") and attr.default_value.SerializeToString(
                deterministic=True) == value.SerializeToString(deterministic=True)  # fmt: skip
    return False


def _strip_default_attrs(graph_def) -> None:
    for node in graph_def.node:
        reg = registry.lookup(node.op)
        if reg is None:
            continue
        for name in [k for k, v in node.attr.items() if _is_default_attr(reg.op_def, k, v)]:
            del node.attr[name]


def _scoped_graph_def(graph_def, export_scope, exclude, clear_devices) -> graph_pb2.GraphDef:
    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    for node in graph_def.node:
        if not _in_scope(node.name, export_scope, exclude):
            continue
        new = out.node.add()
        new.CopyFrom(node)
        new.name = _strip_scope(node.name, export_scope)
        del new.input[:]
        new.input.extend(_strip_scope(i, export_scope) for i in node.input)
        if "_class" in node.attr:
            groups = [_strip_scope(s.decode(), export_scope).encode() for s in node.attr["_class"].list.s]
            del new.attr["_class"].list.s[:]
            new.attr["_class"].list.s.extend(groups)
        if clear_devices:
            new.device = ""
    return out


def _extraneous_saver_nodes(graph_def, saver_def) -> set:
    """Nodes of every ``save*/`` scope except the one ``saver_def`` uses."""
    keep = saver_def.filename_tensor_name.split("/")[0] if saver_def else None
    return {n.name for n in graph_def.node
            if n.name.split("/")[0].startswith("save") and "/" in n.name and n.name.split("/")[0] != keep}  # fmt: skip


def _kind(item) -> str:
    if isinstance(item, (str, bytes)):
        return "bytes_list"
    if isinstance(item, bool) or isinstance(item, int):
        return "int64_list"
    if isinstance(item, float):
        return "float_list"
    return "node_list"


def add_collection_def(meta_graph_def, key, graph, export_scope=None, exclude=None, override=None) -> None:
    """Adds collection ``key`` of ``graph`` (if non-empty) to ``meta_graph_def.collection_def``."""
    if not isinstance(key, (str, bytes)):
        _log.warning("Only collections with string type keys will be serialized. This key has %s", type(key))
        return
    items = override if override is not None else graph.get_collection(key)
    items = [x for x in items if not hasattr(x, "name") or _in_scope(x.name, export_scope, exclude)]
    if not items:
        return
    col = meta_graph_def.collection_def[key]
    try:
        if key in _PROTO_FUNCTIONS:
            for x in items:
                proto = _PROTO_FUNCTIONS[key][1](x, export_scope=export_scope)
                if proto:
                    col.bytes_list.value.append(proto.SerializeToString(deterministic=True))
            return
        kind = _kind(items[0])
        if kind == "node_list":
            col.node_list.value.extend(_strip_scope(x.name, export_scope) for x in items)
        elif kind == "bytes_list":
            col.bytes_list.value.extend(x.encode() if isinstance(x, str) else bytes(x) for x in items)
        else:
            getattr(col, kind).value.extend(items)
    except (TypeError, ValueError, AttributeError) as err:
        _log.warning("Issue encountered when serializing: %s.\n%s", key, err)
        del meta_graph_def.collection_def[key]


def create_meta_graph_def(meta_info_def=None, graph_def=None, saver_def=None, collection_list=None, graph=None,
                          export_scope=None, exclude_nodes=None, clear_extraneous_savers=False,
                          strip_default_attrs=False) -> meta_graph_pb2.MetaGraphDef:  # fmt: skip
    """The MetaGraphDef of ``graph`` (default graph) as TensorFlow assembles it."""
    graph = graph or graph_lib.get_default_graph()
    mgd = meta_graph_pb2.MetaGraphDef()
    info = meta_graph_pb2.MetaGraphDef.MetaInfoDef()
    if meta_info_def:
        info.CopyFrom(meta_info_def)
    info.tensorflow_version = TENSORFLOW_VERSION
    info.tensorflow_git_version = TENSORFLOW_GIT_VERSION
    mgd.meta_info_def.MergeFrom(info)
    mgd.graph_def.MergeFrom(graph_def if graph_def else graph.as_graph_def(add_shapes=True))
    if not mgd.meta_info_def.stripped_op_list.op:
        mgd.meta_info_def.stripped_op_list.MergeFrom(stripped_op_list_for_graph(mgd.graph_def, graph))
    if strip_default_attrs:
        _strip_default_attrs(mgd.graph_def)
        mgd.meta_info_def.stripped_default_attrs = True
    if saver_def:
        mgd.saver_def.MergeFrom(saver_def)
    # Like TF's get_all_collection_keys, only string keys (variable-scope stores use tuple keys).
    keys = collection_list if collection_list is not None else [
        k for k in graph.get_all_collection_keys() if isinstance(k, str)]  # fmt: skip
    for key in keys:
        override = None
        if clear_extraneous_savers and key == GraphKeys.SAVERS and key in _PROTO_FUNCTIONS:
            override = [_PROTO_FUNCTIONS[key][2](saver_def)]
        add_collection_def(mgd, key, graph, export_scope, exclude_nodes, override)
    return mgd


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None, collection_list=None,
                      as_text=False, graph=None, export_scope=None, clear_devices=False,
                      clear_extraneous_savers=False, strip_default_attrs=False, **kwargs) -> meta_graph_pb2.MetaGraphDef:  # fmt: skip
    """Builds the MetaGraphDef of ``graph`` and writes it to ``filename`` if given.

    Args:
        filename: where to write (binary, deterministic; text with ``as_text``).
        meta_info_def, graph_def, saver_def, collection_list: parts to use
            instead of the graph's own.
        graph: the graph (default graph).
        export_scope: keep only nodes under this scope, names made relative.
        clear_devices: drop device fields.
        clear_extraneous_savers: drop other Savers' ``save*/`` nodes.
        strip_default_attrs: drop attrs equal to their OpDef default.

    Returns:
        The MetaGraphDef.
    """
    del kwargs
    graph = graph or graph_lib.get_default_graph()
    exclude = None
    if export_scope or clear_extraneous_savers or clear_devices:
        source = graph_def if graph_def else graph.as_graph_def(add_shapes=True)
        if clear_extraneous_savers:
            exclude = _extraneous_saver_nodes(source, saver_def)
        graph_def = _scoped_graph_def(source, export_scope, exclude, clear_devices)
    mgd = create_meta_graph_def(meta_info_def, graph_def, saver_def, collection_list, graph, export_scope, exclude,
                                clear_extraneous_savers, strip_default_attrs)  # fmt: skip
    if filename:
        write_graph(mgd, os.path.dirname(filename), os.path.basename(filename), as_text=as_text)
    return mgd


def write_graph(graph_or_graph_def, logdir, name, as_text=True) -> str:
    """Writes a Graph/GraphDef/MetaGraphDef to ``logdir/name`` atomically; returns the path.

    Text is ``text_format`` (map entries sorted, as TF writes it); binary is
    the deterministic serialization.
    """
    proto = graph_or_graph_def.as_graph_def() if isinstance(graph_or_graph_def, graph_lib.Graph) else graph_or_graph_def
    logdir = os.fspath(logdir)
    storage.makedirs(logdir)  # nothing to create in an object store (``logdir`` may be a URL)
    path = os.path.join(logdir, name)
    if as_text:
        data = text_format.MessageToString(proto).encode("utf-8")
    else:
        data = proto.SerializeToString(deterministic=True)
    write_atomic_bytes(path, data)
    return path



# -- import -------------------------------------------------------------------------
class _MetaGraphNotFoundError(errors.NotFoundError, FileNotFoundError):
    """A missing ``.meta`` file: nanotf's NotFoundError, and the OSError TensorFlow raises."""


class _MetaGraphDataLossError(errors.DataLossError, OSError):
    """An unparseable ``.meta`` file: nanotf's DataLossError, and the OSError TensorFlow raises."""


def read_meta_graph_file(filename) -> meta_graph_pb2.MetaGraphDef:
    """Parses a ``.meta`` file: binary first, then text.

    Raises:
        NotFoundError: "File does not exist" (also an ``OSError``, as in TensorFlow).
        DataLossError: "Cannot parse file", naming the byte offset and field
            (binary) or line and column (text) that broke (also an ``OSError``).
    """
    filename = os.fspath(filename)
    try:
        return protoparse.read_message_file(filename, meta_graph_pb2.MetaGraphDef)
    except errors.NotFoundError:
        raise _MetaGraphNotFoundError(f"File does not exist. Received: {filename}.") from None
    except errors.DataLossError as err:
        raise _MetaGraphDataLossError(f"Cannot parse file {filename}: {err}") from None


def import_scoped_meta_graph(meta_graph_or_file, clear_devices=False, graph=None, import_scope=None,
                             input_map=None, unbound_inputs_col_name="unbound_inputs",
                             restore_collections_predicate=lambda key: True,
                             allow_unregistered=True) -> dict:  # fmt: skip
    """Imports the graph and collections of a MetaGraphDef; returns {name relative to scope: Variable}.

    ``allow_unregistered`` is ``import_graph_def``'s: by default nodes of op
    types nanotf does not implement are imported with one
    ``UnregisteredOpWarning``; False raises ``UnregisteredOpError`` instead.
    """
    mgd = meta_graph_or_file
    if not isinstance(mgd, meta_graph_pb2.MetaGraphDef):
        mgd = read_meta_graph_file(mgd)
    graph = graph or graph_lib.get_default_graph()
    with graph.as_default():
        graph_def = mgd.graph_def
        if clear_devices:
            graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
            for node in graph_def.node:
                node.device = ""
        scope = graph.unique_name(import_scope or "", mark_as_used=False)
        import_graph_def(graph_def, name=import_scope or scope, input_map=input_map,
                         producer_op_list=mgd.meta_info_def.stripped_op_list,
                         allow_unregistered=allow_unregistered)  # fmt: skip
        ordered = sorted(mgd.collection_def.items(), key=lambda kv: kv[0] != GraphKeys.TRAINABLE_VARIABLES)
        variables: dict = {}
        for key, col in ordered:
            if key == unbound_inputs_col_name or not restore_collections_predicate(key):
                continue
            _restore_collection(graph, key, col, scope, variables)
        var_list = {}
        for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES, scope=scope or None):
            var_list[_strip_scope(v.name, scope)] = v
    return var_list


def _restore_collection(graph, key, col, scope, variables: dict) -> None:
    kind = col.WhichOneof("kind")
    if kind is None:
        _log.error("Cannot identify data type for collection %s. Skipping.", key)
        return
    values = getattr(col, kind).value
    if key in _PROTO_FUNCTIONS and kind == "bytes_list":
        proto_type, _, from_proto = _PROTO_FUNCTIONS[key]
        for value in values:
            item = variables.get(value) if key in _VARIABLE_COLLECTIONS else None
            if item is None:
                proto = protoparse.parse_message(proto_type(), value, f"collection '{key}' of the meta graph")
                item = from_proto(proto, import_scope=scope or None)
                if key in _VARIABLE_COLLECTIONS:
                    variables[value] = item
            graph.add_to_collection(key, item)
    elif kind == "node_list":
        for value in values:
            graph.add_to_collection(key, graph.as_graph_element(_prepend_scope(value, scope)))
    elif kind == "int64_list":
        for value in values:
            graph.add_to_collection(key, int(value))
    elif kind == "bytes_list":
        for value in values:
            graph.add_to_collection(key, _prepend_scope(value, scope) if scope else value)
    else:
        for value in values:
            graph.add_to_collection(key, value)


def read_graph_file(path):
    """Parses a graph file: a ``.meta`` file as a MetaGraphDef, any other (``.pb``, ``.pbtxt``) as a GraphDef.

    Binary and text are both read (a ``.pbtxt`` is tried as text first); a
    text file that is no GraphDef may hold a MetaGraphDef.

    Returns:
        The ``GraphDef`` or ``MetaGraphDef``.

    Raises:
        NotFoundError: if there is no file at ``path``.
        DataLossError: if no parse works; the message gives every reason.
    """
    path = os.fspath(path)
    data = protoparse.read_file(path)
    binary, text = protoparse.parse_message, protoparse.parse_text_message
    if path.endswith(".meta"):
        attempts = [(binary, meta_graph_pb2.MetaGraphDef), (text, meta_graph_pb2.MetaGraphDef)]
    else:
        attempts = [(binary, graph_pb2.GraphDef), (text, graph_pb2.GraphDef), (text, meta_graph_pb2.MetaGraphDef)]
        if path.endswith(".pbtxt"):
            attempts.append(attempts.pop(0))  # named as text: binary is the last resort
    reasons = []
    for parse, message_type in attempts:
        try:
            return parse(message_type(), data, path)
        except errors.DataLossError as err:
            reasons.append(str(err))
    raise errors.DataLossError(f"{path} is not a graph file. " + " ".join(f"{r}." for r in reasons))


def unsupported_ops(graph_or_path) -> dict:
    """The nodes nanotf cannot run, by op type: {op type: [node names]}, types sorted.

    Args:
        graph_or_path: a ``Graph``, ``GraphDef`` or ``MetaGraphDef``, or the
            path of a ``.meta``, ``.pb`` or ``.pbtxt`` file (see
            ``read_graph_file``).

    Raises:
        NotFoundError / DataLossError: for a missing or unreadable file.
        TypeError: for any other argument.
    """
    if isinstance(graph_or_path, (str, os.PathLike)):
        graph_or_path = read_graph_file(graph_or_path)
    return op_support.unsupported_ops(graph_or_path)

"""``import_graph_def``: GraphDef -> ops in a ``Graph``.

Nodes are created in dependency order (GraphDefs need not be sorted), names
get the import prefix (``import/``, ``import_1/``, or ``name/``), ``_class``
colocation attrs are rewritten to the prefixed names, and attrs missing from a
node get their OpDef defaults. ``_output_shapes`` refine the imported tensors'
static shapes and, as in TF, are not kept on the ops (``as_graph_def()`` after
an import has none; ``add_shapes=True`` recomputes them).

Op types nanotf does not implement are found before anything is created. By
default their nodes are imported anyway, with one ``UnregisteredOpWarning``
naming them all, so the rest of the graph runs (``Session.run`` refuses, up
front, a fetch that needs them; see op_support.py). A node whose type is not
registered keeps its attrs exactly as written, so exporting the graph gives
its NodeDef back. Its outputs are typed by, in order:

1. the OpDef of its type in ``producer_op_list`` (a meta graph's
   ``stripped_op_list``), which the graph also keeps for re-export;
2. else, per output: the input type a registered consumer declares for it,
   then a ``list(type)`` attr (``output_types``, ``Tout``), then a type attr
   (``out_type``, ``dtype``, ``Tout``, ``T``); else dtype None (unknown).
   There are as many outputs as ``_output_shapes`` lists, or as the highest
   ``name:k`` a node consumes, or the list attr holds; one if none of those
   tells but a type attr exists (almost every typed op has an output).
"""

from __future__ import annotations

import warnings

from nanotf import errors
from nanotf.errors import UnregisteredOpError
from nanotf.framework import dtypes
from nanotf.framework import op_support
from nanotf.framework import registry
from nanotf.framework import tensor_shape
from nanotf.framework.attr_value import to_attr_value
from nanotf.framework.graph import Operation
from nanotf.framework.graph import Tensor
from nanotf.framework.graph import get_default_graph
from nanotf.protos import graph_pb2

__all__ = ["import_graph_def", "UnregisteredOpError"]

# Attrs that by TensorFlow's naming conventions give an op's output types, most specific first.
_OUTPUT_TYPE_LIST_ATTRS = ("output_types", "Tout")
_OUTPUT_TYPE_ATTRS = ("out_type", "dtype", "Tout", "T")


def _parse_input(text: str):
    if text.startswith("^"):
        return text[1:], -1
    name, sep, index = text.rpartition(":")
    if sep and index.isdigit():
        return name, int(index)
    return text, 0


def _topological_nodes(nodes: dict) -> list:
    """Nodes ordered so every node follows its (data and control) inputs; file order otherwise."""
    order, seen = [], set()
    for root in nodes:
        stack = [(root, iter(nodes[root].input))] if root not in seen else []
        seen.add(root)
        while stack:
            name, deps = stack[-1]
            for text in deps:
                dep, _ = _parse_input(text)
                if dep in nodes and dep not in seen and not _is_back_edge(nodes[name], nodes[dep]):
                    seen.add(dep)
                    stack.append((dep, iter(nodes[dep].input)))
                    break
            else:
                stack.pop()
                order.append(nodes[name])
    return order


# A while loop's Merge takes its NextIteration as input: the one kind of cycle a GraphDef may have.
_MERGE_TYPES = ("Merge", "RefMerge")
_NEXT_ITERATION_TYPES = ("NextIteration", "RefNextIteration")


def _is_back_edge(node, dep) -> bool:
    return node.op in _MERGE_TYPES and dep.op in _NEXT_ITERATION_TYPES


def _without_back_edges(node, nodes):
    """``node``, with each loop back edge replaced by a forward input of the same Merge (connected later).

    Returns:
        The node to create and [(input index, original input)] to reconnect once every node exists.
    """
    if node.op not in _MERGE_TYPES:
        return node, []
    back = [i for i, text in enumerate(node.input)
            if not text.startswith("^") and _parse_input(text)[0] in nodes
            and _is_back_edge(node, nodes[_parse_input(text)[0]])]  # fmt: skip
    forward = [text for i, text in enumerate(node.input) if i not in back and not text.startswith("^")]
    if not back or not forward:
        return node, []
    stand_in = graph_pb2.NodeDef()
    stand_in.CopyFrom(node)
    for i in back:
        stand_in.input[i] = forward[0]
    return stand_in, [(i, node.input[i]) for i in back]


def _connect_back_edge(graph, op, index: int, created, text: str) -> None:
    src, k = _parse_input(text)
    tensor = created[src].outputs[k]
    old = op._inputs[index]
    op._inputs[index] = tensor
    old.op._consumers.remove(op)
    tensor.op._consumers.append(op)
    graph._version += 1


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None, allow_unregistered=True):  # fmt: skip
    """Imports ``graph_def`` into the default graph.

    Args:
        graph_def: a ``GraphDef`` (nanotf's proto, or any message with the
            same wire format, e.g. TensorFlow's).
        input_map: {"name:k" or "^name": Tensor/Operation} replacing inputs.
        return_elements: names ("op" or "op:k") to return from the import.
        name: prefix (default "import", made unique; '' for none).
        op_dict: accepted for compatibility, unused.
        producer_op_list: an ``OpList`` (a meta graph's ``stripped_op_list``)
            supplying the OpDefs of op types nanotf does not register.
        allow_unregistered: import nodes of op types nanotf does not implement,
            warning once; False refuses the whole import instead.

    Returns:
        The requested elements (a list), or None without ``return_elements``.

    Raises:
        UnregisteredOpError: with ``allow_unregistered=False``, naming every op
            type nanotf does not implement at once; nothing is imported.
        ValueError: for bad input_map keys, missing inputs or name clashes.

    Warns:
        UnregisteredOpWarning: once per import that has such op types, naming
            each with its count and imported node names (prefix included).
    """
    del op_dict
    if not isinstance(graph_def, graph_pb2.GraphDef):
        graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
    unsupported = op_support.unsupported_ops(graph_def)
    if unsupported and not allow_unregistered:
        raise UnregisteredOpError(
            f"GraphDef uses {len(unsupported)} op type(s) nanotf does not implement: "
            f"{op_support.describe_nodes(unsupported)}. They may come from a newer TensorFlow or a custom op "
            "library. Import with allow_unregistered=True to run the parts of the graph that do not need them.",
            unsupported,
        )  # fmt: skip
    graph = get_default_graph()
    input_map = {_normalize_key(k): v for k, v in (input_map or {}).items()}
    nodes = {n.name: n for n in graph_def.node}
    if len(nodes) != len(graph_def.node):
        raise ValueError("GraphDef has duplicate node names")
    with graph.name_scope("import" if name is None else name) as prefix:
        pass
    unregistered = _Unregistered(nodes, producer_op_list)
    created: dict[str, Operation] = {}
    used_keys = set()
    saved = graph._colocation_stack, graph._attr_scope, graph._device_stack
    graph._colocation_stack, graph._attr_scope, graph._device_stack = [], {}, []
    try:
        with graph.control_dependencies(None):
            back_edges = []
            for node in _topological_nodes(nodes):
                node, deferred = _without_back_edges(node, nodes)
                created[node.name] = _import_node(graph, node, prefix, created, nodes, input_map, used_keys,
                                                  unregistered)  # fmt: skip
                back_edges += [(created[node.name], i, text) for i, text in deferred]
            for op, i, text in back_edges:
                _connect_back_edge(graph, op, i, created, text)
    finally:
        graph._colocation_stack, graph._attr_scope, graph._device_stack = saved
    missing = set(input_map) - used_keys
    if missing:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{', '.join(sorted(missing))}]")
    graph._unregistered_op_defs.update(unregistered.op_defs)
    if unsupported:
        imported = {t: [prefix + n for n in names] for t, names in unsupported.items()}
        warnings.warn(errors.UnregisteredOpWarning(
            f"GraphDef uses {len(imported)} op type(s) nanotf does not implement: "
            f"{op_support.describe_nodes(imported)}. The graph was imported, but these nodes cannot run in "
            "nanotf: Session.run refuses any fetch that needs them, before running anything, and runs the "
            "rest of the graph normally. They may come from a newer TensorFlow or a custom op library.",
            imported), stacklevel=2)  # fmt: skip
    if return_elements is None:
        return None
    return [_return_element(graph, prefix, e) for e in return_elements]


def _normalize_key(key: str) -> str:
    if key.startswith("^"):
        return key
    name, index = _parse_input(key)
    return f"{name}:{index}"


def _import_node(graph, node, prefix, created, nodes, input_map, used_keys, unregistered) -> Operation:
    inputs, controls = [], []
    for text in node.input:
        src, index = _parse_input(text)
        key = "^" + src if index < 0 else f"{src}:{index}"
        if key in input_map:
            used_keys.add(key)
            mapped = input_map[key]
            (controls if index < 0 else inputs).append(mapped.op if index < 0 and isinstance(mapped, Tensor) else mapped)
            continue
        if src not in created:
            raise ValueError(f"Node '{node.name}': Unknown input node '{text}'")
        op = created[src]
        if index < 0:
            controls.append(op)
        elif index >= len(op.outputs):
            raise ValueError(f"Node '{node.name}': input '{text}' refers to a missing output of '{src}'")
        else:
            inputs.append(op.outputs[index])
    attrs = {}
    for key, value in node.attr.items():
        if key == "_class":
            value = _prefixed_class(value, prefix, nodes)
        attrs[key] = value
    output_shapes = attrs.pop("_output_shapes") if _is_shape_list(attrs.get("_output_shapes")) else None
    full_name = prefix + node.name
    if full_name in graph._by_name:
        raise ValueError(f"Duplicate node name in graph: '{full_name}'")
    if registry.lookup(node.op) is not None:
        op = graph._create_op(node.op, inputs, attrs, full_name + "/", control_inputs=controls, device=node.device)
    else:
        # No OpDef to complete attrs from or to colocate by: the node is kept as written.
        out_dtypes = unregistered.output_dtypes(node)
        op = graph._add_op(Operation(graph, full_name, node.op, inputs, attrs, [], node.device, None, out_dtypes),
                           controls)  # fmt: skip
    if output_shapes is not None:
        for t, shape in zip(op.outputs, output_shapes.list.shape):
            try:
                t.set_shape(tensor_shape.TensorShape(shape))
            except ValueError:
                pass  # TF raises; our shape inference may be the one at fault, so keep ours
    return op


def _is_shape_list(value) -> bool:
    """Whether ``value`` is a ``list(shape)`` AttrValue: TF's importer reads such ``_output_shapes``
    into the tensors' static shapes and drops the attr; any other value stays an ordinary attr."""
    if value is None or value.WhichOneof("value") != "list":
        return False
    other = ("s", "i", "f", "b", "type", "tensor", "func")
    return not any(len(getattr(value.list, field)) for field in other)


def _prefixed_class(value, prefix, nodes):
    if not prefix:
        return value
    groups = []
    for s in value.list.s:
        text = s.decode()
        if text.startswith("loc:@") and text[5:] in nodes:
            text = "loc:@" + prefix + text[5:]
        groups.append(text)
    return to_attr_value(groups, "list(string)")


def _return_element(graph, prefix, element: str):
    if ":" in element:
        return graph.get_tensor_by_name(prefix + element)
    return graph.get_operation_by_name(prefix + element)


class _Unregistered:
    """Output types for the nodes of one GraphDef whose op types nanotf does not register.

    See the module docstring for the order of the sources.
    """

    def __init__(self, nodes: dict, producer_op_list):
        self._names = {name for name, node in nodes.items() if registry.lookup(node.op) is None}
        types = {nodes[name].op for name in self._names}
        offered = producer_op_list.op if producer_op_list is not None else ()
        # Converted to nanotf's OpDef: producer_op_list may be TensorFlow's message.
        self.op_defs = {d.name: graph_pb2.OpDef.FromString(d.SerializeToString()) for d in offered if d.name in types}
        self._uses = self._consumer_dtypes(nodes) if self._names else {}

    def _consumer_dtypes(self, nodes: dict) -> dict:
        """{node name: {output index: DType or None}} for each consumed output of an unregistered node."""
        uses: dict = {}
        for node in nodes.values():
            data = [_parse_input(text) for text in node.input if not text.startswith("^")]
            if not any(src in self._names for src, _ in data):
                continue
            reg = registry.lookup(node.op)
            declared = (_arg_dtypes(reg.op_def.input_arg, reg.op_def, node.attr) if reg else None) or []
            for position, (src, index) in enumerate(data):
                if src in self._names:
                    known = uses.setdefault(src, {})
                    if known.get(index) is None:
                        known[index] = declared[position] if position < len(declared) else None
        return uses

    def output_dtypes(self, node) -> list:
        """The dtypes (None where unknown) of ``node``'s outputs, one per output."""
        op_def = self.op_defs.get(node.op)
        if op_def is not None:
            declared = _arg_dtypes(op_def.output_arg, op_def, node.attr)
            if declared is not None:
                return declared
        used = self._uses.get(node.name, {})
        listed = next((list(node.attr[k].list.type) for k in _OUTPUT_TYPE_LIST_ATTRS if _holds(node, k, "list")), [])
        single = next((node.attr[k].type for k in _OUTPUT_TYPE_ATTRS if _holds(node, k, "type")), None)
        shapes = node.attr["_output_shapes"] if "_output_shapes" in node.attr else None
        count = max(len(shapes.list.shape) if _is_shape_list(shapes) else 0, len(listed), max(used, default=-1) + 1)
        if count == 0 and single is not None:
            count = 1
        out = []
        for i in range(count):
            dtype = used.get(i)
            out.append(dtype if dtype is not None else _as_dtype(listed[i] if i < len(listed) else single))
        return out


def _holds(node, attr: str, kind: str) -> bool:
    return attr in node.attr and node.attr[attr].WhichOneof("value") == kind


def _arg_dtypes(args, op_def, attrs):
    """The flat dtypes of ``args`` (an OpDef's input_arg or output_arg) for a node with ``attrs``.

    Attrs the node lacks take the OpDef's defaults. Returns None if a list
    length cannot be known; a type that cannot be known is None in the list.
    """
    defaults = {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}

    def attr(name):
        return attrs[name] if name in attrs else defaults.get(name)

    out = []
    for arg in args:
        if arg.type_list_attr:
            value = attr(arg.type_list_attr)
            if value is None:
                return None
            types = list(value.list.type)
        else:
            number = attr(arg.number_attr) if arg.number_attr else None
            if arg.number_attr and number is None:
                return None
            type_value = attr(arg.type_attr) if arg.type_attr else None
            enum = arg.type if not arg.type_attr else (type_value.type if type_value is not None else None)
            types = [enum] * (number.i if number is not None else 1)
        out.extend(_as_dtype(t, arg.is_ref) for t in types)
    return out


def _as_dtype(enum, is_ref: bool = False):
    """The DType of a ``DataType`` number; None for DT_INVALID (0), a missing or an unknown number."""
    if not enum:
        return None
    try:
        dtype = dtypes.as_dtype(enum)
    except TypeError:
        return None
    return dtype._as_ref if is_ref else dtype

"""``import_graph_def``: GraphDef -> ops in a ``Graph``.

Every op type is checked against the registry before anything is created, so
a GraphDef using ops nanotf lacks fails once, naming all of them. Nodes are
created in dependency order (GraphDefs need not be sorted), names get the
import prefix (``import/``, ``import_1/``, or ``name/``), ``_class``
colocation attrs are rewritten to the prefixed names, and attrs missing from a
node get their OpDef defaults. ``_output_shapes`` refine the imported tensors'
static shapes and, as in TF, are not kept on the ops (``as_graph_def()`` after
an import has none; ``add_shapes=True`` recomputes them).
"""

from __future__ import annotations

from nanotf import errors
from nanotf.framework import registry
from nanotf.framework import tensor_shape
from nanotf.framework.attr_value import to_attr_value
from nanotf.framework.graph import Operation
from nanotf.framework.graph import Tensor
from nanotf.framework.graph import get_default_graph
from nanotf.protos import graph_pb2

__all__ = ["import_graph_def", "UnregisteredOpError"]


class UnregisteredOpError(errors.NotFoundError):
    """A GraphDef uses op types nanotf does not implement; ``op_types`` lists them all."""

    def __init__(self, op_types: list, nodes: dict):
        self.op_types = op_types
        examples = ", ".join(f"{t} (e.g. node '{nodes[t]}')" for t in op_types)
        super().__init__(
            None, None,
            f"GraphDef uses {len(op_types)} op type(s) not registered in nanotf: {examples}. "
            "They may come from a newer TensorFlow or a custom op library.",
        )  # fmt: skip


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
                if dep in nodes and dep not in seen:
                    seen.add(dep)
                    stack.append((dep, iter(nodes[dep].input)))
                    break
            else:
                stack.pop()
                order.append(nodes[name])
    return order


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None):  # fmt: skip
    """Imports ``graph_def`` into the default graph.

    Args:
        graph_def: a ``GraphDef`` (nanotf's proto, or any message with the
            same wire format, e.g. TensorFlow's).
        input_map: {"name:k" or "^name": Tensor/Operation} replacing inputs.
        return_elements: names ("op" or "op:k") to return from the import.
        name: prefix (default "import", made unique; '' for none).
        op_dict, producer_op_list: accepted for compatibility, unused.

    Returns:
        The requested elements (a list), or None without ``return_elements``.

    Raises:
        UnregisteredOpError: naming every unknown op type at once.
        ValueError: for bad input_map keys, missing inputs or name clashes.
    """
    del op_dict, producer_op_list
    if not isinstance(graph_def, graph_pb2.GraphDef):
        graph_def = graph_pb2.GraphDef.FromString(graph_def.SerializeToString())
    unknown = {}
    for node in graph_def.node:
        if registry.lookup(node.op) is None:
            unknown.setdefault(node.op, node.name)
    if unknown:
        raise UnregisteredOpError(sorted(unknown), unknown)
    graph = get_default_graph()
    input_map = {_normalize_key(k): v for k, v in (input_map or {}).items()}
    nodes = {n.name: n for n in graph_def.node}
    if len(nodes) != len(graph_def.node):
        raise ValueError("GraphDef has duplicate node names")
    with graph.name_scope("import" if name is None else name) as prefix:
        pass
    created: dict[str, Operation] = {}
    used_keys = set()
    saved = graph._colocation_stack, graph._attr_scope, graph._device_stack
    graph._colocation_stack, graph._attr_scope, graph._device_stack = [], {}, []
    try:
        with graph.control_dependencies(None):
            for node in _topological_nodes(nodes):
                created[node.name] = _import_node(graph, node, prefix, created, nodes, input_map, used_keys)
    finally:
        graph._colocation_stack, graph._attr_scope, graph._device_stack = saved
    missing = set(input_map) - used_keys
    if missing:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: [{', '.join(sorted(missing))}]")
    if return_elements is None:
        return None
    return [_return_element(graph, prefix, e) for e in return_elements]


def _normalize_key(key: str) -> str:
    if key.startswith("^"):
        return key
    name, index = _parse_input(key)
    return f"{name}:{index}"


def _import_node(graph, node, prefix, created, nodes, input_map, used_keys) -> Operation:
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
    op = graph._create_op(node.op, inputs, attrs, full_name + "/", control_inputs=controls, device=node.device)
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

"""Which op types nanotf implements, and which nodes of a graph need one it does not.

An op type is implemented when the registry holds it with a NumPy kernel.
Graphs written elsewhere may use other types (newer TensorFlow ops, custom op
libraries). ``import_graph_def`` imports such nodes anyway, as ops without a
kernel, and warns once; ``Session.run`` calls ``check_runnable`` before it
builds a plan, so a fetch that needs one of them fails before any kernel has
run, naming every such node, while fetches that avoid them run normally.
"""

from __future__ import annotations

from nanotf import errors
from nanotf.framework import registry
from nanotf.framework.graph import Graph
from nanotf.framework.tensor import Tensor
from nanotf.protos import graph_pb2
from nanotf.protos import meta_graph_pb2

__all__ = ["is_implemented", "supported_op_types", "unsupported_ops", "describe_nodes", "check_runnable",
           "op_def_of"]  # fmt: skip

# Node names quoted per op type before a message switches to "e.g.".
_LISTED_NODES = 10


def is_implemented(op_type: str) -> bool:
    """Whether nanotf can run ops of type ``op_type`` (registered, with a kernel)."""
    reg = registry.lookup(op_type)
    return reg is not None and reg.kernel is not None


def supported_op_types() -> list[str]:
    """The op types nanotf can run, sorted (TensorFlow's names, e.g. ``"MatMul"``)."""
    return [t for t in registry.registered_op_types() if is_implemented(t)]


def unsupported_ops(graph_or_graph_def) -> dict[str, list[str]]:
    """The nodes of a graph whose op types nanotf cannot run.

    Only the graph's own nodes are looked at; a node calling a function of the
    GraphDef's library counts under the op type it names.

    Args:
        graph_or_graph_def: a ``Graph``, a ``GraphDef`` or a ``MetaGraphDef``
            (nanotf's protos, or any message of the same name and wire format,
            e.g. TensorFlow's).

    Returns:
        {op type: [node names, in graph order]}, types sorted; empty if
        nanotf can run every node.

    Raises:
        TypeError: for any other argument.
    """
    if isinstance(graph_or_graph_def, Graph):
        pairs = ((op.type, op.name) for op in graph_or_graph_def.get_operations())
    else:
        pairs = ((node.op, node.name) for node in _graph_def_of(graph_or_graph_def).node)
    found: dict[str, list[str]] = {}
    for op_type, name in pairs:
        if not is_implemented(op_type):
            found.setdefault(op_type, []).append(name)
    return dict(sorted(found.items()))


def _graph_def_of(proto) -> graph_pb2.GraphDef:
    kind = getattr(getattr(proto, "DESCRIPTOR", None), "name", None)
    if kind == "MetaGraphDef":
        if not isinstance(proto, meta_graph_pb2.MetaGraphDef):
            proto = meta_graph_pb2.MetaGraphDef.FromString(proto.SerializeToString())
        return proto.graph_def
    if kind == "GraphDef":
        if not isinstance(proto, graph_pb2.GraphDef):
            proto = graph_pb2.GraphDef.FromString(proto.SerializeToString())
        return proto
    raise TypeError(f"Expected a Graph, GraphDef or MetaGraphDef, got {type(proto).__name__}")


def describe_nodes(nodes: dict[str, list[str]]) -> str:
    """``nodes`` ({op type: [node names]}) as one line: ``"Foo (2 nodes: 'a', 'b'), Bar (1 node: 'c')"``.

    Past ten nodes of one type, the first three are quoted as examples.
    """
    parts = []
    for op_type, names in nodes.items():
        count = f"{len(names)} node" + ("s" if len(names) > 1 else "")
        if len(names) <= _LISTED_NODES:
            parts.append(f"{op_type} ({count}: {_quoted(names)})")
        else:
            parts.append(f"{op_type} ({count}, e.g. {_quoted(names[:3])})")
    return ", ".join(parts)


def _quoted(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


def check_runnable(fetches, feeds) -> None:
    """Raises, before anything runs, if computing ``fetches`` needs an op nanotf cannot run.

    The ops needed are those the executor runs: everything reachable backwards
    from the fetches through data and control inputs, stopping at fed tensors.
    Each such op is charged to the first fetch that reaches it.

    Args:
        fetches: the fetched Tensors and target Operations, in fetch order.
        feeds: the fed Tensors.

    Raises:
        UnregisteredOpError: naming, per fetch, every needed node whose type
            nanotf cannot run (``nodes`` holds them all, by type).
    """
    feeds = set(feeds)
    seen: set = set()
    per_fetch = []
    for fetch in fetches:
        stack = [] if fetch in feeds else [fetch.op if isinstance(fetch, Tensor) else fetch]
        missing = []
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            if not is_implemented(op.type):
                missing.append(op)
            stack.extend(t.op for t in op._inputs if t not in feeds)
            stack.extend(op._control_inputs)
        if missing:
            per_fetch.append((fetch, missing))
    if not per_fetch:
        return
    needs = "; ".join(f"fetch '{fetch.name}' needs {describe_nodes(_by_type(ops))}" for fetch, ops in per_fetch)
    raise errors.UnregisteredOpError(
        f"Cannot run: the graph uses op types nanotf does not implement ({needs}). Nothing was run. "
        "Fetch only parts of the graph that avoid these nodes (nanotf.unsupported_ops(graph) lists every "
        "such node), or run them in TensorFlow.",
        _by_type([op for _, ops in per_fetch for op in ops]),
    )


def _by_type(ops) -> dict:
    """{op type: [names]} for ``ops``, types sorted, names in graph (creation) order."""
    grouped: dict = {}
    for op in sorted(ops, key=lambda op: op._id):
        grouped.setdefault(op.type, []).append(op.name)
    return dict(sorted(grouped.items()))


def op_def_of(op_type: str, graph: Graph | None = None) -> graph_pb2.OpDef | None:
    """The ``OpDef`` of ``op_type``: the registered one, else the one ``graph`` carried over
    from an imported meta graph's ``stripped_op_list``, else None."""
    reg = registry.lookup(op_type)
    if reg is not None:
        return reg.op_def
    return graph._unregistered_op_defs.get(op_type) if graph is not None else None

"""``tf.graph_util``: pruning a GraphDef and freezing variables into constants.

``convert_variables_to_constants(sess, graph_def, ["op_to_restore"])`` keeps
only what the outputs need, turns every ``VariableV2``/``VarHandleOp`` into a
same-named ``Const`` holding the variable's value in ``sess``, and every
``ReadVariableOp`` of such a handle into an ``Identity``, as TensorFlow does,
so the frozen GraphDef runs without a checkpoint (FORMATS.md §10).
"""

from __future__ import annotations

from nanotf.framework import tensor_util
from nanotf.protos import graph_pb2

__all__ = ["extract_sub_graph", "convert_variables_to_constants"]

_VARIABLE_OPS = ("Variable", "VariableV2", "VarHandleOp")


def _node_name(text: str) -> str:
    return text.lstrip("^").split(":")[0]


def extract_sub_graph(graph_def, dest_nodes) -> graph_pb2.GraphDef:
    """The nodes ``dest_nodes`` reach through data and control inputs, in their original order.

    Raises:
        TypeError: if ``dest_nodes`` is a string rather than a list.
        AssertionError: if a destination is not in the graph (as TF).
    """
    if isinstance(dest_nodes, str):
        raise TypeError("dest_nodes must be an iterable of strings.")
    by_name = {n.name: n for n in graph_def.node}
    for d in dest_nodes:
        assert d in by_name, f"{d} is not in graph"
    keep, stack = set(), list(dest_nodes)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        stack.extend(_node_name(i) for i in by_name[name].input)
    out = graph_pb2.GraphDef()
    out.node.extend(n for n in graph_def.node if n.name in keep)
    out.library.CopyFrom(graph_def.library)
    out.versions.CopyFrom(graph_def.versions)
    return out


def convert_variables_to_constants(sess, input_graph_def, output_node_names, variable_names_whitelist=None,
                                   variable_names_blacklist=None) -> graph_pb2.GraphDef:  # fmt: skip
    """Freezes the variables ``output_node_names`` need, with their values in ``sess``.

    Args:
        sess: the Session holding the variable values.
        input_graph_def: the GraphDef to freeze (e.g. ``sess.graph_def``).
        output_node_names: the op names to keep.
        variable_names_whitelist / variable_names_blacklist: convert only
            these / all but these variables (op names).

    Returns:
        The frozen GraphDef.
    """
    graph_def = extract_sub_graph(input_graph_def, output_node_names)

    def wanted(name):
        return (variable_names_whitelist is None or name in variable_names_whitelist) and (
            variable_names_blacklist is None or name not in variable_names_blacklist)  # fmt: skip

    variables = [n for n in graph_def.node if n.op in _VARIABLE_OPS and wanted(n.name)]
    fetches = [n.name + ("/Read/ReadVariableOp:0" if n.op == "VarHandleOp" else ":0") for n in variables]
    values = dict(zip((n.name for n in variables), sess.run(fetches))) if fetches else {}
    out = graph_pb2.GraphDef()
    for node in graph_def.node:
        new = out.node.add()
        if node.name in values:
            new.name, new.op = node.name, "Const"
            new.attr["dtype"].CopyFrom(node.attr["dtype"])
            proto = tensor_util.make_tensor_proto(values[node.name], dtype=node.attr["dtype"].type)
            new.attr["value"].tensor.CopyFrom(proto)
        elif node.op == "ReadVariableOp" and node.input and _node_name(node.input[0]) in values:
            new.name, new.op = node.name, "Identity"
            new.input.extend(node.input)
            new.attr["T"].CopyFrom(node.attr["dtype"])
            if "_class" in node.attr:
                new.attr["_class"].CopyFrom(node.attr["_class"])
        else:
            new.CopyFrom(node)
    out.library.CopyFrom(graph_def.library)
    out.versions.CopyFrom(graph_def.versions)
    return out


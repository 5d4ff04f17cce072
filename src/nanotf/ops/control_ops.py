"""Control ops: ``NoOp`` and ``group``.

Dead-tensor ops (``Switch``/``Merge``) will live here; the executor already
keeps a slot for them (see runtime/executor.py).
"""

from __future__ import annotations

from nanotf.framework import graph as graph_lib
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op

register_op("NoOp", shape=lambda op: [], kernel=lambda attrs: (), grad=NOT_DIFFERENTIABLE)


def no_op(name=None):
    """An op that does nothing; useful as a control-dependency target."""
    g = graph_lib.get_default_graph()
    return g._create_op("NoOp", [], {}, name or "NoOp")


def group(*inputs, name=None):
    """A ``NoOp`` depending on all ``inputs`` (ops or tensors), control inputs sorted by name as TF."""
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, (list, tuple)) else [x])
    ops = []
    for x in flat:
        if hasattr(x, "_as_graph_element") and not isinstance(x, (graph_lib.Tensor, graph_lib.Operation)):
            x = x._as_graph_element()
        ops.append(x.op if isinstance(x, graph_lib.Tensor) else x)
    g = ops[0].graph if ops else graph_lib.get_default_graph()
    with g.as_default(), g.name_scope(name or "group_deps") as scope:
        with g.control_dependencies(sorted(ops, key=lambda o: o.name)):
            return g._create_op("NoOp", [], {}, scope)

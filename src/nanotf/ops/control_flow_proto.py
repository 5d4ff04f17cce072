"""Cond and while contexts to and from TF's ``CondContextDef`` / ``WhileContextDef`` (protos/control_flow.proto).

A meta graph carries the contexts of a graph's outermost conds and loops in
its ``cond_context`` and ``while_context`` collections, each with its nested
contexts inside it. Everything is saved by tensor name: the predicate and
pivots, a loop's Enter and Exit tensors, and the ``ValuesDef`` (the tensors
the context owns, and for each outside tensor the stand-in used inside).

Restoring sets every op's context again (the ops of owned values that are
not stand-ins for outside tensors), so ``tf.gradients`` can differentiate
through conds and loops of an imported graph, ours or TensorFlow's.
``CONTEXT_PROTO_FUNCTIONS`` is what the meta-graph code registers for the
two collections.
"""

from __future__ import annotations

from nanotf.framework.graph import GraphKeys
from nanotf.ops.cond_v1 import CondContext
from nanotf.ops.control_flow_context import ControlFlowContext
from nanotf.ops.control_flow_ops import ENTER_TYPES
from nanotf.ops.while_v1 import WhileContext
from nanotf.protos import control_flow_pb2

__all__ = [
    "CONTEXT_PROTO_FUNCTIONS",
    "cond_context_from_proto",
    "cond_context_to_proto",
    "context_from_control_flow_context_def",
    "while_context_from_proto",
    "while_context_to_proto",
]  # fmt: skip


def _strip(name: str, scope: str | None) -> str:
    if scope and name.startswith(scope.rstrip("/") + "/"):
        return name[len(scope.rstrip("/")) + 1:]
    return name


def _prepend(name: str, scope: str | None) -> str:
    return f"{scope.rstrip('/')}/{name}" if scope else name


def _in_scope(ctxt, export_scope) -> bool:
    return not export_scope or ctxt.name.startswith(export_scope)


# -- export -----------------------------------------------------------------------------------
def _values_def(ctxt, export_scope) -> control_flow_pb2.ValuesDef:
    values_def = control_flow_pb2.ValuesDef()
    values_def.values.extend(sorted(_strip(t.name, export_scope) for t in ctxt._values))
    for key, value in ctxt._external_values.items():
        values_def.external_values[_strip(key.name, export_scope)] = _strip(value.name, export_scope)
    return values_def


def _add_nested(nested_contexts, repeated, export_scope) -> None:
    for nested in nested_contexts:
        context_def = repeated.add()
        if nested.is_while_context():
            context_def.while_ctxt.CopyFrom(while_context_to_proto(nested, export_scope))
        else:
            context_def.cond_ctxt.CopyFrom(cond_context_to_proto(nested, export_scope))


def cond_context_to_proto(ctxt, export_scope=None):
    """The ``CondContextDef`` of one cond branch (None if it is outside ``export_scope``)."""
    if not _in_scope(ctxt, export_scope):
        return None
    context_def = control_flow_pb2.CondContextDef(
        context_name=_strip(ctxt.name, export_scope), pred_name=_strip(ctxt.pred.name, export_scope),
        pivot_name=_strip(ctxt.pivot.name, export_scope), branch=ctxt.branch)  # fmt: skip
    context_def.values_def.CopyFrom(_values_def(ctxt, export_scope))
    _add_nested(ctxt.nested_contexts, context_def.nested_contexts, export_scope)
    return context_def


def while_context_to_proto(ctxt, export_scope=None):
    """The ``WhileContextDef`` of one while loop (None if it is outside ``export_scope``)."""
    if not _in_scope(ctxt, export_scope):
        return None

    def name(t):
        return _strip(t.name, export_scope)

    context_def = control_flow_pb2.WhileContextDef(
        context_name=_strip(ctxt.name, export_scope), parallel_iterations=ctxt.parallel_iterations,
        back_prop=ctxt.back_prop, swap_memory=ctxt.swap_memory, pivot_for_pred_name=name(ctxt.pivot_for_pred),
        pivot_for_body_name=name(ctxt.pivot_for_body), pivot_name=name(ctxt.pivot),
        loop_exit_names=[name(t) for t in ctxt.loop_exits], loop_enter_names=[name(t) for t in ctxt.loop_enters])
    if ctxt.maximum_iterations is not None:
        context_def.maximum_iterations_name = name(ctxt.maximum_iterations)
    context_def.values_def.CopyFrom(_values_def(ctxt, export_scope))
    _add_nested(ctxt.nested_contexts, context_def.nested_contexts, export_scope)
    return context_def


# -- import -----------------------------------------------------------------------------------
def _restore_values(ctxt, values_def, import_scope) -> None:
    graph = ctxt.graph

    def tensor(name):
        return graph.as_graph_element(_prepend(name, import_scope))

    ctxt._values = {tensor(name) for name in values_def.values}
    ctxt._external_values = {tensor(k): tensor(v) for k, v in values_def.external_values.items()}
    for op in {t.op for t in ctxt._values - set(ctxt._external_values)}:
        op._control_flow_context = ctxt


def _restore_nested(ctxt, context_defs, import_scope) -> None:
    with ctxt:
        for context_def in context_defs:
            context_from_control_flow_context_def(context_def, import_scope)


def cond_context_from_proto(context_def, import_scope=None) -> CondContext:
    """Rebuilds a cond branch's context (and its nested ones) over the imported graph."""
    ctxt = CondContext.__new__(CondContext)
    ControlFlowContext.__init__(ctxt)
    graph = ctxt.graph
    ctxt.name = _prepend(context_def.context_name, import_scope)
    ctxt.pred = graph.as_graph_element(_prepend(context_def.pred_name, import_scope))
    ctxt.pivot = graph.as_graph_element(_prepend(context_def.pivot_name, import_scope))
    ctxt.branch = context_def.branch
    _restore_values(ctxt, context_def.values_def, import_scope)
    _restore_nested(ctxt, context_def.nested_contexts, import_scope)
    return ctxt


def while_context_from_proto(context_def, import_scope=None) -> WhileContext:
    """Rebuilds a while loop's context (and its nested ones) over the imported graph.

    Under an ``import_scope`` the loop's frame is renamed with it, so the
    Enter ops' ``frame_name`` is rewritten to match.
    """
    ctxt = WhileContext.__new__(WhileContext)
    ControlFlowContext.__init__(ctxt)
    graph = ctxt.graph

    def tensor(name):
        return graph.as_graph_element(_prepend(name, import_scope))

    ctxt.name = _prepend(context_def.context_name, import_scope)
    ctxt._grad_state = None
    max_name = context_def.maximum_iterations_name
    ctxt.maximum_iterations = tensor(max_name) if max_name else None
    ctxt.parallel_iterations = context_def.parallel_iterations
    ctxt.back_prop = context_def.back_prop
    ctxt.swap_memory = context_def.swap_memory
    ctxt.pivot_for_pred = tensor(context_def.pivot_for_pred_name)
    ctxt.pivot_for_body = tensor(context_def.pivot_for_body_name)
    ctxt.pivot = tensor(context_def.pivot_name)
    ctxt.loop_exits = [tensor(name) for name in context_def.loop_exit_names]
    ctxt.loop_enters = [tensor(name) for name in context_def.loop_enter_names]
    _restore_values(ctxt, context_def.values_def, import_scope)
    if import_scope:
        for t in ctxt._values:
            if t.op.type in ENTER_TYPES:
                t.op._set_attr("frame_name", ctxt.name.encode(), "string")
    _restore_nested(ctxt, context_def.nested_contexts, import_scope)
    return ctxt


def context_from_control_flow_context_def(context_def, import_scope=None):
    """A nested context from its ``ControlFlowContextDef`` (either kind)."""
    kind = context_def.WhichOneof("ctxt")
    if kind == "cond_ctxt":
        return cond_context_from_proto(context_def.cond_ctxt, import_scope)
    if kind == "while_ctxt":
        return while_context_from_proto(context_def.while_ctxt, import_scope)
    raise ValueError(f"Unknown ControlFlowContextDef field: {kind}")


# collection key -> (proto type, to_proto(context, export_scope), from_proto(proto, import_scope))
CONTEXT_PROTO_FUNCTIONS = {
    GraphKeys.COND_CONTEXT: (control_flow_pb2.CondContextDef, cond_context_to_proto, cond_context_from_proto),
    GraphKeys.WHILE_CONTEXT: (control_flow_pb2.WhileContextDef, while_context_to_proto, while_context_from_proto),
}

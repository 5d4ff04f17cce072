"""The context a cond branch or while loop is built in, as TF1's ``ControlFlowContext``.

While a context is active (``graph._control_flow_context``), the graph hands
it every op it creates (``add_op``), and the context rewrites the op the way
TensorFlow does, so that the graph runs under the dataflow executor:

* an input produced outside the context is brought in: through a ``Switch``
  on the cond's predicate (cond), or a loop-invariant ``Enter`` (while);
* an op without inputs gets a control edge from the context's pivot, so it
  runs only when the branch is taken / once per iteration;
* control inputs from outside the enclosing loop are dropped (while: they
  come back as control edges from an ``Identity`` of them made inside).

Every op remembers the context it was built in (``op_context``); contexts
nest through ``outer_context`` and list the contexts built inside them
(``nested_contexts``, for export). ``cond_v1.py`` and ``while_v1.py``
subclass this; ``control_flow_state.py`` uses the predicates at the bottom to
differentiate through contexts.
"""

from __future__ import annotations

from nanotf.framework.graph import get_default_graph
from nanotf.ops.control_flow_ops import ENTER_TYPES
from nanotf.ops.control_flow_ops import EXIT_TYPES
from nanotf.ops.control_flow_ops import SWITCH_TYPES

__all__ = ["ControlFlowContext", "op_context", "op_in_context", "output_context", "update_input", "set_control_inputs",
           "is_loop_constant_enter", "while_context_of", "is_loop_exit", "is_switch", "is_cond_switch",
           "is_loop_switch", "loop_constant_enter"]  # fmt: skip


def op_context(op):
    """The context ``op`` was built in, or None (built outside any cond/while)."""
    return getattr(op, "_control_flow_context", None)


def output_context(op):
    """The context where ``op``'s outputs live: an ``Exit``'s are in the loop's outer context."""
    ctxt = op_context(op)
    if ctxt is not None and op.type in EXIT_TYPES:
        ctxt = ctxt.outer_context
    return ctxt


def op_in_context(op, ctxt) -> bool:
    """Whether ``op`` was built in ``ctxt`` or in a context nested inside it."""
    inner = op_context(op)
    while inner is not None:
        if inner is ctxt:
            return True
        inner = inner.outer_context
    return False


def is_loop_constant_enter(op) -> bool:
    return op.type in ENTER_TYPES and op._attrs["is_constant"].b


def update_input(op, index: int, tensor) -> None:
    """Makes ``tensor`` the ``index``-th input of ``op`` (TF's ``Operation._update_input``)."""
    old = op._inputs[index]
    op._inputs[index] = tensor
    if op in old.op._consumers:
        old.op._consumers.remove(op)
    tensor.op._consumers.append(op)
    op._graph._version += 1


def set_control_inputs(op, control_ops) -> None:
    """Replaces the control inputs of ``op`` by ``control_ops``."""
    for c in op._control_inputs:
        if op in c._control_outputs:
            c._control_outputs.remove(op)
    op._control_inputs = []
    op._add_control_inputs(control_ops)


class ControlFlowContext:
    """Base of ``CondContext`` and ``WhileContext``: activation, nesting, and the values it knows.

    ``_values`` holds the tensors usable inside the context as they are;
    ``_external_values`` maps an outside tensor to its stand-in inside.
    ``with ctxt:`` (or ``enter()``/``exit()``) makes it the graph's current
    context and restores the previous one afterwards.
    """

    def __init__(self):
        self.graph = get_default_graph()
        self.outer_context = self.graph._control_flow_context
        self.nested_contexts: list = []
        if self.outer_context is not None:
            self.outer_context.nested_contexts.append(self)
        self._values: set = set()
        self._external_values: dict = {}
        self._saved: list = []

    def enter(self) -> None:
        self._saved.append(self.graph._control_flow_context)
        self.graph._control_flow_context = self

    def exit(self) -> None:  # noqa: A003 - TF's name
        self.graph._control_flow_context = self._saved.pop()

    def __enter__(self):
        self.enter()
        return self

    def __exit__(self, *exc):
        self.exit()

    @property
    def grad_state(self):
        """The gradient-loop state of the enclosing while loop when it is a gradient loop, else None."""
        while_ctxt = self.get_while_context()
        return while_ctxt.grad_state if while_ctxt is not None else None

    def is_while_context(self) -> bool:
        return False

    def is_cond_context(self) -> bool:
        return False

    def add_op(self, op) -> None:
        """Called by the graph for each op created while this context is active."""
        op._control_flow_context = self
        self._add_op_internal(op)

    def _add_op_internal(self, op) -> None:
        raise NotImplementedError

    def add_value(self, val):
        """The tensor to use inside this context for ``val``."""
        raise NotImplementedError

    def add_name(self, tensor) -> None:
        """Makes ``tensor`` (an output of an inner context) usable as is in this context."""
        self._values.add(tensor)

    def exit_result(self, tensors) -> None:
        """Makes ``tensors`` (results leaving this context) usable as they are in the outer context."""
        if self.outer_context is not None:
            for t in tensors:
                self.outer_context.add_name(t)

    def add_inner_op(self, op) -> None:
        """Notes an op built by an inner context (outer contexts see it too)."""
        if self.outer_context is not None:
            self.outer_context.add_inner_op(op)

    def get_while_context(self):
        """The innermost while loop this context is in (itself, if it is one), or None."""
        return self.outer_context.get_while_context() if self.outer_context is not None else None

    def get_control_pivot(self):
        return None

    def _remove_external_control_edges(self, op):
        """Drops control inputs of ``op`` that are not in the same while loop; returns (kept, dropped)."""
        while_ctxt = self.get_while_context()
        if while_ctxt is None:
            return list(op._control_inputs), []
        internal, external = [], []
        for c in op._control_inputs:
            ctxt = output_context(c)
            if ctxt is not None and ctxt.get_while_context() is while_ctxt:
                internal.append(c)
            else:
                external.append(c)
        if external:
            set_control_inputs(op, internal)
        return internal, external


# -- what an op is, as far as differentiating through control flow goes ---------------------------
def while_context_of(op):
    """The innermost while loop ``op`` was built in, or None."""
    ctxt = op_context(op)
    return ctxt.get_while_context() if ctxt is not None else None


def is_switch(op) -> bool:
    return op.type in SWITCH_TYPES


def is_loop_exit(op) -> bool:
    return op.type in EXIT_TYPES


def is_cond_switch(op) -> bool:
    """A Switch all of whose consumers sit in cond contexts (a cond's Switch, even inside a loop)."""
    if not is_switch(op) or not op.outputs:
        return False
    for out in op.outputs:
        for consumer in out.consumers():
            ctxt = op_context(consumer)
            if consumer.type in ENTER_TYPES and ctxt is not None:
                ctxt = ctxt.outer_context
            if ctxt is None or not ctxt.is_cond_context():
                return False
    return True


def is_loop_switch(op) -> bool:
    """A while loop's own Switch (between its Merge and its Exit / body Identity)."""
    if not is_switch(op):
        return False
    ctxt = op_context(op)
    return ctxt is not None and ctxt.is_while_context() and not is_cond_switch(op)


def loop_constant_enter(tensor):
    """The loop-invariant ``Enter`` that ``tensor`` is (seen through Identity/Switch), or None."""
    op = tensor.op
    while op.type in ("Identity", "RefIdentity") or op.type in SWITCH_TYPES:
        op = op.inputs[0].op
    return op if is_loop_constant_enter(op) else None

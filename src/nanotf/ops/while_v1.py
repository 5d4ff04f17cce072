"""``tf.while_loop`` as TF1 graph mode builds it: one frame, ``Enter``/``Merge``/``Switch``/``Exit`` per loop variable.

Under the scope ``while`` (frame ``while/while_context``), for each loop
variable ``v_k``::

    while/Enter_k         = Enter(v_k)                    (is_constant=false)
    while/Merge_k         = Merge(while/Enter_k, while/NextIteration_k)
    cond's ops on the Merge outputs ...  while/LoopCond = LoopCond(cond result)
    while/Switch_k        = Switch(while/Merge_k, while/LoopCond)
    while/Identity_k      = Identity(while/Switch_k:1)    (the body's inputs)
    body's ops ...        while/NextIteration_k = NextIteration(body result k)
    while/Exit_k          = Exit(while/Switch_k:0)        (the loop's results)

Tensors from outside are read through ``Enter(is_constant=true)`` named
``<op scope>/Enter``; ops without inputs depend on ``while/Merge`` (in cond)
or ``while/Identity`` (in the body), so they run once per iteration. A loop
built outside any other cond or loop adds its context to the
``while_context`` collection.

The gradient of a loop is another loop, built by ``tf.gradients`` in a
``WhileContext`` that has a ``grad_state`` (control_flow_state.py). While it
is being built, a forward-loop tensor that a gradient op reads is not
entered as a loop invariant: ``add_value`` asks the grad state for the
tensor's saved per-iteration value (a stack pop).
"""

from __future__ import annotations

from nanotf.framework import graph as graph_lib
from nanotf.framework import tensor_shape
from nanotf.framework.graph import GraphKeys
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import _nest
from nanotf.ops import array_ops
from nanotf.ops import math_ops
from nanotf.ops.control_flow_context import ControlFlowContext
from nanotf.ops.control_flow_context import is_loop_constant_enter
from nanotf.ops.control_flow_context import is_loop_exit
from nanotf.ops.control_flow_context import op_context
from nanotf.ops.control_flow_context import update_input
from nanotf.ops.control_flow_context import while_context_of
from nanotf.ops.control_flow_ops import enter
from nanotf.ops.control_flow_ops import exit as exit_op
from nanotf.ops.control_flow_ops import loop_cond
from nanotf.ops.control_flow_ops import merge
from nanotf.ops.control_flow_ops import next_iteration
from nanotf.ops.control_flow_ops import switch
from nanotf.ops.tensor_array_ops import TensorArray

__all__ = ["WhileContext", "while_loop"]


class WhileContext(ControlFlowContext):
    """The frame of one while loop while it is built (see module docstring)."""

    def __init__(self, maximum_iterations=None, parallel_iterations=10, back_prop=True, swap_memory=False,
                 name="while_context", grad_state=None):  # fmt: skip
        super().__init__()
        self.name = self.graph.unique_name(name)
        self._grad_state = grad_state
        self.maximum_iterations = maximum_iterations
        self.parallel_iterations = parallel_iterations
        self.back_prop = back_prop
        self.swap_memory = swap_memory
        self.pivot = None  # the LoopCond
        self.pivot_for_pred = None  # the first Merge
        self.pivot_for_body = None  # the first body Identity
        self.loop_enters: list = []
        self.loop_exits: list = []

    @property
    def grad_state(self):
        """The ``GradLoopState`` when this is the gradient loop of another loop, else None."""
        return self._grad_state

    def is_while_context(self) -> bool:
        return True

    def get_while_context(self):
        return self

    def get_control_pivot(self):
        return self.pivot_for_body if self.pivot_for_body is not None else self.pivot_for_pred

    def add_value(self, val):
        if val in self._values or getattr(val.op, "_control_flow_context", None) is self:
            actual = self._external_values.get(val)
            return val if actual is None else actual
        self._values.add(val)
        grad_state = self._building_gradient_of(val)
        if grad_state is not None:
            real = grad_state.get_real_value(val)
            self._external_values[val] = real
            return real
        result = val
        if self.outer_context is not None:
            result = self.outer_context.add_value(val)
        with self.graph.control_dependencies(None):
            result = enter(result, self.name, is_constant=True, parallel_iterations=self.parallel_iterations)
            if self.outer_context is not None:
                self.outer_context.add_inner_op(result.op)
        result.op._control_flow_context = self
        self._values.add(result)
        self._external_values[val] = result
        return result

    def _current_grad_state(self):
        """The state of the gradient loop being built right now, or None."""
        current = self.graph._control_flow_context
        grad_ctxt = current.get_while_context() if current is not None else None
        return grad_ctxt.grad_state if grad_ctxt is not None else None

    def _building_gradient_of(self, val):
        """The grad state if a gradient loop is being built and ``val`` is from its forward loop."""
        grad_state = self._current_grad_state()
        if grad_state is None:
            return None
        forward = while_context_of(val.op)
        if forward is not None and is_loop_exit(val.op):
            forward = forward.outer_context.get_while_context() if forward.outer_context is not None else None
        return grad_state if forward is grad_state.forward_context else None

    def add_op(self, op) -> None:
        # A shape op on a forward value, built for the gradient loop, runs in the forward loop
        # instead: the forward loop then saves the (small) shape for the gradient, not the tensor.
        if op.type in ("Shape", "Size", "Rank") and op._inputs:
            grad_state = self._current_grad_state()
            source = op._inputs[0].op
            if grad_state is not None and while_context_of(source) is grad_state.forward_context:
                forward_ctxt = op_context(source)
                op._control_flow_context = forward_ctxt
                forward_ctxt._add_op_internal(op)
                return
        super().add_op(op)

    def _add_op_internal(self, op) -> None:
        if not op._inputs:
            internal, external = self._remove_external_control_edges(op)
            if not internal:
                op._add_control_input(self.get_control_pivot().op)
        else:
            for index, x in enumerate(list(op._inputs)):
                real_x = self.add_value(x)
                if real_x is not x:
                    update_input(op, index, real_x)
            _, external = self._remove_external_control_edges(op)
            # An op fed only by loop invariants would otherwise run once, not per iteration.
            if not op._control_inputs and all(is_loop_constant_enter(x.op) for x in op._inputs):
                op._add_control_input(self.get_control_pivot().op)
        self._values.update(op._outputs)
        if external:
            # Control inputs from outside the loop come in as data, through an Identity made inside.
            with self.graph.control_dependencies(None), self:
                pulled = [array_ops.identity(c.outputs[0]).op for c in external if c.outputs]
            op._add_control_inputs(pulled)
        if self.outer_context is not None:
            self.outer_context.add_inner_op(op)

    def build_loop(self, cond, body, loop_vars, shape_invariants=None):
        """Builds the loop; returns (the body's result structure, the Exit tensors, flat)."""
        flat_orig = _nest.flatten(loop_vars)
        flat = [convert_to_tensor(v.flow if isinstance(v, TensorArray) else v) for v in flat_orig]
        with self:
            self._values = set(flat)
            real_vars = [self.outer_context.add_value(x) for x in flat] if self.outer_context else flat
            with self.graph.control_dependencies(None):
                enters = [enter(x, self.name, is_constant=False, parallel_iterations=self.parallel_iterations)
                          for x in real_vars]  # fmt: skip
            self._set_enter_shapes(real_vars, enters, shape_invariants)
            self._link_outer_pivot(enters)
            for e in enters:
                e.op._control_flow_context = self
                if self.outer_context is not None:
                    self.outer_context.add_inner_op(e.op)
            self._values = set(enters)
            self.loop_enters = enters
            merges = [merge([x, x])[0] for x in enters]
            self.pivot_for_pred = merges[0]
            c = convert_to_tensor(cond(*_as_loop_vars(loop_vars, flat_orig, merges)))
            self.pivot = loop_cond(c, name="LoopCond")
            switches = [_switch_with(m, self.pivot) for m in merges]
            body_vars = [array_ops.identity(s[1]) for s in switches]
            self.pivot_for_body = body_vars[0]
            result = body(*_as_loop_vars(loop_vars, flat_orig, body_vars))
            if not _nest.is_nested(result):
                result = [result]
            flat_result = [convert_to_tensor(r.flow if isinstance(r, TensorArray) else r)
                           for r in _nest.flatten(result)]  # fmt: skip
            if len(flat_result) != len(merges):
                raise ValueError(f"Number of inputs and outputs of 'body' must match 'loop_vars': the loop has "
                                 f"{len(merges)} variables, the body returned {len(flat_result)} values")  # fmt: skip
            for m, v in zip(merges, flat_result):
                _add_next_and_back_edge(m, v)
            exits = [exit_op(s[0]) for s in switches]
        self.loop_exits = exits
        self.exit_result(exits)
        return result, exits

    def _set_enter_shapes(self, real_vars, enters, shape_invariants) -> None:
        invariants = _nest.flatten(shape_invariants) if shape_invariants is not None else [None] * len(enters)
        for x, e, inv in zip(real_vars, enters, invariants):
            shape = x.shape if inv is None else tensor_shape.as_shape(inv)
            if inv is not None and not shape.is_compatible_with(x.shape):
                raise ValueError(f"The shape invariant specified for {x.name} is not compatible with the initial "
                                 f"shape of the loop variable. It enters the loop with shape {x.shape}, but the "
                                 f"specified shape invariant is {shape}.")  # fmt: skip
            e._shape = shape

    def _link_outer_pivot(self, enters) -> None:
        # A loop inside a cond or another loop starts only when its context's pivot has run.
        outer, pivot = self.outer_context, None
        while outer is not None and pivot is None:
            pivot = outer.get_control_pivot()
            outer = outer.outer_context
        if pivot is not None:
            for e in enters:
                if is_loop_constant_enter(e.op.inputs[0].op):
                    e.op._add_control_input(pivot.op)


def _switch_with(data, pred):
    with graph_lib.get_default_graph().colocate_with(data.op):
        return switch(data, pred)


def _as_loop_vars(structure, flat_orig, tensors):
    """``tensors`` in the structure of the loop variables, TensorArrays rebuilt over their flows."""
    flat = [o.with_flow(t) if isinstance(o, TensorArray) else t for o, t in zip(flat_orig, tensors)]
    return _nest.pack_sequence_as(structure, flat)


def _add_next_and_back_edge(merge_var, value) -> None:
    if value.dtype.base_dtype != merge_var.dtype.base_dtype:
        raise TypeError(f"Loop variable {merge_var.name} has dtype {merge_var.dtype.name} but the body returned "
                        f"{value.dtype.name} for it")  # fmt: skip
    nxt = next_iteration(value)
    # TF also refuses a body result whose static shape is merely less known than the variable's; nanotf's
    # shape inference may know less than TF's, so only a real conflict is an error here.
    if not nxt.shape.is_compatible_with(merge_var.shape):
        start = merge_var.op.inputs[0]
        raise ValueError(f"Input tensor '{start.op.inputs[0].name}' enters the loop with shape {merge_var.shape}, "
                         f"but has shape {nxt.shape} after one iteration. To allow the shape to vary across "
                         "iterations, use the `shape_invariants` argument of tf.while_loop to specify a "
                         "less-specific shape.")  # fmt: skip
    update_input(merge_var.op, 1, nxt)


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10, back_prop=True,
               swap_memory=False, name=None, maximum_iterations=None, return_same_structure=False):  # fmt: skip
    """Repeats ``body`` while ``cond`` is true, built as TF1's ``tf.while_loop`` (see module docstring).

    Args:
        cond: callable taking the loop variables, returning a scalar bool tensor.
        body: callable taking the loop variables, returning new values in the
            same structure.
        loop_vars: a tensor, TensorArray, or nested list/tuple/dict of them.
        shape_invariants: shapes (same structure) the variables keep across
            iterations, where they may change.
        parallel_iterations: recorded on the Enter ops (nanotf runs
            iterations one after another).
        back_prop, swap_memory: recorded for gradients.
        name: the name scope (default ``while``).
        maximum_iterations: stop after at most this many iterations.
        return_same_structure: always return the structure of ``loop_vars``
            (else a single variable comes back unwrapped).

    Returns:
        The Exit tensors in the structure of the body's result.

    Raises:
        TypeError: ``cond`` or ``body`` is not callable.
        ValueError: ``loop_vars`` is empty, or the body changes a variable's
            shape beyond its invariant or returns a different number of values.
    """
    if not callable(cond):
        raise TypeError("cond must be callable.")
    if not callable(body):
        raise TypeError("body must be callable.")
    if parallel_iterations < 1:
        raise TypeError("parallel_iterations must be a positive integer.")
    if isinstance(loop_vars, TensorArray) or not _nest.is_nested(loop_vars):
        loop_vars = [loop_vars]
    if not _nest.flatten(loop_vars):
        raise ValueError("No loop variables provided")
    try_to_pack = len(loop_vars) == 1 and not return_same_structure
    with graph_lib.name_scope(name, "while", _nest.flatten(loop_vars)):
        if maximum_iterations is not None:
            maximum_iterations = convert_to_tensor(maximum_iterations, name="maximum_iterations")
            cond, body, loop_vars = _count_iterations(cond, body, loop_vars, maximum_iterations, try_to_pack)
            if shape_invariants is not None:
                shape_invariants = (tensor_shape.TensorShape([]), shape_invariants)
        context = WhileContext(maximum_iterations, parallel_iterations, back_prop, swap_memory)
        if context.outer_context is None:
            # Nested contexts travel inside their outermost one.
            graph_lib.add_to_collection(GraphKeys.WHILE_CONTEXT, context)
        result, exits = context.build_loop(cond, body, loop_vars, shape_invariants)
        flat = [o.with_flow(e) if isinstance(o, TensorArray) else e for o, e in zip(_nest.flatten(result), exits)]
        packed = _nest.pack_sequence_as(result, flat)
        if maximum_iterations is not None:
            return packed[1]
        if not return_same_structure and len(exits) == 1:
            return packed[0]
        return packed


def _count_iterations(cond, body, loop_vars, maximum_iterations, try_to_pack):
    """Adds TF's ``iteration_counter`` loop variable and the ``maximum_iterations`` test to ``cond``."""
    limit = maximum_iterations
    if limit.shape.ndims not in (None, 0):
        raise ValueError(f"maximum_iterations must be a scalar, saw shape: {limit.shape}")
    counter = convert_to_tensor(0, dtype=limit.dtype, name="iteration_counter")
    if try_to_pack:
        inner = loop_vars[0]
        return ((lambda i, v: math_ops.logical_and(i < limit, cond(v))),
                (lambda i, v: (i + 1, body(v))), [counter, inner])  # fmt: skip
    return ((lambda i, v: math_ops.logical_and(i < limit, cond(*v))),
            (lambda i, v: (i + 1, body(*v))), [counter, loop_vars])  # fmt: skip

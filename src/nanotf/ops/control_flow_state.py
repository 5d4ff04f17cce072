"""What ``tf.gradients`` keeps while it differentiates through TF1 while loops.

The gradient of a while loop is a second loop that runs the forward loop's
iterations backwards. For each forward loop between ``xs`` and ``ys`` one
``GradLoopState`` builds, with the same frame layout TensorFlow uses::

    forward loop (frame F)                      gradient loop (frame "gradients/F")
    f_count: n = 0; n += 1 per iteration        b_count: n = f_count exit; loop while n >= 1, n -= 1
    StackPushV2(f_acc, v) per iteration   -->   StackPopV2(f_acc): v of the matching iteration
                                                b_exit (Enter) <- grad of a forward Exit
                                                b_switch (Merge) <- grad of a forward loop Switch
                                                b_acc: sum over iterations of a loop invariant's grad

* ``f_count`` counts the forward iterations; its exit starts ``b_count``,
  which is the gradient loop's predicate (``LoopCond`` named ``b_count``).
* A forward tensor read by a gradient op (``get_real_value``) is pushed on
  a stack (``f_acc``, a ``StackV2`` made outside the loops) in every forward
  iteration and popped in the matching gradient iteration. Control edges
  keep the pushes in iteration order (each push waits for the iteration's
  counter increment, and the next increment waits for the push) and the pops
  too (a ``ControlTrigger`` ``b_sync`` gates the next decrement). A value
  inside a cond inside the loop is pushed/popped under the cond's predicate,
  itself saved the same way.
* Loop invariants (constant ``Enter``) have per-iteration gradients that an
  accumulator loop sums (``b_acc``); loop variables get their gradient back
  through an ``Exit`` of the gradient loop.

``ControlFlowState`` maps each forward loop to its ``GradLoopState`` and
answers the questions the driver (train/gradients.py) asks: which gradient
loop an op's gradient is built in, what zeros stand for a missing gradient
inside a loop, which loop exits nobody asked about, and the final patch-up.
The rules of the loop ops themselves live with the ops (control_flow_ops.py)
and reach this state through the current context's ``grad_state``.
"""

from __future__ import annotations

import contextlib

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.common_shapes import constant_value
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.ops import array_ops
from nanotf.ops.control_flow_context import is_loop_exit
from nanotf.ops.control_flow_context import is_loop_switch
from nanotf.ops.control_flow_context import is_switch
from nanotf.ops.control_flow_context import loop_constant_enter
from nanotf.ops.control_flow_context import op_context
from nanotf.ops.control_flow_context import output_context
from nanotf.ops.control_flow_context import update_input
from nanotf.ops.control_flow_context import while_context_of
from nanotf.ops.control_flow_ops import control_trigger
from nanotf.ops.control_flow_ops import enter
from nanotf.ops.control_flow_ops import exit as exit_op
from nanotf.ops.control_flow_ops import loop_cond
from nanotf.ops.control_flow_ops import merge
from nanotf.ops.control_flow_ops import next_iteration
from nanotf.ops.control_flow_ops import switch
from nanotf.ops.while_v1 import WhileContext

__all__ = ["ControlFlowState", "GradLoopState", "maybe_create_control_flow_state", "zeros_like_outside_loop"]


@contextlib.contextmanager
def _entered(ctxt):
    """Makes ``ctxt`` current inside the block; None leaves the current context alone."""
    if ctxt is None:
        yield
        return
    with ctxt:
        yield


def _shape_op(value):
    # Always a run-time Shape op: a loop saves it per iteration.
    return apply_op("Shape", input=value, out_type=dtypes.int32, name="Shape")


def _outer_while_context(ctxt):
    outer = ctxt.outer_context
    return outer.get_while_context() if outer is not None else None


class GradLoopState:
    """One forward while loop and the gradient loop built for it (see module docstring).

    Args:
        forward_ctxt: the forward loop's ``WhileContext``.
        outer_grad_state: the state of the enclosing forward loop, if nested.
    """

    def __init__(self, forward_ctxt, outer_grad_state):
        self.forward_context = forward_ctxt
        self.outer_grad_state = outer_grad_state
        self.history_map: dict = {}  # forward tensor -> its value inside the gradient loop
        self.switch_map: dict = {}  # forward loop Switch op -> the gradient loop's Merge for it
        self.unused_exits: list = []
        self.deferred_exits: list = []
        self.forward_loop_exits = list(forward_ctxt.loop_exits)
        self.pending_exits_count = len(self.forward_loop_exits)
        self._forward_sync = None
        self._grad_sync = None
        outer_forward = outer_grad_state.forward_context if outer_grad_state else forward_ctxt.outer_context
        with _entered(outer_forward):
            count, self.forward_index = _add_forward_loop_counter(forward_ctxt, outer_grad_state)
        if outer_grad_state is not None:
            # The inner loop runs once per outer iteration: its counts are saved like any other value.
            outer_forward.add_name(count)
            history = outer_grad_state.add_forward_accumulator(count)
            with outer_grad_state.grad_context:
                self.grad_context = self._new_grad_context()
                real_count = outer_grad_state.add_backprop_accumulated_value(history, count)
                self.grad_index = _add_backprop_loop_counter(self.grad_context, real_count, outer_grad_state)
        else:
            with _entered(outer_forward):
                self.grad_context = self._new_grad_context()
                self.grad_index = _add_backprop_loop_counter(self.grad_context, count, None)

    def _new_grad_context(self):
        f = self.forward_context
        return WhileContext(f.maximum_iterations, f.parallel_iterations, f.back_prop, f.swap_memory, name=f.name,
                            grad_state=self)  # fmt: skip

    @property
    def forward_sync(self):
        """A ``ControlTrigger`` in the forward loop that the next counter increment waits for."""
        if self._forward_sync is None:
            graph = self.forward_context.graph
            with graph.control_dependencies(None):
                self._forward_sync = control_trigger(name="f_sync")
            self._forward_sync._control_flow_context = self.forward_context
            self.forward_index.op._add_control_input(self._forward_sync)
        return self._forward_sync

    @property
    def grad_sync(self):
        """A ``ControlTrigger`` in the gradient loop that the next counter decrement waits for."""
        if self._grad_sync is None:
            graph = self.grad_context.graph
            with graph.control_dependencies(None):
                self._grad_sync = control_trigger(name="b_sync")
            self._grad_sync._control_flow_context = self.grad_context
            self.grad_index.op._add_control_input(self._grad_sync)
            if self.grad_context.outer_context is not None:
                self.grad_context.outer_context.add_inner_op(self._grad_sync)
        return self._grad_sync

    # -- saving forward values --------------------------------------------------------------------
    def add_forward_accumulator(self, value, dead_branch: bool = False):
        """Pushes ``value`` on a new stack in every forward iteration; returns the stack handle.

        Args:
            value: a tensor of the forward loop (or of a cond inside it).
            dead_branch: ``value`` is on the branch of a cond that was not
                taken (its zeros still need a shape): push from the cond's
                outer context.
        """
        graph = value.graph
        current = graph._control_flow_context
        with graph.control_dependencies(None):
            with _entered(current), graph.colocate_with(value.op):
                max_size = constant(-1, dtype=dtypes.int32)
                acc = apply_op("StackV2", max_size=max_size, elem_type=value.dtype.base_dtype, name="f_acc")
            enter_acc = self.forward_context.add_value(acc)
            swap = self.forward_context.swap_memory
            value_ctxt = output_context(value.op)
            if value_ctxt is self.forward_context:
                with self.forward_context:
                    push = apply_op("StackPushV2", handle=enter_acc, elem=value, swap_memory=swap)
                self.forward_index.op._add_control_input(push.op)
            else:
                if value_ctxt is None or not value_ctxt.is_cond_context():
                    raise TypeError(f"value_ctxt is not a CondContext: {value_ctxt}")
                if dead_branch:
                    with value_ctxt.outer_context:
                        push = apply_op("StackPushV2", handle=enter_acc, elem=value, swap_memory=swap)
                    push.op._control_flow_context = value_ctxt
                else:
                    with value_ctxt:
                        push = apply_op("StackPushV2", handle=enter_acc, elem=value, swap_memory=swap)
                self.forward_sync._add_control_input(push.op)
            push.op._add_control_input(self.forward_index.op.inputs[0].op)
        return acc

    def add_backprop_accumulated_value(self, history_value, value, dead_branch: bool = False):
        """Pops ``value``'s saved copy (from stack ``history_value``) in the gradient loop.

        A value inside a cond is popped only on the iterations where its
        branch ran (a Switch on the saved predicate guards the pop).
        """
        history_ctxt = op_context(history_value.op)
        cond_ctxt = None
        value_ctxt = op_context(value.op)
        while value_ctxt is not None and value_ctxt is not history_ctxt:
            if value_ctxt.is_cond_context():
                cond_ctxt = value_ctxt
                break
            value_ctxt = value_ctxt.outer_context
        graph = value.graph
        with graph.control_dependencies(None), self.grad_context:
            if cond_ctxt is not None:
                grad_state, pred = self, None
                while pred is None and grad_state is not None:
                    pred = grad_state.history_map.get(cond_ctxt.pred)
                    grad_state = grad_state.outer_grad_state
                if pred is None:
                    pred = cond_ctxt.pred
                branch = 1 - cond_ctxt.branch if dead_branch else cond_ctxt.branch
                history_value = switch(history_value, pred)[branch]
            pop = apply_op("StackPopV2", handle=history_value, elem_type=value.dtype.base_dtype)
            pop.set_shape(value.shape)
        if self.grad_context.parallel_iterations > 1:
            self.grad_sync._add_control_input(pop.op)
        return pop

    def get_real_value(self, value):
        """The value of forward tensor ``value`` in the current gradient iteration (saved on first use).

        Loop invariants are read from outside the loop, constants are
        copied; anything else is pushed in the forward loop and popped here.
        Must be called with the gradient loop as the current context.
        """
        real = self.history_map.get(value)
        if real is not None:
            return real
        cur_value, cur_state, history = value, self, None
        while True:
            enter_op = loop_constant_enter(cur_value)
            if enter_op is not None:
                cur_value = enter_op.inputs[0]
                cur_state = cur_state.outer_grad_state
                if cur_state is None:
                    real = self.grad_context.add_value(cur_value)
                    break
            elif cur_value.op.type == "Const":
                real = constant(constant_value(cur_value), dtype=cur_value.dtype.base_dtype)
                break
            else:
                self.grad_context.exit()
                history = cur_state.add_forward_accumulator(cur_value)
                self.grad_context.enter()
                break
        if real is None:
            real = cur_state.add_backprop_accumulated_value(history, cur_value)
            if cur_state is not self:
                real = self.grad_context.add_value(real)
        self.history_map[value] = real
        return real

    # -- gradient of a loop invariant ------------------------------------------------------------
    def add_backprop_accumulator(self, op, grad):
        """Sums ``grad`` (the gradient of loop-invariant ``Enter`` ``op`` in one iteration) over iterations.

        Called with the gradient loop as the current context; returns the
        sum, available after the gradient loop.
        """
        grad_ctxt = self.grad_context
        grad_ctxt.exit()
        if grad.shape.is_fully_defined():
            with _entered(grad_ctxt.outer_context):
                acc = constant(0, dtype=grad.dtype.base_dtype, shape=grad.shape.as_list(), name="b_acc")
        else:
            acc = self._zeros_shaped_like_invariant(op.inputs[0], grad.dtype.base_dtype)
        grad_ctxt.enter()
        grad_ctxt.add_name(acc)
        enter_acc = enter(acc, grad_ctxt.name, is_constant=False, parallel_iterations=grad_ctxt.parallel_iterations,
                          name="b_acc")  # fmt: skip
        grad_ctxt.loop_enters.append(enter_acc)
        merge_acc = merge([enter_acc, enter_acc], name="b_acc")[0]
        switch_false, switch_true = switch(merge_acc, grad_ctxt.pivot)
        add_acc = apply_op("AddV2", x=switch_true, y=grad, name="Add")
        update_input(merge_acc.op, 1, next_iteration(add_acc))
        result = exit_op(switch_false, name="b_acc")
        grad_ctxt.loop_exits.append(result)
        grad_ctxt.exit_result([result])
        return result

    def _zeros_shaped_like_invariant(self, value, dtype):
        # The sum starts at zeros of the invariant's run-time shape (needed if the loop never runs).
        grad_ctxt = self.grad_context
        outer = grad_ctxt.outer_context
        if outer is not None and outer.is_while_context() and outer.grad_state is not None:
            with self.forward_context.outer_context:
                zeros_shape = _shape_op(value)
            outer_state = self.outer_grad_state
            history = outer_state.add_forward_accumulator(zeros_shape)
            with outer:
                real_shape = outer_state.add_backprop_accumulated_value(history, zeros_shape)
                return array_ops.zeros(real_shape, dtype)
        with _entered(outer):
            return array_ops.zeros(_shape_op(value), dtype)


# -- the loop counters ---------------------------------------------------------------------------
def _add_forward_loop_counter(ctxt, outer_grad_state):
    """Adds ``n = 0; n += 1 per iteration`` to forward loop ``ctxt``; returns (its Exit, its NextIteration)."""
    n = constant(0, name="f_count")
    if outer_grad_state is not None:
        # The i-th run of an inner loop pushes before the (i+1)-th does.
        n.op._add_control_input(outer_grad_state.forward_index.op.inputs[0].op)
    with ctxt:
        ctxt.add_name(n)
        enter_n = enter(n, ctxt.name, is_constant=False, parallel_iterations=ctxt.parallel_iterations, name="f_count")
        ctxt.loop_enters.append(enter_n)
        merge_n = merge([enter_n, enter_n])[0]
        switch_n = switch(merge_n, ctxt.pivot)
        index = apply_op("AddV2", x=switch_n[1], y=np.int32(1), name="Add")
        next_n = next_iteration(index)
        update_input(merge_n.op, 1, next_n)
        total = exit_op(switch_n[0], name="f_count")
        ctxt.loop_exits.append(total)
        ctxt.exit_result([total])
    return total, next_n


def _add_backprop_loop_counter(ctxt, count, outer_grad_state):
    """Makes gradient loop ``ctxt`` run ``count`` times (``n >= 1; n -= 1``); returns the decrement's NextIteration."""
    one = constant(1, name="b_count")
    with ctxt:
        ctxt.add_name(count)
        enter_count = enter(count, ctxt.name, is_constant=False, parallel_iterations=ctxt.parallel_iterations,
                            name="b_count")  # fmt: skip
        ctxt.loop_enters.append(enter_count)
        merge_count = merge([enter_count, enter_count])[0]
        ctxt.pivot_for_pred = merge_count
        pred = apply_op("GreaterEqual", x=merge_count, y=one, name="GreaterEqual")
        ctxt.pivot = loop_cond(pred, name="b_count")
        switch_count = switch(merge_count, ctxt.pivot)
        index = apply_op("Sub", x=switch_count[1], y=one, name="Sub")
        ctxt.pivot_for_body = index
        next_count = next_iteration(index)
        update_input(merge_count.op, 1, next_count)
        final_zero = exit_op(switch_count[0], name="b_count")
        ctxt.loop_exits.append(final_zero)
        if outer_grad_state is not None:
            # The i-th run of an inner gradient loop pops before the (i+1)-th does.
            outer_grad_state.grad_sync._add_control_input(final_zero.op)
        ctxt.exit_result([final_zero])
    return next_count


# -- the state of one tf.gradients call ----------------------------------------------------------
class ControlFlowState:
    """The ``GradLoopState`` of every forward loop one ``tf.gradients`` call differentiates through."""

    def __init__(self):
        self._map: dict = {}  # forward WhileContext -> GradLoopState

    def get_grad_state(self, op, before: bool):
        """The state whose gradient loop ``op``'s gradient is built in.

        ``before``: for aggregating the gradients of ``op``'s outputs, which
        for a loop Exit happens outside that loop.
        """
        if before and is_loop_exit(op):
            forward = _outer_while_context(op_context(op))
        else:
            forward = while_context_of(op)
        return self._map.get(forward) if forward is not None else None

    def grad_context_for(self, op, before: bool):
        """A context manager making the right gradient loop current for ``op`` (or doing nothing)."""
        grad_state = self.get_grad_state(op, before)
        return _entered(grad_state.grad_context if grad_state is not None else None)

    def add_while_context(self, op, between_list: list, between: set) -> None:
        """Creates the state of the loop Exit ``op`` belongs to; all its exits join ``between``."""
        forward = while_context_of(op)
        if forward in self._map:
            return
        outer_forward = _outer_while_context(forward)
        outer_grad_state = self._map.get(outer_forward) if outer_forward is not None else None
        grad_state = GradLoopState(forward, outer_grad_state)
        self._map[forward] = grad_state
        for loop_exit in grad_state.forward_loop_exits:
            if loop_exit.op not in between:
                between.add(loop_exit.op)
                between_list.append(loop_exit.op)

    def process_unused_loop_exits(self, pending: dict, to_ops: set) -> list:
        """The exits no y depends on, to backprop once all of a loop's exits are known (TF's rule).

        An exit with nothing pending is "unused"; if it is the last exit of
        its loop to be seen, the loop's unused exits are returned to be
        started (with zeros, or None if not differentiable).
        """
        loop_exits = []
        for grad_state in self._map.values():
            for y in grad_state.forward_loop_exits:
                if pending.get(y.op, 0) == 0:
                    grad_state.pending_exits_count -= 1
                    if y.op not in to_ops:
                        grad_state.unused_exits.append(y)
                    if grad_state.pending_exits_count == 0:
                        loop_exits.extend(grad_state.unused_exits)
            for y in grad_state.forward_context.loop_enters:
                if pending.get(y.op, 0) == 0:
                    pending[y.op] = 1
        return loop_exits

    def zeros_like_for_exit(self, val):
        """Zeros standing for the gradient of unused loop Exit ``val``."""
        dtype = val.dtype.base_dtype
        forward = op_context(val.op)
        outer_forward = _outer_while_context(forward)
        outer_grad_state = self._map.get(outer_forward) if outer_forward is not None else None
        if outer_grad_state is None:
            if val.shape.is_fully_defined():
                return array_ops.zeros(val.shape.as_list(), dtype)
            return apply_op("ZerosLike", x=val, name="zeros_like")
        if val.shape.is_fully_defined():
            with outer_grad_state.grad_context:
                return array_ops.zeros(val.shape.as_list(), dtype)
        with forward.outer_context:
            shape = _shape_op(val)
        history = outer_grad_state.add_forward_accumulator(shape)
        with outer_grad_state.grad_context:
            real_shape = outer_grad_state.add_backprop_accumulated_value(history, shape)
            return array_ops.zeros(real_shape, dtype)

    def zeros_like_in_loop(self, op, index: int):
        """Zeros for output ``index`` of ``op`` that got no gradient; built in ``op``'s gradient loop.

        A loop Switch gets None (its rule handles it). A Switch of a cond
        inside the loop gets zeros on the branch that did not run.
        """
        if is_loop_switch(op):
            return None
        grad_state = self._map.get(while_context_of(op))
        if grad_state is None:
            return zeros_like_outside_loop(op, index)
        dead_branch = is_switch(op)
        op_ctxt = op_context(op)
        val = op.outputs[index]
        dtype = val.dtype.base_dtype
        if val.shape.is_fully_defined():
            result = constant(0, dtype=dtype, shape=val.shape.as_list())
            if dead_branch:
                pred = grad_state.history_map.get(op_ctxt.pred)
                result = switch(result, pred)[1 - op_ctxt.branch]
            return result
        if dead_branch:
            with op_ctxt.outer_context:
                untaken = switch(op.inputs[0], op_ctxt.pred)[1 - op_ctxt.branch]
                zeros_shape = _shape_op(untaken)
            untaken.op._control_flow_context = op_ctxt
            zeros_shape.op._control_flow_context = op_ctxt
        else:
            with op_ctxt:
                zeros_shape = _shape_op(val)
        grad_state.grad_context.exit()
        history = grad_state.add_forward_accumulator(zeros_shape, dead_branch=dead_branch)
        grad_state.grad_context.enter()
        shape = grad_state.add_backprop_accumulated_value(history, zeros_shape, dead_branch)
        return array_ops.zeros(shape, dtype)

    def post_processing(self) -> None:
        """Closes the back edge of every gradient Merge whose loop variable did not depend on itself."""
        for grad_state in self._map.values():
            for b_merge in grad_state.switch_map.values():
                first, second = b_merge.op.inputs[0], b_merge.op.inputs[1]
                if first is not second:
                    continue
                dtype = first.dtype.base_dtype
                if first.shape.is_fully_defined():
                    with grad_state.grad_context:
                        next_grad = next_iteration(constant(0, dtype=dtype, shape=first.shape.as_list()))
                else:
                    with _entered(grad_state.grad_context.outer_context):
                        enter_grad = first.op.inputs[0]
                        zeros = array_ops.zeros(_shape_op(enter_grad), dtype)
                    with grad_state.grad_context:
                        next_grad = next_iteration(zeros)
                update_input(b_merge.op, 1, next_grad)


def maybe_create_control_flow_state(between_list: list, between: set):
    """A ``ControlFlowState`` if a loop Exit lies between xs and ys, else None (may extend ``between``)."""
    state = None
    for op in between_list:
        if is_loop_exit(op):
            if state is None:
                state = ControlFlowState()
            state.add_while_context(op, between_list, between)
    return state


def zeros_like_outside_loop(op, index: int):
    """Zeros for output ``index`` of ``op`` (no gradient reached it), outside any gradient loop.

    For a cond's Switch, the zeros live on the untaken side, so that the
    gradient ``Merge`` of the Switch always has one live input.
    """
    val = op.outputs[index]
    op_ctxt = op_context(op)
    if not is_switch(op) or op_ctxt is None or not op_ctxt.is_cond_context():
        if val.shape.is_fully_defined():
            return array_ops.zeros(val.shape.as_list(), val.dtype.base_dtype)
        return apply_op("ZerosLike", x=val, name="zeros_like")
    untaken = switch(op.inputs[0], op_ctxt.pred)[1 - op_ctxt.branch]
    pivot = array_ops.identity(untaken)
    zeros_shape = _shape_op(untaken)
    with val.graph.control_dependencies([pivot]):
        return array_ops.zeros(zeros_shape, val.dtype.base_dtype)

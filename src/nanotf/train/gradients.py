"""``tf.gradients``: symbolic reverse-mode differentiation over a graph.

The driver walks the ops between ``xs`` and ``ys`` backwards in an order where
every op is visited after all of its differentiated consumers, so each op's
output gradients are complete (summed with ``AddN`` when several paths meet)
before its rule runs. Rules live next to their ops (see
``ops/gradient_util.py`` for the contract); the driver only schedules them,
aggregates, fills zeros for outputs without a gradient, and gates the input
gradients of one op with ``tuple`` when asked (as TF's optimizers do).

Through TF1 control flow the gradient graph is control flow too: a cond's
gradient is built from Switch/Merge rules, a while loop's is a gradient
loop. The loop bookkeeping (which loop an op's gradient is built in, which
forward values are saved on stacks, which loop exits start with zeros) is in
``ops/control_flow_state.py``; the driver asks it at the points TF does.

Graph names follow TensorFlow's: everything under the ``gradients`` scope,
one ``<op name>_grad`` scope per op, ``grad_ys_<i>`` for default output
gradients, ``AddN`` for aggregation.
"""

from __future__ import annotations

import collections
import contextlib

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework import registry
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.tensor import Tensor
from nanotf.ops import control_flow_state
from nanotf.ops import control_ops
from nanotf.ops import gradient_util
from nanotf.ops.control_flow_context import is_loop_exit
from nanotf.ops.control_flow_context import is_loop_switch
from nanotf.ops.gradient_util import shape_of

__all__ = ["gradients", "AggregationMethod"]


class AggregationMethod:
    """TF's names for ways to sum gradients; nanotf always uses one ``AddN``."""

    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


def _as_tensor(x) -> Tensor:
    # Differentiate with respect to a variable's storage: the handle of a
    # resource variable, the ref tensor of a ref variable.
    if getattr(x, "_is_resource", False):
        return x.handle
    if hasattr(x, "_ref"):
        return x._ref()
    return convert_to_tensor(x)


def _as_list(values) -> list:
    if values is None:
        return []
    return list(values) if isinstance(values, (list, tuple)) else [values]


def _is_differentiable(t: Tensor) -> bool:
    base = t.dtype.base_dtype
    return base.is_floating or base.is_complex or base == dtypes.resource or base == dtypes.variant


def _reachable_from(xs) -> set:
    """Ops reachable forward from the ops of ``xs`` through differentiable tensors (as TF marks them)."""
    seen, stack = set(), [x.op for x in xs]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        for out in op.outputs:
            if _is_differentiable(out):
                stack.extend(out.consumers())
    return seen


def _between(ys, reached: set, stop_ops: set) -> list:
    """Ops on a path from some x to some y, in the order found walking back from ``ys``."""
    between, found, stack = [], set(), [y.op for y in ys]
    while stack:
        op = stack.pop()
        if op in found or op not in reached:
            continue
        found.add(op)
        between.append(op)
        if op in stop_ops:
            continue
        stack.extend(reversed([t.op for t in op.inputs]))
    return between


def _default_grad_ys(ys, grad_ys):
    grads = []
    for i, (y, g) in enumerate(zip(ys, grad_ys)):
        if g is not None:
            grads.append(convert_to_tensor(g, dtype=y.dtype.base_dtype))
            continue
        if not (y.dtype.base_dtype.is_floating or y.dtype.base_dtype.is_complex):
            raise TypeError(f"Gradients of {y.dtype.base_dtype.name} tensor {y.name} need an explicit grad_ys")
        dims = shape_of(y)
        with graph_lib.name_scope(f"grad_ys_{i}") as scope:
            one = constant(1, dtype=y.dtype.base_dtype, name="Const")
            grads.append(apply_op("Fill", dims=dims, value=one, name=scope))
    return grads


def _aggregate(grads: list):
    grads = [g for g in grads if g is not None]
    if not grads:
        return None
    if len(grads) == 1:
        return grads[0]
    return apply_op("AddN", inputs=grads, name="AddN")


def _no_gradient_error(op) -> LookupError:
    return LookupError(
        f"No gradient defined for operation '{op.name}' (op type: {op.type}). "
        "nanotf cannot differentiate through it; wrap its output in tf.stop_gradient if no gradient is needed"
    )


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False, gate_gradients=False,
              aggregation_method=None, stop_gradients=None, unconnected_gradients="none"):  # fmt: skip
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs`` (TF1 ``tf.gradients``).

    Args:
        ys: a tensor or list of tensors to differentiate.
        xs: tensors or variables to differentiate with respect to.
        grad_ys: initial gradients for ``ys`` (default: ones shaped like each y).
        name: the scope all gradient ops are created under.
        colocate_gradients_with_ops: accepted for compatibility (devices are ignored when running).
        gate_gradients: group each op's input gradients with ``tuple`` before use.
        aggregation_method: accepted for compatibility; sums always use ``AddN``.
        stop_gradients: tensors through which no gradient flows.
        unconnected_gradients: ``"none"`` (None for an unconnected x) or ``"zero"``.

    Returns:
        A list with one gradient tensor (or None) per x.

    Raises:
        LookupError: an op on the path has no gradient rule.
        TypeError: a y of an integer type without ``grad_ys``.
    """
    del colocate_gradients_with_ops, aggregation_method
    ys = [convert_to_tensor(y) for y in _as_list(ys)]
    xs = [_as_tensor(x) for x in _as_list(xs)]
    grad_ys = _as_list(grad_ys) or [None] * len(ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"grad_ys has {len(grad_ys)} entries for {len(ys)} ys")
    stop_ops = {t.op for t in (convert_to_tensor(s) for s in _as_list(stop_gradients))}
    graph = ys[0].graph
    with graph.as_default(), graph_lib.name_scope(name, "gradients", ys + xs):
        out_grads: dict = collections.defaultdict(lambda: collections.defaultdict(list))
        for y, g in zip(ys, _default_grad_ys(ys, grad_ys)):
            out_grads[y.op][y.value_index].append(g)
        between_list = _between(ys, _reachable_from(xs), stop_ops)
        between = set(between_list)
        # Loops between xs and ys get a gradient-loop state (and all their exits join `between`).
        loop_state = control_flow_state.maybe_create_control_flow_state(between_list, between)
        _Backprop(between, stop_ops, out_grads, loop_state, gate_gradients).run(ys, {x.op for x in xs})
        if loop_state is not None:
            loop_state.post_processing()
        results = []
        for x in xs:
            found = out_grads[x.op].get(x.value_index) if x.op in out_grads else None
            g = _aggregate(found or [])
            if g is None and unconnected_gradients == "zero":
                g = gradient_util.zeros_like(x)
            results.append(g)
    return results




class _Backprop:
    """One reverse sweep over ``between``: an op's rule runs once all its differentiated consumers have run.

    The order is TensorFlow's queue order. With while loops (``loop_state``)
    three things change: a loop Switch runs twice (once its Exit is done,
    and again when its body is), a loop's Exits start together once all of
    them are reached (exits no y needs get zeros, or None), and each op's
    gradient is built inside its loop's gradient loop.
    """

    def __init__(self, between: set, stop_ops: set, out_grads, loop_state, gate: bool):
        self.between, self.stop_ops, self.out_grads = between, set(stop_ops), out_grads
        self.loop_state, self.gate = loop_state, gate
        self.queue: collections.deque = collections.deque()
        self.pending: collections.Counter = collections.Counter()

    def run(self, ys, x_ops: set) -> None:
        # An x whose inputs carry no path from another x ends the walk (TF's stop ops).
        self.stop_ops |= {op for op in x_ops if not any(t.op in self.between for t in op.inputs)}
        for op in self.between:
            if op not in self.stop_ops:
                for t in op.inputs:
                    if t.op in self.between:
                        self.pending[t.op] += 1
        to_ops = set()
        for y in ys:
            if self.pending[y.op] == 0 and y.op not in to_ops and y.op in self.between:
                to_ops.add(y.op)
                self.queue.append(y.op)
        if self.loop_state is not None:
            for y in self.loop_state.process_unused_loop_exits(self.pending, to_ops):
                if _is_differentiable(y):
                    self.out_grads[y.op][y.value_index].append(self.loop_state.zeros_like_for_exit(y))
                self.queue.append(y.op)
        while self.queue:
            op = self.queue.popleft()
            self._process(op)
            self._update_pending(op)

    def _grad_context(self, op, before: bool):
        if self.loop_state is None:
            return contextlib.nullcontext()
        return self.loop_state.grad_context_for(op, before)

    def _process(self, op) -> None:
        with self._grad_context(op, before=True):
            grads_by_index = self.out_grads.get(op)
            if grads_by_index:
                for i in list(grads_by_index):
                    g = _aggregate(grads_by_index[i])
                    grads_by_index[i] = [g] if g is not None else []
        if op in self.stop_ops or not grads_by_index or not any(grads_by_index.values()):
            return
        reg = registry.lookup(op.type)
        rule = reg.grad if reg is not None else None
        if rule is registry.NOT_DIFFERENTIABLE:
            return
        if rule is None:
            raise _no_gradient_error(op)
        with self._grad_context(op, before=False):
            outs = [self._output_grad(op, i, grads_by_index) for i in range(len(op.outputs))]
            with graph_lib.name_scope(op.name + "_grad"):
                in_grads = list(rule(op, *outs))
                if len(in_grads) != len(op.inputs):
                    raise errors.InternalError(f"gradient rule of {op.type} returned {len(in_grads)} grads for "
                                               f"{len(op.inputs)} inputs (node {op.name})")  # fmt: skip
                if self.gate and sum(g is not None for g in in_grads) > 1:
                    in_grads = control_ops.tuple(in_grads)
            for index, (t, g) in enumerate(zip(op.inputs, in_grads)):
                if g is not None:
                    _check_grad_shape(op, index, t, g)
                    self.out_grads[t.op][t.value_index].append(g)

    def _output_grad(self, op, index: int, grads_by_index):
        """The gradient of output ``index``; zeros where a differentiable output got none.

        A resource handle gets no zeros (nanotf cannot tell its variable's
        shape from the handle); rules see None there, as TF's do.
        """
        found = grads_by_index.get(index)
        if found:
            return found[0]
        out = op.outputs[index]
        if not _is_differentiable(out) or out.dtype.base_dtype == dtypes.resource:
            return None
        if self.loop_state is not None:
            return self.loop_state.zeros_like_in_loop(op, index)
        return control_flow_state.zeros_like_outside_loop(op, index)

    def _update_pending(self, op) -> None:
        if op in self.stop_ops:
            return
        for t in op.inputs:
            # Ops outside `between` go below zero and never run, except a loop's Enters, which
            # process_unused_loop_exits primed so that every loop variable's gradient leaves its loop.
            x = t.op
            self.pending[x] -= 1
            ready = self.pending[x] == 0
            if not ready and self.loop_state is not None:
                ready = self.pending[x] > 0 and is_loop_switch(x)
            if ready and is_loop_exit(x):
                self._reach_exit(t)
            elif ready:
                self.queue.append(x)

    def _reach_exit(self, t) -> None:
        # A loop's exits start together, once the last of them is reached.
        grad_state = self.loop_state.get_grad_state(t.op, before=False)
        grad_state.deferred_exits.append(t)
        grad_state.pending_exits_count -= 1
        if grad_state.pending_exits_count:
            return
        has_real_grad = False
        for y in grad_state.deferred_exits:
            if any(self.out_grads.get(y.op, {}).values()):
                has_real_grad = True
                self.queue.append(y.op)
            else:
                grad_state.unused_exits.append(y)
        for y in grad_state.unused_exits:
            if has_real_grad and _is_differentiable(y):
                self.out_grads[y.op][y.value_index].append(self.loop_state.zeros_like_for_exit(y))
            self.queue.append(y.op)


def _check_grad_shape(op, index: int, t: Tensor, g: Tensor) -> None:
    if t.dtype.base_dtype == dtypes.resource:
        return
    try:
        g.set_shape(t.shape)
    except ValueError:
        raise ValueError(f"Incompatible shapes between op input and calculated input gradient. Forward operation: "
                         f"{op.name}. Input index: {index}. Original input shape: {t.shape}. Calculated input "
                         f"gradient shape: {g.shape}") from None

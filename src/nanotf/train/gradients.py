"""``tf.gradients``: symbolic reverse-mode differentiation over a graph.

The driver walks the ops between ``xs`` and ``ys`` backwards in an order where
every op is visited after all of its differentiated consumers, so each op's
output gradients are complete (summed with ``AddN`` when several paths meet)
before its rule runs. Rules live next to their ops (see
``ops/gradient_util.py`` for the contract); the driver only schedules them,
aggregates, fills zeros for outputs without a gradient, and gates the input
gradients of one op with ``tuple`` when asked (as TF's optimizers do).

Graph names follow TensorFlow's: everything under the ``gradients`` scope,
one ``<op name>_grad`` scope per op, ``grad_ys_<i>`` for default output
gradients, ``AddN`` for aggregation.
"""

from __future__ import annotations

import collections

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework import registry
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.tensor import Tensor
from nanotf.ops import control_ops
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
    """Ops reachable forward (through data edges) from the ops of ``xs``."""
    seen, stack = set(), [x.op for x in xs]
    while stack:
        op = stack.pop()
        if op in seen:
            continue
        seen.add(op)
        for out in op.outputs:
            stack.extend(out.consumers())
    return seen


def _between(ys, reached: set, stop_ops: set) -> set:
    """Ops on a data path from some x to some y (backwards from ``ys`` inside ``reached``)."""
    between, stack = set(), [y.op for y in ys]
    while stack:
        op = stack.pop()
        if op in between or op not in reached:
            continue
        between.add(op)
        if op in stop_ops:
            continue
        stack.extend(t.op for t in op.inputs)
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


def _zeros_like(t: Tensor) -> Tensor:
    if t.shape.is_fully_defined():
        with graph_lib.name_scope("zeros") as scope:
            return constant(0, dtype=t.dtype.base_dtype, shape=t.shape.as_list(), name=scope)
    return apply_op("ZerosLike", x=t, name="zeros_like")


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
        between = _between(ys, _reachable_from(xs), stop_ops)
        out_grads: dict = collections.defaultdict(lambda: collections.defaultdict(list))
        for y, g in zip(ys, _default_grad_ys(ys, grad_ys)):
            out_grads[y.op][y.value_index].append(g)
        _backprop(between, stop_ops, out_grads, {x.op for x in xs}, gate_gradients)
        results = []
        for x in xs:
            found = out_grads[x.op].get(x.value_index) if x.op in out_grads else None
            g = _aggregate(found or [])
            if g is None and unconnected_gradients == "zero":
                g = _zeros_like(x)
            results.append(g)
    return results


def _pending_counts(between: set, stop_ops: set) -> dict:
    # How many differentiated consumers each op waits for before its rule can run.
    pending = collections.Counter()
    for op in between:
        if op in stop_ops:
            continue
        for t in op.inputs:
            if t.op in between:
                pending[t.op] += 1
    return pending


def _backprop(between: set, stop_ops: set, out_grads, x_ops: set, gate: bool) -> None:
    # An x whose inputs carry no path from another x ends the walk (TF's stop ops).
    stop_ops = stop_ops | {op for op in x_ops if not any(t.op in between for t in op.inputs)}
    pending = _pending_counts(between, stop_ops)
    queue = collections.deque(sorted((op for op in between if pending[op] == 0), key=lambda op: op._id))
    while queue:
        op = queue.popleft()
        grads_by_index = out_grads.get(op)
        if grads_by_index:
            for i in list(grads_by_index):
                g = _aggregate(grads_by_index[i])
                grads_by_index[i] = [g] if g is not None else []
        if op in stop_ops:
            continue
        if grads_by_index and any(grads_by_index.values()):
            _apply_rule(op, grads_by_index, out_grads, gate)
        for t in op.inputs:
            if t.op in between:
                pending[t.op] -= 1
                if pending[t.op] == 0:
                    queue.append(t.op)


def _apply_rule(op, grads_by_index, out_grads, gate: bool) -> None:
    reg = registry.lookup(op.type)
    rule = reg.grad if reg is not None else None
    if rule is registry.NOT_DIFFERENTIABLE:
        return
    if rule is None:
        raise _no_gradient_error(op)
    with graph_lib.name_scope(op.name + "_grad"):
        outs = []
        for i, t in enumerate(op.outputs):
            g = grads_by_index[i][0] if grads_by_index.get(i) else None
            if g is None and _is_differentiable(t):
                g = _zeros_like(t)
            outs.append(g)
        in_grads = list(rule(op, *outs))
        if len(in_grads) != len(op.inputs):
            raise errors.InternalError(
                f"gradient rule of {op.type} returned {len(in_grads)} grads for {len(op.inputs)} inputs (node {op.name})"
            )
        if gate and sum(g is not None for g in in_grads) > 1:
            in_grads = control_ops.tuple(in_grads)
    for t, g in zip(op.inputs, in_grads):
        if g is not None:
            out_grads[t.op][t.value_index].append(g)

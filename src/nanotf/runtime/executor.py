"""Runs a pruned subgraph: plan once per (fetches, feeds, targets), then execute steps.

A ``Plan`` is built by walking back from the fetched tensors and target ops
through data and control inputs, stopping at fed tensors, then ordering the
needed ops topologically (Kahn's algorithm, ties by creation order). Each step
holds the kernel, the decoded attrs, and integer slots for its inputs and
outputs, so ``run`` is a tight loop over a list. Const values are decoded once
at plan time.

Values are NumPy arrays, except a ``VariableV2`` output (a ``VariableRef``)
which is dereferenced for every consumer whose input is not ref-typed, and
resource handles (0-d object arrays).

Dead tensors (Switch/Merge) will slot in here: a ``DEAD`` sentinel value and
a registration flag for ops that accept dead inputs; ops with a dead input and
no such flag produce ``DEAD`` on every output.
"""

from __future__ import annotations

import heapq


from nanotf import errors
from nanotf.framework import registry
from nanotf.framework.attr_value import from_attr_value
from nanotf.framework.tensor_util import make_ndarray
from nanotf.runtime.variable_store import VariableRef
from nanotf.runtime.variable_store import VariableStore

__all__ = ["Plan", "Executor"]


class _KernelContext:
    """What a stateful kernel sees: its op name, the variable store, its random stream."""

    __slots__ = ("name", "store")

    def __init__(self, name: str, store: VariableStore):
        self.name = name
        self.store = store

    def random_stream(self, seed: int, seed2: int):
        return self.store.random_stream(self.name, seed, seed2)


class _Step:
    __slots__ = ("op", "kernel", "attrs", "inputs", "deref", "outputs", "ctx", "const")

    def __init__(self, op, kernel, attrs, inputs, deref, outputs, ctx, const):
        self.op, self.kernel, self.attrs = op, kernel, attrs
        self.inputs, self.deref, self.outputs, self.ctx, self.const = inputs, deref, outputs, ctx, const


class Plan:
    """The ordered steps for one signature of ``run`` (see module docstring)."""

    def __init__(self, steps, n_slots, feed_slots, fetch_slots):
        self.steps = steps
        self.n_slots = n_slots
        self.feed_slots = feed_slots
        self.fetch_slots = fetch_slots


def _flat_input_is_ref(op) -> list:
    """For each flat input of ``op``: does the OpDef take it by reference?"""
    flags = []
    for arg in op.op_def.input_arg:
        if arg.number_attr:
            n = op._attrs[arg.number_attr].i
        elif arg.type_list_attr:
            n = len(op._attrs[arg.type_list_attr].list.type)
        else:
            n = 1
        flags.extend([arg.is_ref] * n)
    return flags


def _needed_ops(fetches, targets, feeds) -> set:
    needed = set()
    stack = [t.op for t in fetches if t not in feeds] + list(targets)
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        needed.add(op)
        stack.extend(t.op for t in op._inputs if t not in feeds)
        stack.extend(op._control_inputs)
    return needed


def _topological(needed: set, feeds) -> list:
    indegree = {}
    users = {op: [] for op in needed}
    for op in needed:
        deps = {t.op for t in op._inputs if t not in feeds and t.op in needed}
        deps.update(c for c in op._control_inputs if c in needed)
        indegree[op] = len(deps)
        for d in deps:
            users[d].append(op)
    ready = [(op._id, op) for op, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, op = heapq.heappop(ready)
        order.append(op)
        for user in users[op]:
            indegree[user] -= 1
            if indegree[user] == 0:
                heapq.heappush(ready, (user._id, user))
    if len(order) != len(needed):
        stuck = sorted(op.name for op, n in indegree.items() if n > 0)[:5]
        raise errors.InvalidArgumentError(f"Graph has a cycle (without control flow) through {stuck}")
    return order


class Executor:
    """Builds and runs plans over one graph for one variable store."""

    def __init__(self, graph, store: VariableStore):
        self._graph = graph
        self._store = store

    def plan(self, fetches, targets, feeds) -> Plan:
        """Builds the plan for fetch tensors, target ops and fed tensors (all of this graph)."""
        feed_set = set(feeds)
        order = _topological(_needed_ops(fetches, targets, feed_set), feed_set)
        slots: dict = {}

        def slot(t):
            s = slots.get(t)
            if s is None:
                s = slots[t] = len(slots)
            return s

        feed_slots = [slot(t) for t in feeds]
        steps = []
        for op in order:
            reg = registry.get(op.type)
            if reg.kernel is None:
                raise errors.UnimplementedError(f"nanotf has no kernel for op type {op.type} (node {op.name})")
            attrs = {k: from_attr_value(v) for k, v in op._attrs.items() if not k.startswith("_")}
            is_ref = _flat_input_is_ref(op)
            inputs = [slot(t) for t in op._inputs]
            deref = [t.dtype.is_ref_dtype and not r for t, r in zip(op._inputs, is_ref)]
            outputs = [slot(t) for t in op._outputs]
            ctx = _KernelContext(op.name, self._store) if reg.uses_store else None
            const = None
            if op.type == "Const":
                const = make_ndarray(op._attrs["value"].tensor)
                const.flags.writeable = False
            steps.append(_Step(op, reg.kernel, attrs, inputs, deref if any(deref) else None, outputs, ctx, const))
        fetch_slots = [slot(t) for t in fetches]
        return Plan(steps, len(slots), feed_slots, fetch_slots)

    def run(self, plan: Plan, feed_values) -> list:
        """Executes ``plan`` with values for its feeds; returns the fetched values."""
        values = [None] * plan.n_slots
        for s, v in zip(plan.feed_slots, feed_values):
            values[s] = v
        for step in plan.steps:
            if step.const is not None:
                values[step.outputs[0]] = step.const
                continue
            args = [values[i] for i in step.inputs]
            if step.deref is not None:
                args = [a.read() if d else a for a, d in zip(args, step.deref)]
            try:
                if step.ctx is not None:
                    out = step.kernel(step.ctx, step.attrs, *args)
                else:
                    out = step.kernel(step.attrs, *args)
            except errors.OpError as err:
                if err.op is None:
                    err.op = step.op
                raise
            except (ValueError, TypeError, IndexError, ArithmeticError) as err:
                raise errors.InvalidArgumentError(
                    None, step.op, f"{err} (node {step.op.name}, op {step.op.type})"
                ) from err
            outs = step.outputs
            if len(outs) == 1:
                values[outs[0]] = out
            elif outs:
                for s, v in zip(outs, out):
                    values[s] = v
        result = []
        for s in plan.fetch_slots:
            v = values[s]
            result.append(v.read() if isinstance(v, VariableRef) else v)
        return result

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

A plan whose ops include TF1 control flow (``Switch``/``Merge``, while-loop
frames; see ops/control_flow_ops.py) has dead tensors and cycles, so it is
run by the dataflow executor (runtime/dataflow.py) instead; every other plan
keeps the single topological pass.
"""

from __future__ import annotations

import heapq

from nanotf import errors
from nanotf.ops.control_flow_ops import CONTROL_FLOW_TYPES
from nanotf.runtime import dataflow
from nanotf.runtime.steps import call_kernel
from nanotf.runtime.steps import kernel_setup
from nanotf.runtime.steps import needed_ops
from nanotf.runtime.variable_store import VariableRef
from nanotf.runtime.variable_store import VariableStore

__all__ = ["Plan", "Executor"]


class _Step:
    __slots__ = ("op", "kernel", "attrs", "inputs", "deref", "outputs", "ctx", "const")

    def __init__(self, op, setup, inputs, outputs):
        self.op, self.kernel, self.attrs = op, setup.kernel, setup.attrs
        self.inputs, self.deref, self.outputs, self.ctx, self.const = inputs, setup.deref, outputs, setup.ctx, setup.const


class Plan:
    """The ordered steps for one signature of ``run`` (see module docstring).

    ``dataflow`` is set instead of ``steps`` for plans with control flow.
    """

    def __init__(self, steps, n_slots, feed_slots, fetch_slots, dataflow_plan=None):
        self.steps = steps
        self.n_slots = n_slots
        self.feed_slots = feed_slots
        self.fetch_slots = fetch_slots
        self.dataflow = dataflow_plan


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


def _without_unobserved(order: list, fetches, targets, feeds) -> list:
    """``order`` less the stateless ops whose outputs nothing in the plan reads.

    Such ops are reached only through control edges (e.g. the gradient for a
    first layer's input, gated by ``tuple``): they change nothing and nobody
    sees their values, so skipping them is unobservable, and running the rest
    in the same order keeps every ordering the control edges asked for.
    TensorFlow's graph optimizer drops the same ops.
    """
    live = {t.op for t in fetches} | set(targets)
    for op in reversed(order):
        reg = op._reg
        if op not in live and (reg is None or reg.op_def.is_stateful or reg.uses_store):
            live.add(op)
        if op in live:
            live.update(t.op for t in op._inputs if t not in feeds)
    return [op for op in order if op in live]


class Executor:
    """Builds and runs plans over one graph for one variable store."""

    def __init__(self, graph, store: VariableStore):
        self._graph = graph
        self._store = store

    def plan(self, fetches, targets, feeds) -> Plan:
        """Builds the plan for fetch tensors, target ops and fed tensors (all of this graph)."""
        feed_set = set(feeds)
        needed = needed_ops(fetches, targets, feed_set)
        if any(op._type in CONTROL_FLOW_TYPES for op in needed):
            return Plan(None, 0, None, None, dataflow.DataflowPlan(needed, fetches, feeds, self._store))
        order = _without_unobserved(_topological(needed, feed_set), fetches, targets, feed_set)
        slots: dict = {}

        def slot(t):
            s = slots.get(t)
            if s is None:
                s = slots[t] = len(slots)
            return s

        feed_slots = [slot(t) for t in feeds]
        steps = []
        for op in order:
            setup = kernel_setup(op, self._store)
            steps.append(_Step(op, setup, [slot(t) for t in op._inputs], [slot(t) for t in op._outputs]))
        fetch_slots = [slot(t) for t in fetches]
        return Plan(steps, len(slots), feed_slots, fetch_slots)

    def run(self, plan: Plan, feed_values) -> list:
        """Executes ``plan`` with values for its feeds; returns the fetched values."""
        if plan.dataflow is not None:
            return plan.dataflow.run(feed_values)
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
            out = call_kernel(step.op, step.kernel, step.attrs, step.ctx, args)
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

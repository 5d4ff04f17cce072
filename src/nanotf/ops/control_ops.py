"""Control ops: ``NoOp`` and ``group``.

Dead-tensor ops (``Switch``/``Merge``) will live here; the executor already
keeps a slot for them (see runtime/executor.py).
"""

from __future__ import annotations

import builtins
import contextlib

from nanotf.framework import graph as graph_lib
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op

register_op("NoOp", shape=lambda op: [], kernel=lambda attrs: (), grad=NOT_DIFFERENTIABLE)


def no_op(name=None):
    """An op that does nothing; useful as a control-dependency target."""
    g = graph_lib.get_default_graph()
    return g._create_op("NoOp", [], {}, name or "NoOp")


def group(*inputs, name=None):
    """A ``NoOp`` that runs after all ``inputs`` (ops or tensors), built as TF's ``control_flow_ops.group``.

    Inputs on one device give one NoOp on that device. Inputs on several
    devices first get one ``<name>/NoOp``, ``<name>/NoOp_1``, ... per device
    (devices sorted, '' first), and the returned NoOp depends on those.

    Args:
        *inputs: ops, tensors, or lists of them.
        name: the returned op's name (default ``group_deps``).

    Returns:
        The ``NoOp`` named ``name``.
    """
    ops = _as_ops(inputs)
    g = ops[0].graph if ops else graph_lib.get_default_graph()
    with g.as_default(), g.name_scope(name or "group_deps") as scope:
        by_device: dict = {}
        for op in ops:
            by_device.setdefault(op.device, []).append(op)
        if len(by_device) == 1:
            ((device, deps),) = by_device.items()
            return _no_op_after(g, device, deps, scope)
        per_device = [_no_op_after(g, device, by_device[device], "NoOp") for device in sorted(by_device)]
        with g.control_dependencies(per_device):
            return g._create_op("NoOp", [], {}, scope)


def _as_ops(inputs) -> list:
    ops = []
    for x in inputs:
        for y in x if isinstance(x, (list, builtins.tuple)) else [x]:
            if hasattr(y, "_as_graph_element") and not isinstance(y, (graph_lib.Tensor, graph_lib.Operation)):
                y = y._as_graph_element()
            ops.append(y.op if isinstance(y, graph_lib.Tensor) else y)
    return ops


def _no_op_after(g, device: str, deps: list, name: str):
    # TF's ops.device('') keeps the enclosing device scope, where nanotf's '' resets it.
    with g.control_dependencies(deps), g.device(device) if device else contextlib.nullcontext():
        return g._create_op("NoOp", [], {}, name)


def with_dependencies(dependencies, output_tensor, name=None):
    """``output_tensor`` passed through an ``Identity`` that runs after ``dependencies``.

    Args:
        dependencies: ops (or tensors) that must run first.
        output_tensor: the tensor to forward.
        name: the Identity's name (default ``control_dependency``).

    Returns:
        The Identity's output, colocated with ``output_tensor``.
    """
    g = output_tensor.graph
    with g.as_default(), g.name_scope(name or "control_dependency") as scope:
        with g.colocate_with(output_tensor.op), g.control_dependencies(_as_ops(dependencies)):
            return g._create_op("Identity", [output_tensor], {"T": output_tensor.dtype.base_dtype}, scope).outputs[0]


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    """The ``tensors`` (None entries kept), each available only after all of them are computed.

    Built as TF's ``tf.tuple``: one ``group_deps`` NoOp over the tensors' ops
    (and ``control_inputs``), then one ``control_dependency`` Identity per tensor.
    """
    present = [t for t in tensors if t is not None]
    if not present:
        return list(tensors)
    g = present[0].graph
    with g.as_default(), g.name_scope(name or "tuple"):
        gate = group(*[t.op for t in present], *(control_inputs or []))
        return [None if t is None else with_dependencies([gate], t) for t in tensors]

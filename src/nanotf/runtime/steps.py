"""What both executors share: pruning, per-op kernel setup, and turning kernel failures into ``OpError``.

``executor.py`` runs plans in one topological pass; ``dataflow.py`` runs
plans with control flow. Both prune the graph the same way and call kernels
the same way, so a kernel behaves identically under either.
"""

from __future__ import annotations

from nanotf import errors
from nanotf.framework import registry
from nanotf.framework.attr_value import from_attr_value
from nanotf.framework.tensor_util import make_ndarray
from nanotf.runtime.variable_store import VariableStore

__all__ = ["KernelContext", "KernelSetup", "needed_ops", "kernel_setup", "call_kernel", "invalid_argument", "NUMPY_ERRORS"]


class KernelContext:
    """What a stateful kernel sees: its op name, the variable store, its random stream."""

    __slots__ = ("name", "store")

    def __init__(self, name: str, store: VariableStore):
        self.name = name
        self.store = store

    def random_stream(self, seed: int, seed2: int):
        return self.store.random_stream(self.name, seed, seed2)


class KernelSetup:
    """One op's kernel, decoded attrs, deref flags, context and (for ``Const``) value."""

    __slots__ = ("kernel", "attrs", "deref", "ctx", "const")

    def __init__(self, kernel, attrs, deref, ctx, const):
        self.kernel, self.attrs, self.deref, self.ctx, self.const = kernel, attrs, deref, ctx, const


def needed_ops(fetches, targets, feeds) -> set:
    """The ops that fetches and targets depend on (data and control), not looking past fed tensors."""
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


def kernel_setup(op, store: VariableStore) -> KernelSetup:
    """Everything needed to call ``op``'s kernel, decoded once at plan time.

    ``deref`` is None when no input needs dereferencing, else one flag per
    input: a ref tensor (a ``VariableRef``) feeding a non-ref input is read.

    Raises:
        UnimplementedError: if the op type has no kernel.
    """
    reg = registry.get(op.type)
    if reg.kernel is None:
        raise errors.UnimplementedError(f"nanotf has no kernel for op type {op.type} (node {op.name})")
    attrs = {k: from_attr_value(v) for k, v in op._attrs.items() if not k.startswith("_")}
    is_ref = _flat_input_is_ref(op)
    deref = [t.dtype.is_ref_dtype and not r for t, r in zip(op._inputs, is_ref)]
    ctx = KernelContext(op.name, store) if reg.uses_store else None
    const = None
    if op.type == "Const":
        const = make_ndarray(op._attrs["value"].tensor)
        const.flags.writeable = False
    return KernelSetup(reg.kernel, attrs, deref if any(deref) else None, ctx, const)


def invalid_argument(err: Exception, op) -> errors.InvalidArgumentError:
    """A NumPy failure (``ValueError``, ...) in ``op``'s kernel as TF's error for bad input, naming the op."""
    return errors.InvalidArgumentError(None, op, f"{err} (node {op.name}, op {op.type})")


# What a kernel raises on bad input besides OpErrors (anything else is a nanotf bug and propagates).
NUMPY_ERRORS = (ValueError, TypeError, IndexError, ArithmeticError)


def call_kernel(op, kernel, attrs, ctx, args):
    """Runs one kernel; an OpError gets ``op`` attached, a NumPy failure becomes InvalidArgumentError naming ``op``."""
    try:
        if ctx is not None:
            return kernel(ctx, attrs, *args)
        return kernel(attrs, *args)
    except errors.OpError as err:
        if err.op is None:
            err.op = op
        raise
    except NUMPY_ERRORS as err:
        raise invalid_argument(err, op) from err

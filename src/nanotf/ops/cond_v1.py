"""``tf.cond`` as TF1 graph mode builds it: ``Switch`` ops into each branch, a ``Merge`` per output.

For ``cond(pred, true_fn, false_fn)`` under the scope ``cond``::

    cond/Switch    = Switch(pred, pred)        cond/switch_t = Identity(cond/Switch:1)
    cond/pred_id   = Identity(pred)            cond/switch_f = Identity(cond/Switch:0)
    true_fn's ops, in a CondContext(pred_id, switch_t, branch=1)
    false_fn's ops, in a CondContext(pred_id, switch_f, branch=0)
    cond/Merge     = Merge(false result, true result)   (one per output)

Inside a branch, a tensor from outside is read through ``Switch(x, pred_id)``
(``<op scope>/Switch``) and ops without inputs depend on the branch's pivot,
so only the taken branch runs; the other one is dead (runtime/dataflow.py).
A cond built outside any other cond or loop adds its two contexts to the
``cond_context`` collection (a meta graph exports them, see
control_flow_proto.py).
"""

from __future__ import annotations

from nanotf.framework import graph as graph_lib
from nanotf.framework.graph import GraphKeys
from nanotf.framework.graph import Operation
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import _nest
from nanotf.ops import array_ops
from nanotf.ops.control_flow_context import ControlFlowContext
from nanotf.ops.control_flow_context import op_in_context
from nanotf.ops.control_flow_context import update_input
from nanotf.ops.control_flow_ops import merge
from nanotf.ops.control_flow_ops import switch
from nanotf.ops.control_ops import with_dependencies
from nanotf.ops.tensor_array_ops import TensorArray

__all__ = ["CondContext", "cond"]


def _switch_ref_or_tensor(data, pred, name="Switch"):
    # TF colocates the Switch with the switched value.
    with graph_lib.get_default_graph().colocate_with(data.op):
        return switch(data, pred, name=name)


class CondContext(ControlFlowContext):
    """One branch of a cond: ``pred`` (the ``pred_id`` tensor), its ``pivot`` and ``branch`` (0 or 1)."""

    def __init__(self, pred, pivot, branch: int, name: str = "cond_text"):
        super().__init__()
        self.name = self.graph.unique_name(name)
        self.pred, self.pivot, self.branch = pred, pivot, branch
        self._values.update((pred, pivot))
        self._external_values[pred] = pred
        pivot.op._control_flow_context = self

    def is_cond_context(self) -> bool:
        return True

    @property
    def back_prop(self) -> bool:
        while_ctxt = self.get_while_context()
        return while_ctxt.back_prop if while_ctxt is not None else False

    def get_control_pivot(self):
        return self.pivot

    def add_value(self, val):
        if val in self._values:
            result = self._external_values.get(val)
            return val if result is None else result
        result = val
        self._values.add(val)
        if self.outer_context is not None:
            result = self.outer_context.add_value(val)
            self._values.add(result)
            self._external_values[result] = result
        with self.graph.control_dependencies(None):
            result = _switch_ref_or_tensor(result, self.pred)[self.branch]
            if self.outer_context is not None:
                self.outer_context.add_inner_op(result.op)
        result.op._control_flow_context = self
        # The Switch output is seen by this context and every outer one, as an op's outputs are.
        ctxt = self
        while ctxt is not None:
            ctxt._values.add(result)
            ctxt = ctxt.outer_context
        self._external_values[val] = result
        return result

    def _add_op_internal(self, op) -> None:
        if not op._inputs:
            self._remove_external_control_edges(op)
            if not any(op_in_context(c, self) for c in op._control_inputs):
                op._add_control_input(self.pivot.op)
        else:
            for index, x in enumerate(list(op._inputs)):
                real_x = self.add_value(x)
                if real_x is not x:
                    update_input(op, index, real_x)
            self._remove_external_control_edges(op)
        ctxt = self
        while ctxt is not None:
            ctxt._values.update(op._outputs)
            ctxt = ctxt.outer_context
        if self.outer_context is not None:
            self.outer_context.add_inner_op(op)

    def build_branch(self, fn):
        """Calls ``fn`` in this context; returns (its result, the flat list of branch output tensors)."""
        with self:
            original = fn()
            if original is None:
                return None, None
            result = _nest.map_structure(self._build_cond_tensor, original)
        flat = _nest.flatten(result)
        return original, flat

    def _build_cond_tensor(self, v):
        if isinstance(v, Operation):
            return with_dependencies([v], self.pivot)
        if isinstance(v, TensorArray):
            v = v.flow
        return self._process_output_tensor(convert_to_tensor(v))

    def _process_output_tensor(self, val):
        # A branch returning an outside tensor (lambda: x) returns it through its Switch.
        if val in self._values:
            external = self._external_values.get(val)
            return val if external is None else external
        self._values.add(val)
        real_val = val
        if self.outer_context is not None:
            real_val = self.outer_context.add_value(val)
            self._values.add(real_val)
            self._external_values[real_val] = real_val
        real_val = _switch_ref_or_tensor(real_val, self.pred)[self.branch]
        self._external_values[val] = real_val
        return real_val


def _unpack_if_singleton(x):
    return x[0] if isinstance(x, (list, tuple)) and len(x) == 1 else x


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``, built as TF1's ``tf.cond`` (see module docstring).

    Args:
        pred: a scalar bool tensor (not a Python bool).
        true_fn, false_fn: callables returning the same structure of tensors
            (or values convertible to tensors, or ops).
        strict: keep singleton lists/tuples instead of unpacking them.
        name: the name scope (default ``cond``).

    Returns:
        The ``Merge`` outputs in the structure ``true_fn`` returned.

    Raises:
        TypeError: ``pred`` is a Python bool or a branch is not callable.
        ValueError: a branch returns None, or the branches disagree in
            structure or dtypes.
    """
    if isinstance(pred, bool):
        raise TypeError("pred must not be a Python bool")
    if not callable(true_fn):
        raise TypeError("true_fn must be callable.")
    if not callable(false_fn):
        raise TypeError("false_fn must be callable.")
    with graph_lib.name_scope(name, "cond", [pred]):
        pred = convert_to_tensor(pred)
        p_2, p_1 = switch(pred, pred)
        pivot_1 = array_ops.identity(p_1, name="switch_t")
        pivot_2 = array_ops.identity(p_2, name="switch_f")
        pred = array_ops.identity(pred, name="pred_id")
        context_t = CondContext(pred, pivot_1, 1)
        orig_t, res_t = context_t.build_branch(true_fn)
        if orig_t is None:
            raise ValueError("'true_fn' must have a return value.")
        context_f = CondContext(pred, pivot_2, 0)
        orig_f, res_f = context_f.build_branch(false_fn)
        if orig_f is None:
            raise ValueError("'false_fn' must have a return value.")
        if not strict:
            orig_t, orig_f = _unpack_if_singleton(orig_t), _unpack_if_singleton(orig_f)
        if _structure(orig_t) != _structure(orig_f):
            raise ValueError(f"true_fn and false_fn arguments to tf.cond must have the same number, type, and "
                             f"overall structure of return values.\ntrue_fn output: {orig_t}\n"
                             f"false_fn output: {orig_f}")  # fmt: skip
        if not res_t:
            raise ValueError("'true_fn' and 'false_fn' must return at least one result.")
        for t, f in zip(res_t, res_f):
            if t.dtype.base_dtype != f.dtype.base_dtype:
                raise ValueError(f"Outputs of true_fn and false_fn must have the same type: {t.dtype.name}, "
                                 f"{f.dtype.name}")  # fmt: skip
        merges = [merge([f, t])[0] for f, t in zip(res_f, res_t)]
        if context_t.outer_context is None:
            # Nested contexts travel inside their outermost one.
            graph_lib.add_to_collection(GraphKeys.COND_CONTEXT, context_t)
            graph_lib.add_to_collection(GraphKeys.COND_CONTEXT, context_f)
        merges = [_like(orig, m) for orig, m in zip(_nest.flatten(orig_t), merges)]
        merges = _nest.pack_sequence_as(orig_t, merges)
        return merges if strict else _unpack_if_singleton(merges)


def _structure(x):
    return _nest.map_structure(lambda leaf: None, x)


def _like(original, merged):
    """A TensorArray result comes back as a TensorArray over the merged flow."""
    return original.with_flow(merged) if isinstance(original, TensorArray) else merged

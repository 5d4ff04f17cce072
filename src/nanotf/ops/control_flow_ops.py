"""TF1 control-flow ops: ``Switch``/``Merge`` (cond) and ``Enter``/``Exit``/``NextIteration``/``LoopCond`` (loops).

These ops only make sense to the dataflow executor (runtime/dataflow.py),
which gives them their meaning:

* a tensor may be *dead*: its value is the ``DEAD`` sentinel. ``Switch``
  forwards ``data`` to ``output_true`` or ``output_false`` and marks the other
  dead; an op with a dead input (data or control) does not run and all its
  outputs are dead, except ``Merge``, which forwards the first live input it
  receives (and its index), and ``ControlTrigger``, which is never dead;
* ``Enter`` moves a value into the child frame ``frame_name`` (a while loop),
  into iteration 0, or, when ``is_constant``, into every iteration;
  ``NextIteration`` moves a value to the next iteration of its frame;
  ``Exit`` moves it back to the parent frame. ``LoopCond`` marks the loop
  predicate that the loop's ``Switch`` ops test.

The kernels below compute the values; the executor does the routing. The
``Ref*`` variants take and give references (a ref variable flowing through a
cond or loop) and behave the same.

Gradients mirror the ops: the gradient of a ``Switch`` is a ``Merge`` of its
two output gradients and the gradient of a ``Merge`` is a ``Switch`` of its
gradient (on the cond's predicate, or the gradient loop's ``LoopCond``); an
``Exit`` becomes an ``Enter`` of the gradient loop and an ``Enter`` an
``Exit`` (or, for a loop invariant, a sum over the gradient iterations). The
rules of loop ops run with the gradient loop as the current context and keep
their bookkeeping in its ``grad_state`` (control_flow_state.py).
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape

__all__ = ["DEAD", "SWITCH_TYPES", "MERGE_TYPES", "ENTER_TYPES", "EXIT_TYPES", "NEXT_ITERATION_TYPES",
           "CONTROL_FLOW_TYPES"]  # fmt: skip


class _Dead:
    """The value of a dead tensor: the untaken side of a ``Switch`` and everything fed by it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEAD"


DEAD = _Dead()

SWITCH_TYPES = frozenset({"Switch", "RefSwitch"})
MERGE_TYPES = frozenset({"Merge", "RefMerge"})
ENTER_TYPES = frozenset({"Enter", "RefEnter"})
EXIT_TYPES = frozenset({"Exit", "RefExit"})
NEXT_ITERATION_TYPES = frozenset({"NextIteration", "RefNextIteration"})
# A plan containing any of these needs the dataflow executor (dead tensors, frames).
CONTROL_FLOW_TYPES = SWITCH_TYPES | MERGE_TYPES | ENTER_TYPES | EXIT_TYPES | NEXT_ITERATION_TYPES | {
    "LoopCond", "ControlTrigger"}  # fmt: skip


def _scalar_pred(pred, what: str) -> bool:
    pred = np.asarray(pred)
    if pred.ndim != 0:
        raise errors.InvalidArgumentError(f"{what} must be a scalar, but it has shape {list(pred.shape)}")
    return bool(pred)


# -- Switch ---------------------------------------------------------------------------
def _switch(attrs, data, pred):
    if _scalar_pred(pred, "The second input"):
        return DEAD, data
    return data, DEAD


def _switch_shape(op):
    return [op.inputs[0].shape, op.inputs[0].shape]


def _switch_grad(op, grad_false, grad_true):
    op_ctxt = getattr(op, "_control_flow_context", None)
    grad_ctxt = op.graph._control_flow_context
    if op_ctxt is not None and op_ctxt.is_while_context():
        return _loop_switch_grad(op, grad_ctxt.grad_state, grad_false, grad_true)
    if op_ctxt is not None and op_ctxt.is_cond_context():
        # The driver gave the untaken side zeros (live exactly when this side is dead).
        taken = (grad_false, grad_true)[op_ctxt.branch]
        if (grad_false, grad_true)[1 - op_ctxt.branch] is None:
            if op.inputs[0].dtype.base_dtype == dtypes.resource and taken is not None:
                # A variable's handle has no zeros: the Merge forwards the branch's gradient when it runs.
                return merge([taken, taken], name="cond_resource_grad")[0], None
            return None, None
        return merge([grad_false, grad_true], name="cond_grad")[0], None
    false_grad = switch(grad_false, op.inputs[1])[0]
    true_grad = switch(grad_true, op.inputs[1])[1]
    return merge([false_grad, true_grad])[0], None


def _loop_switch_grad(op, grad_state, grad_false, grad_true):
    # A loop Switch is visited twice: first from its Exit (grad_false), making the gradient loop's
    # Merge; then from the body (grad_true), which becomes that Merge's back edge.
    merge_grad = grad_state.switch_map.get(op)
    if merge_grad is not None:
        if grad_true is not None:
            from nanotf.ops.control_flow_context import update_input  # that module imports this one

            update_input(merge_grad.op, 1, next_iteration(grad_true))
        return None, None
    if grad_false is None:
        return None, None
    merge_grad = merge([grad_false, grad_false], name="b_switch")[0]
    grad_state.switch_map[op] = merge_grad
    return merge_grad, None


register_op("Switch", ["data: T", "pred: bool"], ["output_false: T", "output_true: T"], ["T: type"],
            shape=_switch_shape, kernel=_switch, grad=_switch_grad)  # fmt: skip
register_op("RefSwitch", ["data: Ref(T)", "pred: bool"], ["output_false: Ref(T)", "output_true: Ref(T)"],
            ["T: type"], shape=_switch_shape, kernel=_switch, allows_uninitialized_input=True,
            grad=_switch_grad)  # fmt: skip


# -- Merge ------------------------------------------------------------------------------
def _merge(attrs, *inputs):
    # The executor passes the one live input it forwards and DEAD for the others.
    for i, value in enumerate(inputs):
        if value is not DEAD:
            return value, np.array(i, dtype=np.int32)
    raise errors.InternalError("Merge ran without a live input")


def merged_shape(shapes) -> TensorShape:
    """The static shape of a ``Merge`` of tensors of ``shapes``: dims that differ become unknown."""
    out = shapes[0]
    if out.ndims is None:
        return TensorShape(None)
    dims = list(out.as_list())
    for shape in shapes[1:]:
        if shape.ndims != len(dims):
            return TensorShape(None)
        dims = [d if d == e else None for d, e in zip(dims, shape.as_list())]
    return TensorShape(dims)


def _merge_shape(op):
    return [merged_shape([t.shape for t in op.inputs]), TensorShape([])]


def _merge_grad(op, grad, _):
    from nanotf.ops.control_flow_context import output_context  # that module imports this one

    op_ctxt = output_context(op.inputs[0].op)
    grad_ctxt = op.graph._control_flow_context
    if op_ctxt is not None and op_ctxt.is_while_context():
        # Enter input: the gradient leaving the gradient loop; NextIteration input: the next iteration's.
        return list(_colocated_switch(grad, grad_ctxt.pivot))
    if op_ctxt is not None and op_ctxt.is_cond_context():
        pred = op_ctxt.pred
        grad_state = grad_ctxt.grad_state if grad_ctxt is not None else None
        if grad_state is not None:
            pred = _saved_predicate(grad_state, pred)
        return list(_colocated_switch(grad, pred, name="cond_grad"))
    taken = [_apply("Equal", "Equal", x=op.outputs[1], y=np.int32(i)) for i in range(len(op.inputs))]
    return [switch(grad, t)[1] for t in taken]


def _colocated_switch(data, pred, name="Switch"):
    with data.graph.colocate_with(data.op):
        return switch(data, pred, name=name)


def _saved_predicate(grad_state, pred):
    """A cond inside a loop: its predicate of the matching forward iteration, saved on a stack."""
    real_pred = grad_state.history_map.get(pred)
    if real_pred is None:
        grad_ctxt = grad_state.grad_context
        grad_ctxt.exit()
        history = grad_state.add_forward_accumulator(pred)
        grad_ctxt.enter()
        real_pred = grad_state.add_backprop_accumulated_value(history, pred)
        grad_state.history_map[pred] = real_pred
    return real_pred


register_op("Merge", ["inputs: N * T"], ["output: T", "value_index: int32"], ["T: type", "N: int >= 1"],
            shape=_merge_shape, kernel=_merge, grad=_merge_grad)  # fmt: skip
register_op("RefMerge", ["inputs: N * Ref(T)"], ["output: Ref(T)", "value_index: int32"],
            ["T: type", "N: int >= 1"], shape=_merge_shape, kernel=_merge, grad=_merge_grad)  # fmt: skip


# -- frames: Enter, Exit, NextIteration, LoopCond ------------------------------------------
def _forward(attrs, data):
    return data


def _enter_shape(op):
    # As TF: only a loop-invariant Enter keeps its input's shape; the while-loop
    # builder sets the shape of the loop-variable Enters itself.
    return [op.inputs[0].shape if op.get_attr("is_constant") else TensorShape(None)]


def _same_shape(op):
    return [op.inputs[0].shape]


def _enter_grad(op, grad):
    grad_ctxt = op.graph._control_flow_context
    if grad_ctxt is None or not grad_ctxt.back_prop or grad_ctxt.grad_state is None:
        return [grad]
    if op.get_attr("is_constant"):
        return [grad_ctxt.grad_state.add_backprop_accumulator(op, grad)]
    result = exit(grad)
    grad_ctxt.loop_exits.append(result)
    grad_ctxt.exit_result([result])
    return [result]


def _exit_grad(op, grad):
    grad_ctxt = op.graph._control_flow_context
    if not grad_ctxt.back_prop:
        return [None]  # the loop was built with back_prop=False
    if op._control_flow_context.grad_state is not None:
        raise TypeError("Second-order gradient for while loops not supported.")
    grad_ctxt.add_name(grad)
    with grad_ctxt:
        result = enter(grad, grad_ctxt.name, is_constant=False, parallel_iterations=grad_ctxt.parallel_iterations,
                       name="b_exit")  # fmt: skip
    grad_ctxt.loop_enters.append(result)
    return [result]


def _next_iteration_grad(op, grad):
    # The gradient loop's own NextIteration is added by the loop Switch's rule.
    return [grad]


_ENTER_ATTRS = ["T: type", "frame_name: string", "is_constant: bool = false", "parallel_iterations: int = 10"]
register_op("Enter", ["data: T"], ["output: T"], _ENTER_ATTRS, shape=_enter_shape, kernel=_forward, grad=_enter_grad)
register_op("RefEnter", ["data: Ref(T)"], ["output: Ref(T)"], _ENTER_ATTRS, shape=_enter_shape, kernel=_forward,
            grad=_enter_grad)  # fmt: skip
register_op("Exit", ["data: T"], ["output: T"], ["T: type"], shape=_same_shape, kernel=_forward, grad=_exit_grad)
register_op("RefExit", ["data: Ref(T)"], ["output: Ref(T)"], ["T: type"], shape=_same_shape, kernel=_forward,
            grad=_exit_grad)  # fmt: skip
register_op("NextIteration", ["data: T"], ["output: T"], ["T: type"], shape=_same_shape, kernel=_forward,
            grad=_next_iteration_grad)  # fmt: skip
register_op("RefNextIteration", ["data: Ref(T)"], ["output: Ref(T)"], ["T: type"], shape=_same_shape,
            kernel=_forward, grad=_next_iteration_grad)  # fmt: skip


def _loop_cond(attrs, pred):
    _scalar_pred(pred, "LoopCond's input")
    return pred


register_op("LoopCond", ["input: bool"], ["output: bool"], shape=lambda op: [TensorShape([])], kernel=_loop_cond,
            grad=NOT_DIFFERENTIABLE)  # fmt: skip
register_op("ControlTrigger", shape=lambda op: [], kernel=lambda attrs: (), grad=NOT_DIFFERENTIABLE)


# -- Assert -------------------------------------------------------------------------------
def _assert(attrs, condition, *data):
    if _scalar_pred(condition, "In[0] (the condition)"):
        return ()
    n = attrs["summarize"]
    shown = []
    for value in data:
        flat = np.asarray(value).reshape(-1)
        text = " ".join(str(v.decode() if isinstance(v, bytes) else v) for v in flat[:n])
        shown.append(f"[{text}{'...' if flat.size > n else ''}]")
    raise errors.InvalidArgumentError(f"assertion failed: {' '.join(shown)}")


register_op("Assert", ["condition: bool", "data: T"], [], ["T: list(type) >= 1", "summarize: int = 3"],
            shape=lambda op: [], kernel=_assert, is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- Python API: the low-level builders TF's cond and while_loop use ----------------------------
def _apply(op_type, name, **kwargs):
    from nanotf.framework.op_def_library import apply_op

    return apply_op(op_type, name=name, **kwargs)


def _is_ref(t) -> bool:
    return getattr(t, "dtype", None) is not None and t.dtype.is_ref_dtype


def switch(data, pred, name=None):
    """``(output_false, output_true)``: ``data`` on the side ``pred`` selects; the other side is dead.

    A ref tensor goes through ``RefSwitch`` and stays a reference.
    """
    return _apply("RefSwitch" if _is_ref(data) else "Switch", name or "Switch", data=data, pred=pred)


def merge(inputs, name=None):
    """``(output, value_index)``: the first live tensor of ``inputs`` and its position."""
    return _apply("RefMerge" if all(_is_ref(t) for t in inputs) else "Merge", name or "Merge", inputs=list(inputs))


def enter(data, frame_name, is_constant=False, parallel_iterations=10, name=None):
    """``data`` made available in the child frame ``frame_name`` (every iteration if ``is_constant``)."""
    return _apply("RefEnter" if _is_ref(data) else "Enter", name or "Enter", data=data, frame_name=frame_name,
                  is_constant=is_constant, parallel_iterations=parallel_iterations)  # fmt: skip


def exit(data, name=None):  # noqa: A001 - TF's name
    """``data`` moved from a loop frame to its parent frame."""
    return _apply("RefExit" if _is_ref(data) else "Exit", name or "Exit", data=data)


def next_iteration(data, name=None):
    """``data`` made available to the next iteration of its frame."""
    return _apply("RefNextIteration" if _is_ref(data) else "NextIteration", name or "NextIteration", data=data)


def loop_cond(pred, name=None):
    """Marks ``pred`` as the condition of the loop whose Switch ops test it."""
    return _apply("LoopCond", name or "LoopCond", input=pred)


def control_trigger(name=None):
    """A no-op that is never dead: a target for control edges inside control flow."""
    from nanotf.framework.graph import get_default_graph

    return get_default_graph()._create_op("ControlTrigger", [], {}, name or "ControlTrigger")


def Assert(condition, data, summarize=None, name=None):  # noqa: N802 - TF's name
    """An op that fails with the values of ``data`` when ``condition`` is false."""
    from nanotf.framework.op_def_library import convert_to_tensor

    data = [convert_to_tensor(d) for d in data]
    return _apply("Assert", name or "Assert", condition=condition, data=data,
                  summarize=3 if summarize is None else summarize)  # fmt: skip


__all__ += ["switch", "merge", "enter", "exit", "next_iteration", "loop_cond", "control_trigger", "Assert"]

"""Training ops: the update rules optimizers apply to variables (``ApplyAdam``, ``ResourceApplyAdam``, ...).

Each rule is written once, as a pure function of NumPy arrays in the OpDef's
input order::

    rule(attrs, var, *slots, *hyperparameters_and_grad) -> (new_var, *new_slots)

and registered twice (or four times with its sparse form):

* ``Apply<Rule>`` takes the variable and its slots by reference (``Ref(T)``)
  and outputs the variable's reference, as ``Assign`` does;
* ``ResourceApply<Rule>`` takes resource handles and has no outputs;
* ``SparseApply<Rule>`` / ``ResourceSparseApply<Rule>`` add an ``indices``
  input: the rule runs on the rows ``indices`` names (``grad`` holds one row
  per index), in index order, so a repeated index updates its row twice.

Kernels compute in the variable's dtype (float32 math for float32 variables,
as TensorFlow's kernels) and store new arrays: the variable store never
mutates an array in place, so a snapshot read earlier in the step keeps its
value. None of these ops has a gradient.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import handover
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import INDEX
from nanotf.ops._types import NUMBER
from nanotf.ops.state_ops import handle_shape

__all__: list = []

_GRAD_ARGS = ("grad", "delta")


# -- the update rules -----------------------------------------------------------------
def _gradient_descent(attrs, var, alpha, delta):
    return (var - alpha * delta,)


def _momentum(attrs, var, accum, lr, grad, momentum):
    accum = accum * momentum + grad
    if attrs["use_nesterov"]:
        return var - (grad * lr + accum * momentum * lr), accum
    return var - lr * accum, accum


def _keras_momentum(attrs, var, accum, lr, grad, momentum):
    accum = accum * momentum - grad * lr
    if attrs["use_nesterov"]:
        return var + (accum * momentum - grad * lr), accum
    return var + accum, accum


def _adam(attrs, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    # The hot path of training: each new array is computed in place, one
    # allocation per output, in TF's order of operations:
    #   m += (grad - m) * (1 - beta1);  v += (grad**2 - v) * (1 - beta2)
    #   var -= m * alpha / (sqrt(v) + epsilon)
    one = np.ones((), var.dtype)
    alpha = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    new_m = np.subtract(grad, m)
    new_m *= one - beta1
    new_m += m
    new_v = np.square(grad)
    new_v -= v
    new_v *= one - beta2
    new_v += v
    denominator = np.sqrt(new_v)
    denominator += epsilon
    if attrs["use_nesterov"]:
        step = grad * (one - beta1) + beta1 * new_m
        step *= alpha
    else:
        step = new_m * alpha
    step /= denominator
    return np.subtract(var, step, out=step), new_m, new_v


def _adagrad(attrs, var, accum, lr, grad):
    if attrs["update_slots"]:
        accum = accum + np.square(grad)
    return var - grad * lr / np.sqrt(accum), accum


def _adagrad_v2(attrs, var, accum, lr, epsilon, grad):
    if attrs["update_slots"]:
        accum = accum + np.square(grad)
    return var - grad * lr / (np.sqrt(accum) + epsilon), accum


def _rms_prop(attrs, var, ms, mom, lr, rho, momentum, epsilon, grad):
    one = np.ones((), var.dtype)
    ms = ms + (np.square(grad) - ms) * (one - rho)
    mom = mom * momentum + (grad * lr) / np.sqrt(ms + epsilon)
    return var - mom, ms, mom


def _centered_rms_prop(attrs, var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    one = np.ones((), var.dtype)
    ms = ms + (np.square(grad) - ms) * (one - rho)
    mg = mg + (grad - mg) * (one - rho)
    denominator = (ms - np.square(mg)) + epsilon
    mom = mom * momentum + (grad * lr) / np.sqrt(denominator)
    return var - mom, mg, ms, mom


# -- checks shared by every rule ----------------------------------------------------------
class _Signature:
    """Where things sit among an op's inputs: the state (variable + slots), the gradient, the indices."""

    def __init__(self, op_type: str, state: list, others: list):
        self.op_type = op_type
        self.state_names = state
        self.n_state = len(state)
        self.sparse = "indices" in others
        # Positions in the inputs after the state.
        self.indices_at = others.index("indices") if self.sparse else None
        self.grad_at = next(i for i, a in enumerate(others) if a in _GRAD_ARGS)
        self.scalars = [(i, a) for i, a in enumerate(others) if a not in _GRAD_ARGS and a != "indices"]
        # The gradient's position once ``indices`` is taken out (what the rule sees).
        self.rule_grad_at = [a for a in others if a != "indices"].index(others[self.grad_at])

    def check(self, state, rest) -> None:
        """Raises InvalidArgumentError, with TF's messages, for inputs the rule cannot take."""
        var = state[0]
        for arg, value in zip(self.state_names[1:], state[1:]):
            if value.shape != var.shape:
                raise errors.InvalidArgumentError(
                    f"var and {arg} do not have the same shape{list(var.shape)} {list(value.shape)}"
                )
        for i, arg in self.scalars:
            if np.ndim(rest[i]) != 0:
                raise errors.InvalidArgumentError(f"{arg} is not a scalar: {list(np.shape(rest[i]))}")
        grad = rest[self.grad_at]
        if not self.sparse:
            if grad.shape != var.shape:
                raise errors.InvalidArgumentError(
                    f"var and grad do not have the same shape{list(var.shape)} {list(grad.shape)}"
                )
            return
        indices = rest[self.indices_at]
        if indices.ndim != 1:
            raise errors.InvalidArgumentError(f"indices must be one-dimensional, got {list(indices.shape)}")
        if var.ndim < 1:
            raise errors.InvalidArgumentError("var must be at least 1 dimensional")
        if grad.shape[:1] != indices.shape or grad.shape[1:] != var.shape[1:]:
            raise errors.InvalidArgumentError(
                f"{self.op_type}: grad must hold one row of the variable per index: grad {list(grad.shape)}, "
                f"indices {list(indices.shape)}, var {list(var.shape)}"
            )
        bad = np.flatnonzero((indices < 0) | (indices >= var.shape[0]))
        if bad.size:
            i = int(bad[0])
            raise errors.InvalidArgumentError(f"Index {int(indices[i])} at offset {i} in indices is out of range")


def _fresh(array, state, rest):
    # A result the rule computed into new memory is handed to the store without a copy;
    # an input passed through unchanged (a slot an update left alone) is kept as it is.
    if array.flags.owndata and not any(array is x for x in (*state, *rest)):
        return handover.hand_over(array)
    return array


def _apply(rule, sig: _Signature, attrs, state, rest) -> list:
    """Runs ``rule`` on the current ``state`` arrays; returns the new ones in the variable's dtype."""
    dtype = state[0].dtype
    if not sig.sparse:
        return [_fresh(np.asarray(a, dtype), state, rest) for a in rule(attrs, *state, *rest)]
    rest = list(rest)
    indices = rest.pop(sig.indices_at)
    grads = rest[sig.rule_grad_at]
    new = [np.array(a, dtype) for a in state]
    if np.unique(indices).size == indices.size:
        rows = rule(attrs, *(a[indices] for a in new), *rest)
        for array, updated in zip(new, rows):
            array[indices] = updated
        return [handover.hand_over(a) for a in new]
    # A repeated index updates its row once per occurrence, in order.
    for i, index in enumerate(indices):
        rest[sig.rule_grad_at] = grads[i]
        rows = rule(attrs, *(a[index] for a in new), *rest)
        for array, updated in zip(new, rows):
            array[index] = updated
    return [handover.hand_over(a) for a in new]


# -- kernels and registration ------------------------------------------------------------
def _ref_kernel(rule, sig: _Signature):
    def kernel(ctx, attrs, *args):
        refs, rest = args[: sig.n_state], args[sig.n_state :]
        state = [r.read() for r in refs]
        sig.check(state, rest)
        for ref, value in zip(refs, _apply(rule, sig, attrs, state, rest)):
            ref.write(value)
        return refs[0]

    return kernel


def _resource_kernel(rule, sig: _Signature):
    def kernel(ctx, attrs, *args):
        store = ctx.store
        handles, rest = args[: sig.n_state], args[sig.n_state :]
        state = [store.read_resource(h) for h in handles]
        sig.check(state, rest)
        for handle, value in zip(handles, _apply(rule, sig, attrs, state, rest)):
            store.write_resource(handle, value)
        return ()

    return kernel


def _merged_state_shape(op, n_state, shape_of) -> TensorShape:
    shape = TensorShape(None)
    for t in op.inputs[:n_state]:
        shape = shape.merge_with(shape_of(t))
    return shape


def _register_rule(rule_name, rule, state, others, extra_attrs, sparse=False):
    """Registers ``Apply<rule_name>`` and ``ResourceApply<rule_name>`` (or their ``Sparse`` forms).

    Args:
        rule_name: e.g. ``"Adam"``.
        rule: the update rule.
        state: names of the variable and its slots, e.g. ``["var", "m", "v"]``.
        others: specs of the remaining inputs, e.g. ``["lr: T", "grad: T"]``.
        extra_attrs: attr specs after ``use_locking``.
        sparse: register the sparse pair (``others`` has ``indices``).
    """
    base = ("SparseApply" if sparse else "Apply") + rule_name
    other_names = [spec.split(":")[0].strip() for spec in others]
    attrs = [f"T: {NUMBER}"] + ([f"Tindices: {INDEX}"] if sparse else []) + ["use_locking: bool = false"] + extra_attrs
    n = len(state)
    grad_index = n + next(i for i, a in enumerate(other_names) if a in _GRAD_ARGS)

    def ref_shape(op):
        shape = _merged_state_shape(op, n, lambda t: t.shape)
        return [shape if sparse else shape.merge_with(op.inputs[grad_index].shape)]

    def resource_shape(op):
        _merged_state_shape(op, n, handle_shape)
        return []

    register_op(base, [f"{s}: Ref(T)" for s in state] + others, ["out: Ref(T)"], attrs, shape=ref_shape,
                kernel=_ref_kernel(rule, _Signature(base, state, other_names)), uses_store=True,
                grad=NOT_DIFFERENTIABLE)  # fmt: skip
    register_op("Resource" + base, [f"{s}: resource" for s in state] + others, [], attrs, shape=resource_shape,
                kernel=_resource_kernel(rule, _Signature("Resource" + base, state, other_names)), uses_store=True,
                is_stateful=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip


_NESTEROV = ["use_nesterov: bool = false"]
_UPDATE_SLOTS = ["update_slots: bool = true"]

_register_rule("GradientDescent", _gradient_descent, ["var"], ["alpha: T", "delta: T"], [])
_register_rule("Momentum", _momentum, ["var", "accum"], ["lr: T", "grad: T", "momentum: T"], _NESTEROV)
_register_rule("Momentum", _momentum, ["var", "accum"], ["lr: T", "grad: T", "indices: Tindices", "momentum: T"],
               _NESTEROV, sparse=True)  # fmt: skip
_register_rule("Adam", _adam, ["var", "m", "v"],
               ["beta1_power: T", "beta2_power: T", "lr: T", "beta1: T", "beta2: T", "epsilon: T", "grad: T"],
               _NESTEROV)  # fmt: skip
_register_rule("Adagrad", _adagrad, ["var", "accum"], ["lr: T", "grad: T"], _UPDATE_SLOTS)
_register_rule("Adagrad", _adagrad, ["var", "accum"], ["lr: T", "grad: T", "indices: Tindices"], _UPDATE_SLOTS,
               sparse=True)  # fmt: skip
_register_rule("AdagradV2", _adagrad_v2, ["var", "accum"], ["lr: T", "epsilon: T", "grad: T"], _UPDATE_SLOTS)
_register_rule("RMSProp", _rms_prop, ["var", "ms", "mom"], ["lr: T", "rho: T", "momentum: T", "epsilon: T", "grad: T"],
               [])  # fmt: skip
_register_rule("CenteredRMSProp", _centered_rms_prop, ["var", "mg", "ms", "mom"],
               ["lr: T", "rho: T", "momentum: T", "epsilon: T", "grad: T"], [])  # fmt: skip


def _register_keras_momentum():
    # Keras' SGD uses a resource-only op with its own sign convention (no ref twin exists).
    attrs = [f"T: {NUMBER}", "use_locking: bool = false"] + _NESTEROV
    sig = _Signature("ResourceApplyKerasMomentum", ["var", "accum"], ["lr", "grad", "momentum"])
    register_op("ResourceApplyKerasMomentum", ["var: resource", "accum: resource", "lr: T", "grad: T", "momentum: T"],
                [], attrs, shape=lambda op: [], uses_store=True, is_stateful=True, grad=NOT_DIFFERENTIABLE,
                kernel=_resource_kernel(_keras_momentum, sig))  # fmt: skip


_register_keras_momentum()

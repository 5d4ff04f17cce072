"""Op-table rows for the training ops (``Apply*``, ``ResourceApply*``, sparse forms) and the scatter ops.

These ops update variables, so a row's ``build`` makes one variable per
state input (the variable and its slots), initialized from the fed
placeholders, runs the op after the initializers, and returns every state
variable's value read after the op. The references are the textbook update
rules in float64, written from the formulas (m, v, accumulators, ...), not
from the kernels' arithmetic; the sparse references update one row per
index, in order, so repeated indices apply twice.
"""

import numpy as np

import nanotf as tf
from nanotf.framework import registry
from nanotf.framework.op_def_library import apply_op
from nanotf.protos import types_pb2
from tests.ops.op_table import OpCase

RNG = np.random.default_rng(11)
SHAPE = (3, 2)


def _f32(*values):
    return [np.asarray(v, np.float32) for v in values]


def _normal(shape=SHAPE):
    return RNG.standard_normal(shape)


def _positive(shape=SHAPE):
    return RNG.uniform(0.5, 2.0, shape)


def _state_count(op_def) -> int:
    return sum(a.is_ref or a.type == types_pb2.DT_RESOURCE for a in op_def.input_arg)


def _updating(op_type, **attrs):
    """``build`` for an op that updates its state inputs; returns the state values after the update."""
    op_def = registry.op_def(op_type)
    names = [a.name for a in op_def.input_arg]
    n_state = _state_count(op_def)
    resource = op_def.input_arg[0].type == types_pb2.DT_RESOURCE

    def build(*holders):
        variables = [tf.Variable(h, use_resource=resource, name=n) for h, n in zip(holders, names[:n_state])]
        with tf.control_dependencies([v.initializer for v in variables]):
            state = {n: v.handle if resource else v for n, v in zip(names, variables)}
            update = apply_op(op_type, **state, **dict(zip(names[n_state:], holders[n_state:])), **attrs)
        with tf.control_dependencies([update]):
            return [v.read_value() for v in variables]

    return build


def _pair(rule, id_, inputs, reference, sparse=False, resource_only=False, **attrs):
    """Rows for ``Apply<rule>`` and ``ResourceApply<rule>`` (``Sparse`` forms when ``sparse``)."""
    base = ("SparseApply" if sparse else "Apply") + rule
    types = ["Resource" + base] if resource_only else [base, "Resource" + base]
    return [OpCase(f"{id_}_{'resource' if t.startswith('Resource') else 'ref'}", (t,), _updating(t, **attrs), inputs,
                   reference, rtol=1e-5, atol=1e-6) for t in types]  # fmt: skip


# -- references (float64) -------------------------------------------------------------------
def ref_gd(var, alpha, delta):
    return [var - alpha * delta]


def ref_momentum(var, accum, lr, grad, momentum, nesterov=False):
    accum = momentum * accum + grad
    step = lr * (grad + momentum * accum) if nesterov else lr * accum
    return [var - step, accum]


def ref_keras_momentum(var, accum, lr, grad, momentum, nesterov=False):
    accum = momentum * accum - lr * grad
    return [var + (momentum * accum - lr * grad if nesterov else accum), accum]


def ref_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, nesterov=False):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    direction = beta1 * m + (1 - beta1) * grad if nesterov else m
    return [var - lr_t * direction / (np.sqrt(v) + epsilon), m, v]


def ref_adagrad(var, accum, lr, grad, update_slots=True):
    if update_slots:
        accum = accum + grad**2
    return [var - lr * grad / np.sqrt(accum), accum]


def ref_adagrad_v2(var, accum, lr, epsilon, grad):
    accum = accum + grad**2
    return [var - lr * grad / (np.sqrt(accum) + epsilon), accum]


def ref_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = rho * ms + (1 - rho) * grad**2
    mom = momentum * mom + lr * grad / np.sqrt(ms + epsilon)
    return [var - mom, ms, mom]


def ref_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = rho * ms + (1 - rho) * grad**2
    mg = rho * mg + (1 - rho) * grad
    mom = momentum * mom + lr * grad / np.sqrt(ms - mg**2 + epsilon)
    return [var - mom, mg, ms, mom]


def row_by_row(dense, n_state):
    """The sparse reference of ``dense``: inputs (state..., hyper..., grad rows, indices, hyper...)."""

    def reference(*inputs, indices_at, grad_at):
        state = [np.array(a, np.float64) for a in inputs[:n_state]]
        rest = list(inputs[n_state:])
        indices, grads = rest.pop(indices_at), rest[grad_at]
        for i, index in enumerate(indices):
            rest[grad_at] = grads[i]
            for array, new in zip(state, dense(*(a[index] for a in state), *rest)):
                array[index] = new
        return state

    return reference


def ref_scatter(how):
    def reference(ref, indices, updates):
        out = np.array(ref, np.float64)
        rows = np.broadcast_to(updates, indices.shape + ref.shape[1:])
        for index, row in zip(indices.reshape(-1), rows.reshape((-1,) + ref.shape[1:])):
            out[index] = {"add": out[index] + row, "sub": out[index] - row, "update": row}[how]
        return [out]

    return reference


# -- inputs -----------------------------------------------------------------------------------
LR, MOMENTUM = 0.1, 0.9
GD_IN = _f32(_normal(), LR, _normal())
MOMENTUM_IN = _f32(_normal(), _normal(), LR, _normal(), MOMENTUM)
ADAM_IN = _f32(_normal(), _normal(), _positive() * 0.1, 0.9**3, 0.999**3, 0.01, 0.9, 0.999, 1e-8, _normal())
ADAM_IN_64 = [np.float64(a) if np.ndim(a) == 0 else a.astype(np.float64) for a in ADAM_IN]
ADAGRAD_IN = _f32(_normal(), _positive(), LR, _normal())
ADAGRAD_V2_IN = _f32(_normal(), _positive(), LR, 1e-3, _normal())
RMS_IN = _f32(_normal(), _positive(), _normal(), LR, 0.9, 0.5, 1e-6, _normal())
CENTERED_IN = _f32(_normal(), RNG.uniform(-0.3, 0.3, SHAPE), _positive(), _normal(), LR, 0.9, 0.5, 1e-6, _normal())

ROWS = (5, 2)
DUPLICATES = np.array([3, 0, 3, 1], np.int32)
UNIQUE = np.array([4, 1], np.int64)
SPARSE_ADAGRAD_IN = [*_f32(_normal(ROWS), _positive(ROWS), LR, _normal((4, 2))), DUPLICATES]
SPARSE_MOMENTUM_IN = [*_f32(_normal(ROWS), _normal(ROWS), LR, _normal((2, 2))), UNIQUE, np.float32(MOMENTUM)]
SCATTER_IN = [np.float32(_normal(ROWS)), DUPLICATES, np.float32(_normal((4, 2)))]
SCATTER_SCALAR_IN = [np.float32(_normal(ROWS)), UNIQUE, np.float32(2.5)]
UPDATE_IN = [np.float32(_normal(ROWS)), UNIQUE, np.float32(_normal((2, 2)))]

sparse_adagrad = row_by_row(ref_adagrad, 2)
sparse_momentum = row_by_row(ref_momentum, 2)

CASES = [
    *_pair("GradientDescent", "gradient_descent", GD_IN, ref_gd),
    *_pair("Momentum", "momentum", MOMENTUM_IN, ref_momentum),
    *_pair("Momentum", "momentum_nesterov", MOMENTUM_IN, lambda *a: ref_momentum(*a, nesterov=True),
           use_nesterov=True),
    *_pair("KerasMomentum", "keras_momentum", MOMENTUM_IN, ref_keras_momentum, resource_only=True),
    *_pair("KerasMomentum", "keras_momentum_nesterov", MOMENTUM_IN, lambda *a: ref_keras_momentum(*a, nesterov=True),
           resource_only=True, use_nesterov=True),
    *_pair("Adam", "adam", ADAM_IN, ref_adam),
    *_pair("Adam", "adam_float64", ADAM_IN_64, ref_adam),
    *_pair("Adam", "adam_nesterov", ADAM_IN, lambda *a: ref_adam(*a, nesterov=True), use_nesterov=True),
    *_pair("Adagrad", "adagrad", ADAGRAD_IN, ref_adagrad),
    *_pair("Adagrad", "adagrad_fixed_slots", ADAGRAD_IN, lambda *a: ref_adagrad(*a, update_slots=False),
           update_slots=False),
    *_pair("AdagradV2", "adagrad_v2", ADAGRAD_V2_IN, ref_adagrad_v2),
    *_pair("RMSProp", "rms_prop", RMS_IN, ref_rms_prop),
    *_pair("CenteredRMSProp", "centered_rms_prop", CENTERED_IN, ref_centered_rms_prop),
    *_pair("Adagrad", "sparse_adagrad_repeated_indices", SPARSE_ADAGRAD_IN,
           lambda *a: sparse_adagrad(*a, indices_at=2, grad_at=1), sparse=True),
    *_pair("Momentum", "sparse_momentum_nesterov", SPARSE_MOMENTUM_IN,
           lambda *a: row_by_row(lambda *r: ref_momentum(*r, nesterov=True), 2)(*a, indices_at=2, grad_at=1),
           sparse=True, use_nesterov=True),
    *_pair("Momentum", "sparse_momentum", SPARSE_MOMENTUM_IN, lambda *a: sparse_momentum(*a, indices_at=2, grad_at=1),
           sparse=True),
]

for _how, _suffix in (("add", "Add"), ("sub", "Sub"), ("update", "Update")):
    for _type in (f"Scatter{_suffix}", f"ResourceScatter{_suffix}"):
        _inputs = UPDATE_IN if _how == "update" else SCATTER_IN
        CASES.append(OpCase(f"{_type.lower()}", (_type,), _updating(_type), _inputs, ref_scatter(_how), rtol=1e-6))
        CASES.append(OpCase(f"{_type.lower()}_scalar_update", (_type,), _updating(_type), SCATTER_SCALAR_IN,
                            ref_scatter(_how), rtol=1e-6))  # fmt: skip

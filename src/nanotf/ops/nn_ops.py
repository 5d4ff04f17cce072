"""Neural-network ops: activations and their *Grad ops, BiasAdd, softmax, cross entropies, L2Loss, InTopKV2.

Each op is one block: signature (TensorFlow's OpDef), shape function, NumPy
kernel, gradient. Activation gradients are the fused ``*Grad`` ops
TensorFlow's rules emit, fed with the op's output (Relu, Relu6, Elu, Selu)
or its input (LeakyRelu, Softsign) exactly as TensorFlow's graphs do; the
Softplus rule is ``grad * Sigmoid(x)`` as in TensorFlow 2.21. The cross
entropies compute their own backprop as a second output, and their gradient
scales it by the incoming loss gradient.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import INDEX
from nanotf.ops._types import NUMBER

_RELU_GRAD_T = "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64}"
_RELU_T = _RELU_GRAD_T[:-1] + ", qint8}"
_FLOAT_ACT = "{half, bfloat16, float, double}"
_DATA_FORMAT = "data_format: {'NHWC', 'NCHW'} = 'NHWC'"

# The SELU constants (Klambauer et al., 2017), as TensorFlow's kernel uses them.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def _same(fn):
    """A kernel applying ``fn(attrs, *arrays)`` and keeping the first input's dtype."""
    return lambda attrs, *xs: np.asarray(fn(attrs, *xs), dtype=xs[0].dtype)


def zeros_like_static(x, name="zeros_like"):
    """Zeros shaped like ``x``: a ``Const`` when the shape is static (as TF), else ``ZerosLike``."""
    if x.shape.is_fully_defined():
        return convert_to_tensor(np.zeros(x.shape.as_list(), x.dtype.base_dtype.as_numpy_dtype), name=name)
    return apply_op("ZerosLike", x=x, name=name)


# -- activations ----------------------------------------------------------------
def _activation(name, types, fn, grad_op, grad_types, grad_arg, feed, grad_fn, alpha=False):
    """Registers ``name`` and its fused ``grad_op``; the rule feeds ``grad_op`` the op's ``feed`` ("input"/"output")."""
    alpha_attr = ["alpha: float = 0.2"] if alpha else []
    default = " = DT_FLOAT" if alpha else ""
    register_op(name, ["features: T"], ["activations: T"], alpha_attr + [f"T: {types}{default}"],
                shape=common_shapes.same_as_input, kernel=_same(fn))  # fmt: skip
    register_op(grad_op, ["gradients: T", f"{grad_arg}: T"], ["backprops: T"], alpha_attr + [f"T: {grad_types}{default}"],
                shape=common_shapes.same_as_input, kernel=_same(grad_fn))  # fmt: skip

    @register_gradient(name)
    def _grad(op, grad):
        source = op.inputs[0] if feed == "input" else op.outputs[0]
        attrs = {"alpha": op.get_attr("alpha")} if alpha else {}
        return [apply_op(grad_op, gradients=grad, name=grad_op, **{grad_arg: source}, **attrs)]


# Piecewise-linear grads multiply by a mask, as TF's kernels do (a NaN gradient stays NaN).
_activation("Relu", _RELU_T, lambda a, x: np.maximum(x, 0), "ReluGrad", _RELU_GRAD_T, "features", "output",
            lambda a, g, y: g * (y > 0))  # fmt: skip
_activation("Relu6", _RELU_GRAD_T, lambda a, x: np.clip(x, 0, 6), "Relu6Grad", _RELU_GRAD_T, "features", "output",
            lambda a, g, y: g * ((y > 0) & (y < 6)))  # fmt: skip
_activation("Elu", _FLOAT_ACT, lambda a, x: np.where(x < 0, np.expm1(np.minimum(x, 0)), x),
            "EluGrad", _FLOAT_ACT, "outputs", "output", lambda a, g, y: np.where(y < 0, g * (y + 1), g))  # fmt: skip
_activation("Selu", _FLOAT_ACT,
            lambda a, x: np.where(x < 0, SELU_SCALE * SELU_ALPHA * np.expm1(np.minimum(x, 0)), SELU_SCALE * x),
            "SeluGrad", _FLOAT_ACT, "outputs", "output",
            lambda a, g, y: np.where(y < 0, g * (y + SELU_SCALE * SELU_ALPHA), g * SELU_SCALE))  # fmt: skip
_activation("LeakyRelu", _FLOAT_ACT, lambda a, x: np.where(x > 0, x, x * np.asarray(a["alpha"], x.dtype)),
            "LeakyReluGrad", _FLOAT_ACT, "features", "input",
            lambda a, g, x: np.where(x > 0, g, g * np.asarray(a["alpha"], g.dtype)), alpha=True)  # fmt: skip
_activation("Softsign", _FLOAT_ACT, lambda a, x: x / (1 + np.abs(x)), "SoftsignGrad", _FLOAT_ACT, "features", "input",
            lambda a, g, x: g / np.square(1 + np.abs(x)))  # fmt: skip

register_op("Softplus", ["features: T"], ["activations: T"], [f"T: {_FLOAT_ACT}"],
            shape=common_shapes.same_as_input, kernel=_same(lambda a, x: np.logaddexp(0, x)))  # fmt: skip
register_op("SoftplusGrad", ["gradients: T", "features: T"], ["backprops: T"], [f"T: {_FLOAT_ACT}"],
            shape=common_shapes.same_as_input,
            kernel=_same(lambda a, g, x: g * np.exp(-np.logaddexp(0, -x))))  # fmt: skip  (g * sigmoid(x), overflow-free)


@register_gradient("Softplus")
def _softplus_grad(op, grad):
    return [apply_op("Mul", x=grad, y=apply_op("Sigmoid", x=op.inputs[0], name="Sigmoid"), name="mul")]


def _piecewise_linear_grad_grad(grad_op, alpha=False):
    # The *Grad of a piecewise-linear activation is linear in its gradient
    # input and flat in the other: d/dgradients is the same *Grad again.
    def rule(op, grad):
        attrs = {"alpha": op.get_attr("alpha")} if alpha else {}
        x = op.inputs[1]
        return [apply_op(grad_op, gradients=grad, features=x, name=grad_op, **attrs), zeros_like_static(x)]

    register_gradient(grad_op)(rule)


for _op, _alpha in (("ReluGrad", False), ("Relu6Grad", False), ("LeakyReluGrad", True)):
    _piecewise_linear_grad_grad(_op, _alpha)


# -- BiasAdd ------------------------------------------------------------------------
def _channel_axis(data_format: bytes, rank: int) -> int:
    return 1 if data_format == b"NCHW" and rank >= 3 else rank - 1


def _bias_add(attrs, value, bias):
    axis = _channel_axis(attrs["data_format"], value.ndim)
    if value.ndim < 2:
        raise errors.InvalidArgumentError(f"Input tensor must be at least 2D: {list(value.shape)}")
    if value.shape[axis] != bias.shape[0]:
        raise errors.InvalidArgumentError(
            f"Must provide as many biases as the channel dimension of the input tensor: "
            f"{list(bias.shape)} vs. {list(value.shape)}"
        )
    return value + bias.reshape((-1,) + (1,) * (value.ndim - 1 - axis))


def _bias_add_grad(attrs, grad):
    axis = _channel_axis(attrs["data_format"], grad.ndim)
    return np.sum(grad, axis=tuple(i for i in range(grad.ndim) if i != axis), dtype=grad.dtype)


def _bias_add_grad_shape(op):
    shape = op.inputs[0].shape
    if shape.ndims is None:
        return [TensorShape([None])]
    return [TensorShape([shape.as_list()[_channel_axis(op.get_attr("data_format"), shape.ndims)]])]


register_op("BiasAdd", ["value: T", "bias: T"], ["output: T"], [f"T: {NUMBER}", _DATA_FORMAT],
            shape=common_shapes.same_as_input, kernel=_bias_add)  # fmt: skip
register_op("BiasAddGrad", ["out_backprop: T"], ["output: T"], [f"T: {NUMBER}", _DATA_FORMAT],
            shape=_bias_add_grad_shape, kernel=_bias_add_grad)  # fmt: skip


@register_gradient("BiasAdd")
def _bias_add_grad_rule(op, grad):
    return [grad, apply_op("BiasAddGrad", out_backprop=grad, data_format=op.get_attr("data_format"), name="BiasAddGrad")]


# -- softmax family --------------------------------------------------------------------
def _log_softmax(x):
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _needs_rank1(fn):
    def kernel(attrs, x):
        if x.ndim < 1:
            raise errors.InvalidArgumentError(f"logits must have >= 1 dimension, got {list(x.shape)}")
        return np.asarray(fn(x), dtype=x.dtype)

    return kernel


register_op("Softmax", ["logits: T"], ["softmax: T"], [f"T: {_FLOAT_ACT}"],
            shape=common_shapes.same_as_input, kernel=_needs_rank1(_softmax))  # fmt: skip
register_op("LogSoftmax", ["logits: T"], ["logsoftmax: T"], [f"T: {_FLOAT_ACT}"],
            shape=common_shapes.same_as_input, kernel=_needs_rank1(_log_softmax))  # fmt: skip


def _sum_last(x, name):
    return apply_op("Sum", input=x, reduction_indices=np.int32(-1), keep_dims=True, name=name)


@register_gradient("Softmax")
def _softmax_grad(op, grad):
    # (grad - sum(grad * softmax)) * softmax
    softmax = op.outputs[0]
    total = _sum_last(apply_op("Mul", x=grad, y=softmax, name="mul"), "Sum")
    return [apply_op("Mul", x=apply_op("Sub", x=grad, y=total, name="sub"), y=softmax, name="mul_1")]


@register_gradient("LogSoftmax")
def _log_softmax_grad(op, grad):
    # grad - sum(grad) * softmax
    softmax = apply_op("Exp", x=op.outputs[0], name="Exp")
    scaled = apply_op("Mul", x=_sum_last(grad, "Sum"), y=softmax, name="mul")
    return [apply_op("Sub", x=grad, y=scaled, name="sub")]


# -- cross entropies -------------------------------------------------------------------
def _xent_shape(op):
    # Per axis: a known size wins over an unknown one; labels may broadcast over features.
    dims = [None, None]
    for shape in (op.inputs[0].shape, op.inputs[1].shape):
        if shape.ndims is not None:
            dims = [d if s is None or (s == 1 and d is not None) else s for d, s in zip(dims, shape.with_rank(2).as_list())]
    return [TensorShape(dims[:1]), TensorShape(dims)]


def _xent(attrs, features, labels):
    if features.ndim != 2 or labels.ndim != 2:
        raise errors.InvalidArgumentError(f"logits and labels must be 2-D, got {list(features.shape)} and {list(labels.shape)}")
    features, labels = np.broadcast_arrays(features, labels)
    logp = _log_softmax(features.astype(np.float64))
    loss = -np.sum(labels * logp, axis=-1)
    backprop = np.exp(logp) - labels
    return loss.astype(features.dtype), backprop.astype(features.dtype)


def _sparse_xent_shape(op):
    features = op.inputs[0].shape.with_rank(2) if op.inputs[0].shape.ndims is not None else TensorShape([None, None])
    labels = op.inputs[1].shape.with_rank(1) if op.inputs[1].shape.ndims is not None else TensorShape([None])
    batch = TensorShape(features.as_list()[:1]).merge_with(labels)
    return [batch, TensorShape(batch.as_list() + features.as_list()[1:])]


def _sparse_xent(attrs, features, labels):
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise errors.InvalidArgumentError(
            f"logits must be 2-D and labels 1-D with the same first dimension, got {list(features.shape)} and "
            f"{list(labels.shape)}"
        )
    classes = features.shape[1]
    bad = (labels < 0) | (labels >= classes)
    if np.any(bad):
        raise errors.InvalidArgumentError(
            f"Received a label value of {labels[bad][0]} which is outside the valid range of [0, {classes}).  "
            f"Label values: {' '.join(str(v) for v in labels)}"
        )
    logp = _log_softmax(features.astype(np.float64))
    rows = np.arange(labels.shape[0])
    backprop = np.exp(logp)
    backprop[rows, labels] -= 1
    return (-logp[rows, labels]).astype(features.dtype), backprop.astype(features.dtype)


register_op("SoftmaxCrossEntropyWithLogits", ["features: T", "labels: T"], ["loss: T", "backprop: T"],
            [f"T: {_FLOAT_ACT}"], shape=_xent_shape, kernel=_xent)  # fmt: skip
register_op("SparseSoftmaxCrossEntropyWithLogits", ["features: T", "labels: Tlabels"], ["loss: T", "backprop: T"],
            [f"T: {_FLOAT_ACT}", f"Tlabels: {INDEX} = DT_INT64"], shape=_sparse_xent_shape, kernel=_sparse_xent)  # fmt: skip


def _is_zero(t) -> bool:
    # The driver's zeros for an unused output: ZerosLike, or a Const of zeros.
    if t is None or t.op.type == "ZerosLike":
        return True
    value = common_shapes.constant_value(t)
    return value is not None and not np.any(value)


def _broadcast_mul(vec, mat, suffix=""):
    """``vec[:, None] * mat`` as TF's rules write it (``ExpandDims`` then ``mul``)."""
    column = apply_op("ExpandDims", input=vec, dim=np.int32(-1), name="ExpandDims" + suffix)
    return apply_op("Mul", x=column, y=mat, name="mul" + suffix)


def _softmax_grad_grad_term(logits, grad_grad):
    # The second-order part: (gg - <gg, softmax>) * softmax, row by row.
    softmax = apply_op("Softmax", logits=logits, name="Softmax")
    gg = apply_op("ExpandDims", input=grad_grad, dim=np.int32(1), name="ExpandDims_2")
    sm = apply_op("ExpandDims", input=softmax, dim=np.int32(2), name="ExpandDims_3")
    dot = apply_op("Squeeze", input=apply_op("BatchMatMulV2", x=gg, y=sm, name="MatMul"), squeeze_dims=[1],
                   name="Squeeze")  # fmt: skip
    return apply_op("Mul", x=apply_op("Sub", x=grad_grad, y=dot, name="sub"), y=softmax, name="mul_2")


@register_gradient("SoftmaxCrossEntropyWithLogits")
def _xent_grad(op, grad_loss, grad_grad):
    logits = op.inputs[0]
    grad = _broadcast_mul(grad_loss, op.outputs[1])
    if not _is_zero(grad_grad):
        grad = apply_op("AddV2", x=grad, y=_softmax_grad_grad_term(logits, grad_grad), name="add")
    neg_log_softmax = apply_op("Neg", x=apply_op("LogSoftmax", logits=logits, name="LogSoftmax"), name="Neg")
    return [grad, _broadcast_mul(grad_loss, neg_log_softmax, "_1")]


@register_gradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_grad(op, grad_loss, grad_grad):
    grad = _broadcast_mul(grad_loss, op.outputs[1])
    if not _is_zero(grad_grad):
        grad = apply_op("AddV2", x=grad, y=_softmax_grad_grad_term(op.inputs[0], grad_grad), name="add")
    return [grad, None]


# -- L2Loss, InTopKV2 --------------------------------------------------------------------
register_op("L2Loss", ["t: T"], ["output: T"], ["T: {half, bfloat16, float, double}"],
            shape=lambda op: [TensorShape([])],
            kernel=lambda attrs, t: np.asarray(np.sum(np.square(t, dtype=np.float64)) / 2, dtype=t.dtype))  # fmt: skip


@register_gradient("L2Loss")
def _l2_loss_grad(op, grad):
    return [apply_op("Mul", x=op.inputs[0], y=grad, name="mul")]


def _in_top_k(attrs, predictions, targets, k):
    rows = np.arange(predictions.shape[0])
    valid = (targets >= 0) & (targets < predictions.shape[1])
    target_pred = predictions[rows, np.where(valid, targets, 0)]
    finite = np.isfinite(target_pred)
    better = np.sum(predictions > target_pred[:, None], axis=1)
    return valid & finite & (better < int(k))


register_op("InTopKV2", ["predictions: float", "targets: T", "k: T"], ["precision: bool"], [f"T: {INDEX} = DT_INT32"],
            shape=lambda op: [TensorShape(op.inputs[1].shape.as_list() if op.inputs[1].shape.ndims == 1 else [None])],
            kernel=_in_top_k, grad=NOT_DIFFERENTIABLE)  # fmt: skip

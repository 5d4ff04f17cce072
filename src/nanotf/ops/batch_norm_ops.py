"""Batch normalization: FusedBatchNormV3 / FusedBatchNormGradV3, and ``moments``, ``batch_normalization``, ``fused_batch_norm``.

FusedBatchNormV3 in training mode normalizes with the batch statistics and
reports them twice: ``batch_mean``/``batch_variance`` are what the moving
averages consume (the variance Bessel-corrected, ``n / (n - 1)``, and both
blended with the ``mean``/``variance`` inputs when ``exponential_avg_factor``
is below 1), while ``reserve_space_1``/``reserve_space_2`` keep the raw batch
mean and biased variance for the gradient. In inference mode it normalizes
with the given ``mean``/``variance`` and passes them through.
``reserve_space_3`` is empty, as on TensorFlow's CPU.

FusedBatchNormGradV3 takes the statistics the forward pass used
(``reserve_space_1``/``_2``; the moving statistics in inference mode) and
gives ``x_backprop``, ``scale_backprop``, ``offset_backprop``.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops import math_ops

_FORMATS = "data_format: {'NHWC', 'NCHW', 'NDHWC', 'NCDHW'} = 'NHWC'"
# TF's REGISTER_OP writes the default as the float literal 0.0001f.
_EPSILON = "epsilon: float = 0.0001"


def _channel_axis(data_format, rank: int) -> int:
    fmt = data_format.decode() if isinstance(data_format, bytes) else data_format
    return 1 if fmt.startswith("NC") else rank - 1


def _stats_shape(x, axis):
    """``[1, C, 1, 1]`` or ``[1, 1, 1, C]``: a per-channel vector broadcast against ``x``."""
    return tuple(-1 if i == axis else 1 for i in range(x.ndim))


def _fused_batch_norm(attrs, x, scale, offset, mean, variance):
    if x.ndim not in (4, 5):
        raise errors.InvalidArgumentError(f"input must be 4 or 5-dimensional, got {list(x.shape)}")
    axis = _channel_axis(attrs["data_format"], x.ndim)
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape, eps, u = _stats_shape(x, axis), attrs["epsilon"], scale.dtype
    xf = x.astype(np.float64)
    if attrs["is_training"]:
        batch_mean, batch_var = np.mean(xf, axis=axes), np.var(xf, axis=axes)
        n = x.size // max(x.shape[axis], 1)
        corrected = batch_var * n / max(n - 1, 1)
        factor = attrs["exponential_avg_factor"]
        if factor != 1.0:
            batch_mean_out = (1 - factor) * mean + factor * batch_mean
            corrected = (1 - factor) * variance + factor * corrected
        else:
            batch_mean_out = batch_mean
        used_mean, used_var = batch_mean, batch_var
        outs = (batch_mean_out, corrected, batch_mean, batch_var)
    else:
        used_mean, used_var = mean.astype(np.float64), variance.astype(np.float64)
        outs = (mean, variance, mean, variance)
    inv = 1.0 / np.sqrt(used_var + eps)
    y = (xf - used_mean.reshape(shape)) * (inv * scale).reshape(shape) + offset.reshape(shape)
    return (y.astype(x.dtype),) + tuple(np.asarray(o, dtype=u) for o in outs) + (np.zeros((0,), u),)


def _fused_batch_norm_grad(attrs, dy, x, scale, mean, variance, reserve_space_3):
    axis = _channel_axis(attrs["data_format"], x.ndim)
    axes = tuple(i for i in range(x.ndim) if i != axis)
    shape, u = _stats_shape(x, axis), mean.dtype
    dyf = dy.astype(np.float64)
    inv = 1.0 / np.sqrt(variance.astype(np.float64) + attrs["epsilon"])
    x_hat = (x.astype(np.float64) - mean.reshape(shape)) * inv.reshape(shape)
    d_offset = np.sum(dyf, axis=axes)
    d_scale = np.sum(dyf * x_hat, axis=axes)
    if attrs["is_training"]:
        n = x.size // max(x.shape[axis], 1)
        dx = (scale * inv).reshape(shape) * (dyf - (d_offset / n).reshape(shape) - x_hat * (d_scale / n).reshape(shape))
    else:
        dx = dyf * (scale * inv).reshape(shape)
    empty = np.zeros((0,), u)
    return dx.astype(x.dtype), d_scale.astype(u), d_offset.astype(u), empty, empty


def _channels(op, x_index: int) -> TensorShape:
    shape = op.inputs[x_index].shape
    channels = None
    if shape.ndims is not None:
        channels = shape.as_list()[_channel_axis(op.get_attr("data_format"), shape.ndims)]
    return TensorShape([channels]).merge_with(op.inputs[x_index + 1].shape.with_rank(1)
                                              if op.inputs[x_index + 1].shape.ndims is not None else TensorShape([None]))  # fmt: skip


def _fused_batch_norm_shape(op):
    c = _channels(op, 0)
    return [op.inputs[0].shape, c, c, c, c, TensorShape(None)]


def _fused_batch_norm_grad_shape(op):
    c = _channels(op, 1)
    return [op.inputs[1].shape.merge_with(op.inputs[0].shape), c, c, TensorShape([0]), TensorShape([0])]


register_op(
    "FusedBatchNormV3", ["x: T", "scale: U", "offset: U", "mean: U", "variance: U"],
    ["y: T", "batch_mean: U", "batch_variance: U", "reserve_space_1: U", "reserve_space_2: U", "reserve_space_3: U"],
    ["T: {half, bfloat16, float}", "U: {bfloat16, float}", _EPSILON, "exponential_avg_factor: float = 1",
     _FORMATS, "is_training: bool = true"],
    shape=_fused_batch_norm_shape, kernel=_fused_batch_norm,
)  # fmt: skip
register_op(
    "FusedBatchNormGradV3",
    ["y_backprop: T", "x: T", "scale: float", "reserve_space_1: U", "reserve_space_2: U", "reserve_space_3: U"],
    ["x_backprop: T", "scale_backprop: U", "offset_backprop: U", "reserve_space_4: U", "reserve_space_5: U"],
    ["T: {half, bfloat16, float}", "U: {float}", _EPSILON, _FORMATS, "is_training: bool = true"],
    shape=_fused_batch_norm_grad_shape, kernel=_fused_batch_norm_grad,
)  # fmt: skip


@register_gradient("FusedBatchNormV3")
def _fused_batch_norm_grad_rule(op, grad_y, *unused_stat_grads):
    training = op.get_attr("is_training")
    if training:
        mean, variance = op.outputs[3], op.outputs[4]
    else:
        mean, variance = op.inputs[3], op.inputs[4]
    dx, dscale, doffset, _, _ = apply_op(
        "FusedBatchNormGradV3", y_backprop=grad_y, x=op.inputs[0], scale=op.inputs[1], reserve_space_1=mean,
        reserve_space_2=variance, reserve_space_3=op.outputs[5], epsilon=op.get_attr("epsilon"),
        data_format=op.get_attr("data_format"), is_training=training, name="FusedBatchNormGradV3")  # fmt: skip
    return [dx, dscale, doffset, None, None]


# -- Python API ---------------------------------------------------------------------------
def _axes_list(axes) -> list:
    return [int(a) for a in (axes if isinstance(axes, (list, tuple)) else [axes])]


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and variance of ``x`` over ``axes`` (``tf.nn.moments``), under scope ``moments``.

    Returns:
        ``(mean, variance)``; the reduced axes are squeezed unless ``keep_dims``.
    """
    del shift
    keep = bool(keepdims if keep_dims is None else keep_dims)
    with name_scope(name, "moments", [x, axes]):
        x = convert_to_tensor(x, name="x")
        # As TF: float16 statistics are accumulated in float32.
        half = x.dtype.base_dtype == dtypes.float16
        y = math_ops.cast(x, dtypes.float32) if half else x
        axes = _axes_list(axes)
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        centered = apply_op("SquaredDifference", x=y, y=apply_op("StopGradient", input=mean), name="SquaredDifference")
        variance = math_ops.reduce_mean(centered, axes, keepdims=True, name="variance")
        if not keep:
            mean = apply_op("Squeeze", input=mean, squeeze_dims=axes, name="Squeeze")
            variance = apply_op("Squeeze", input=variance, squeeze_dims=axes, name="Squeeze_1")
        if half:
            mean, variance = math_ops.cast(mean, dtypes.float16), math_ops.cast(variance, dtypes.float16)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``(x - mean) * rsqrt(variance + eps) * scale + offset``, built as TF's ``batchnorm`` scope.

    ``offset`` and ``scale`` may be None.
    """
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = convert_to_tensor(x)
        inv = apply_op("Rsqrt", x=convert_to_tensor(variance) + variance_epsilon, name="Rsqrt")
        if scale is not None:
            inv = inv * scale
        scaled = x * inv
        mean = convert_to_tensor(mean)
        shift = offset - mean * inv if offset is not None else -mean * inv
        return scaled + shift


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):  # fmt: skip
    """``tf.compat.v1.nn.fused_batch_norm``: one ``FusedBatchNormV3`` op.

    Returns:
        ``(y, batch_mean, batch_variance)``; in training mode without running
        statistics, ``mean``/``variance`` are empty constants as in TF.
    """
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or variance is None):
        raise ValueError(f"Both 'mean' and 'variance' must be a 1D tensor when is_training is {is_training} or "
                         f"exponential_avg_factor is {exponential_avg_factor}. Got mean: {mean} and variance: {variance}.")  # fmt: skip
    x = convert_to_tensor(x, name="input")
    if mean is None:
        mean = convert_to_tensor(np.zeros((0,), np.float32), name="Const")
    if variance is None:
        variance = convert_to_tensor(np.zeros((0,), np.float32), name="Const")
    # As TF: an epsilon below cuDNN's minimum is raised to it.
    epsilon = max(epsilon, 1.001e-5)
    y, batch_mean, batch_var, _, _, _ = apply_op(
        "FusedBatchNormV3", x=x, scale=scale, offset=offset, mean=mean, variance=variance, epsilon=epsilon,
        exponential_avg_factor=exponential_avg_factor, data_format=data_format, is_training=is_training,
        name=name or "FusedBatchNormV3")  # fmt: skip
    return y, batch_mean, batch_var

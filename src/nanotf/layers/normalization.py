"""``tf.layers.batch_normalization``: fused for 4-D inputs (channels last or first), else moments-based.

Variables (in creation order): ``gamma`` (if ``scale``), ``beta`` (if
``center``), ``moving_mean``, ``moving_variance`` (not trainable). In
training the moving statistics are updated by ``AssignMovingAvg`` /
``AssignMovingAvg_1`` (``AssignSub`` of ``(moving - batch) * (1 - momentum)``),
collected in ``UPDATE_OPS`` for the caller to run, as TF's layer does: the
fused form feeds them the op's Bessel-corrected batch variance, the
moments form the biased one. A bool tensor ``training`` builds ``tf.cond``s
choosing batch or moving statistics, and momentum 0 for the updates in
inference.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework.graph import GraphKeys
from nanotf.framework.graph import add_to_collection
from nanotf.framework.graph import colocate_with
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.layers.core import layer_scope
from nanotf.layers.core import smart_cond
from nanotf.ops import batch_norm_ops
from nanotf.ops import state_ops
from nanotf.train import initializers
from nanotf.train.variable_scope import get_variable


def _assign_moving_average(variable, value, momentum):
    """``variable -= (variable - value) * (1 - momentum)`` as one ``AssignSub`` named ``AssignMovingAvg``."""
    with name_scope(None, "AssignMovingAvg", [variable, value, momentum]) as scope, colocate_with(variable.op):
        decay = convert_to_tensor(1.0 - momentum, name="decay")
        delta = (variable - value) * decay
        return state_ops.assign_sub(variable, delta, name=scope)


def _add_updates(pairs, momentum):
    # TF's layer collects the update Operations (not their output tensors).
    for variable, value in pairs:
        add_to_collection(GraphKeys.UPDATE_OPS, _assign_moving_average(variable, value, momentum).op)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=initializers.zeros_initializer(),
                        gamma_initializer=initializers.ones_initializer(),
                        moving_mean_initializer=initializers.zeros_initializer(),
                        moving_variance_initializer=initializers.ones_initializer(), beta_regularizer=None,
                        gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, training=False,
                        trainable=True, name=None, reuse=None, renorm=False, renorm_clipping=None,
                        renorm_momentum=0.99, fused=None, virtual_batch_size=None, adjustment=None):  # fmt: skip
    """Batch normalization over all axes but ``axis`` (TF1 ``tf.layers.batch_normalization``).

    Args:
        training: Python bool or bool tensor: normalize with batch statistics
            (and add the moving-average updates to ``UPDATE_OPS``) or with the
            moving ones.
        fused: None uses the fused op whenever the input is 4-D and ``axis``
            is its last (NHWC) or 1 (NCHW).

    Returns:
        The normalized tensor, shaped like ``inputs``.
    """
    del beta_constraint, gamma_constraint, renorm_clipping, renorm_momentum
    if renorm or virtual_batch_size is not None or adjustment is not None:
        raise errors.UnimplementedError("batch_normalization with renorm, virtual_batch_size or adjustment")
    inputs = convert_to_tensor(inputs)
    rank = inputs.shape.ndims
    if rank is None:
        raise ValueError(f"Input has undefined rank: {inputs.shape}")
    axis = axis % rank if isinstance(axis, int) else axis
    channels = inputs.shape.as_list()[axis]
    use_fused = fused is not False and rank == 4 and axis in (1, 3)
    with layer_scope(name, "batch_normalization", reuse):
        dtype = inputs.dtype.base_dtype

        def var(var_name, init, regularizer=None, train=trainable):
            return get_variable(var_name, [channels], dtype=dtype, initializer=init, regularizer=regularizer,
                                trainable=train)  # fmt: skip

        gamma = var("gamma", gamma_initializer, gamma_regularizer) if scale else None
        beta = var("beta", beta_initializer, beta_regularizer) if center else None
        moving_mean = var("moving_mean", moving_mean_initializer, train=False)
        moving_variance = var("moving_variance", moving_variance_initializer, train=False)
        if use_fused:
            fmt = "NCHW" if axis == 1 else "NHWC"
            return _fused(inputs, gamma, beta, moving_mean, moving_variance, channels, momentum, epsilon, training, fmt)
        return _moments_based(inputs, axis, gamma, beta, moving_mean, moving_variance, momentum, epsilon, training)


def _fused(inputs, gamma, beta, moving_mean, moving_variance, channels, momentum, epsilon, training, data_format):
    if beta is None:
        beta = convert_to_tensor(np.zeros(channels, np.float32), name="Const")
    if gamma is None:
        gamma = convert_to_tensor(np.ones(channels, np.float32), name="Const")

    def run(is_training):
        return lambda: batch_norm_ops.fused_batch_norm(inputs, gamma, beta, mean=moving_mean, variance=moving_variance,
                                                       epsilon=epsilon, is_training=is_training,
                                                       data_format=data_format)  # fmt: skip

    training_value = _static(training)
    if training_value is False:
        return run(False)()[0]
    y, mean, variance = smart_cond(training, run(True), run(False))
    if training_value is None:
        momentum_t = smart_cond(training, lambda: convert_to_tensor(np.float32(momentum), name="Const"),
                                lambda: convert_to_tensor(np.float32(1.0), name="Const"))  # fmt: skip
    else:
        momentum_t = convert_to_tensor(np.float32(momentum), name="Const")
    _add_updates([(moving_mean, mean), (moving_variance, variance)], momentum_t)
    return y


def _moments_based(inputs, axis, gamma, beta, moving_mean, moving_variance, momentum, epsilon, training):
    rank = inputs.shape.ndims
    # Statistics of a non-last axis broadcast as [1, C, 1, ...] (TF reshapes gamma/beta first, mean/variance last).
    shape = np.array([inputs.shape.as_list()[axis] if i == axis else 1 for i in range(rank)], np.int32)

    def broadcast(v):
        if v is None or axis == rank - 1:
            return v
        return apply_op("Reshape", tensor=v, shape=shape, name="Reshape")

    gamma, beta = broadcast(gamma), broadcast(beta)
    training_value = _static(training)
    if training_value is False:
        mean, variance = moving_mean, moving_variance
    else:
        reduction = [i for i in range(inputs.shape.ndims) if i != axis]
        batch_mean, batch_variance = batch_norm_ops.moments(inputs, reduction)
        mean = smart_cond(training, lambda: batch_mean, lambda: convert_to_tensor(moving_mean))
        variance = smart_cond(training, lambda: batch_variance, lambda: convert_to_tensor(moving_variance))
        if training_value:
            _add_updates([(moving_mean, mean), (moving_variance, variance)], momentum)
        else:
            for variable, value in ((moving_mean, mean), (moving_variance, variance)):
                update = smart_cond(training, lambda v=variable, x=value: _assign_moving_average(v, x, momentum),
                                    lambda v=variable: convert_to_tensor(v))  # fmt: skip
                add_to_collection(GraphKeys.UPDATE_OPS, update.op)
    mean, variance = broadcast(mean), broadcast(variance)
    return batch_norm_ops.batch_normalization(inputs, mean, variance, beta, gamma, epsilon)


def _static(training):
    """True/False when ``training`` is known at graph-build time, else None."""
    if hasattr(training, "op"):
        value = common_shapes.constant_value(training)
        return None if value is None else bool(value)
    return bool(training)

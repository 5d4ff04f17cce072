"""``tf.losses`` (``tf.compat.v1.losses``): weighted losses added to the ``LOSSES`` collection.

Each loss computes per-element values, multiplies by ``weights`` and
reduces as ``reduction`` says; the default, ``SUM_BY_NONZERO_WEIGHTS``,
divides the weighted sum by the number of elements with a non-zero weight
(``DivNoNan``, so all-zero weights give 0), as TensorFlow does. The graph
keeps TF's scope and final op names (``mean_squared_error/value``), without
TF's static broadcast-check ``NoOp``s.
"""

from __future__ import annotations

import numpy as np

from nanotf.framework import dtypes
from nanotf.framework.graph import GraphKeys
from nanotf.framework.graph import add_to_collection
from nanotf.framework.graph import get_collection
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import math_ops
from nanotf.ops import nn_impl

__all__ = [
    "Reduction",
    "add_loss",
    "compute_weighted_loss",
    "get_losses",
    "get_regularization_loss",
    "get_regularization_losses",
    "get_total_loss",
    "mean_squared_error",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]


class Reduction:
    """How a weighted loss is reduced (TF1 ``tf.losses.Reduction``)."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_OVER_NONZERO_WEIGHTS,
                cls.SUM_BY_NONZERO_WEIGHTS)  # fmt: skip

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key {key}.")


def _sum_all(x, name):
    rank = x.shape.ndims
    axes = np.arange(rank, dtype=np.int32) if rank is not None else math_ops.range(apply_op("Rank", input=x))
    return apply_op("Sum", input=x, reduction_indices=convert_to_tensor(axes, name="Const") if rank is not None else axes,
                    keep_dims=False, name=name)  # fmt: skip


def _num_present(losses, weights):
    """How many elements of ``losses`` have a non-zero (broadcast) weight."""
    with name_scope(None, "num_present", [losses, weights]) as scope:
        zero = np.zeros((), weights.dtype.as_numpy_dtype)
        nonzero = math_ops.cast(apply_op("NotEqual", x=weights, y=zero, name="NotEqual"), losses.dtype)
        broadcast = apply_op("Mul", x=nonzero, y=apply_op("OnesLike", x=losses, name="ones_like"), name="broadcast_weights")
        return _sum_all(broadcast, scope)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """``losses * weights`` reduced per ``reduction`` and added to ``loss_collection``.

    Returns:
        The loss: a scalar unless ``reduction`` is ``NONE``.
    """
    Reduction.validate(reduction)
    with name_scope(scope, "weighted_loss", [losses, weights]):
        losses = convert_to_tensor(losses)
        input_dtype = losses.dtype.base_dtype
        losses = math_ops.cast(losses, dtypes.float32)
        weights = math_ops.cast(convert_to_tensor(weights, dtype=None), dtypes.float32)
        weighted = apply_op("Mul", x=losses, y=weights, name="Mul")
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = _sum_all(weighted, "Sum")
            if reduction == Reduction.MEAN:
                total_weight = _sum_all(apply_op("Mul", x=apply_op("OnesLike", x=losses, name="ones_like"), y=weights,
                                                 name="Mul_1"), "Sum_1")  # fmt: skip
                loss = apply_op("DivNoNan", x=loss, y=total_weight, name="value")
            elif reduction in (Reduction.SUM_BY_NONZERO_WEIGHTS, Reduction.SUM_OVER_BATCH_SIZE):
                if reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                    count = _num_present(losses, weights)
                else:
                    count = math_ops.cast(apply_op("Size", input=losses, name="num_elements"), dtypes.float32)
                loss = apply_op("DivNoNan", x=loss, y=count, name="value")
        loss = math_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def add_loss(loss, loss_collection=GraphKeys.LOSSES):
    """Adds ``loss`` to ``loss_collection`` (no-op for a None collection)."""
    if loss_collection:
        add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    return get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses (0.0 if there are none)."""
    losses = get_regularization_losses(scope)
    if losses:
        return apply_op("AddN", inputs=losses, name=name)
    return convert_to_tensor(np.float32(0.0), name=name)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """The sum of ``get_losses()`` and, by default, the regularization losses.

    Raises:
        ValueError: if there is no loss at all.
    """
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise ValueError("No losses found to add up.")
    return math_ops.add_n(losses, name=name)


def mean_squared_error(labels, predictions, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Weighted ``(predictions - labels) ** 2`` under scope ``mean_squared_error``."""
    if labels is None or predictions is None:
        raise ValueError("Argument `labels` and `predictions` must not be None.")
    with name_scope(scope, "mean_squared_error", (predictions, labels, weights)) as s:
        predictions = math_ops.cast(convert_to_tensor(predictions), dtypes.float32)
        labels = math_ops.cast(convert_to_tensor(labels), dtypes.float32)
        predictions.shape.assert_is_compatible_with(labels.shape)
        losses = apply_op("SquaredDifference", x=predictions, y=labels, name="SquaredDifference")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction=reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Weighted softmax cross entropy of one-hot (optionally smoothed) labels, no gradient into the labels."""
    with name_scope(scope, "softmax_cross_entropy_loss", (logits, onehot_labels, weights)) as s:
        logits = convert_to_tensor(logits)
        onehot_labels = math_ops.cast(convert_to_tensor(onehot_labels), logits.dtype)
        logits.shape.assert_is_compatible_with(onehot_labels.shape)
        if label_smoothing > 0:
            classes = math_ops.cast(apply_op("Shape", input=onehot_labels, name="Shape")[-1], logits.dtype)
            smooth_positives = 1.0 - label_smoothing
            smooth_negatives = label_smoothing / classes
            onehot_labels = onehot_labels * smooth_positives + smooth_negatives
        labels = apply_op("StopGradient", input=onehot_labels, name="labels_stop_gradient")
        losses = nn_impl.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction=reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):  # fmt: skip
    """Weighted cross entropy of integer class ``labels`` against ``logits``."""
    with name_scope(scope, "sparse_softmax_cross_entropy_loss", (labels, logits, weights)) as s:
        losses = nn_impl.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xentropy")
        return compute_weighted_loss(losses, weights, s, loss_collection, reduction=reduction)

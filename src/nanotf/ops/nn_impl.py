"""``tf.nn`` functions composed of registered ops, each building the graph TensorFlow 2.21 builds.

Activations and ``bias_add`` are single ops named after their type. The
cross-entropy wrappers flatten to ``[batch, classes]`` with TF's
Rank/Shape/Slice/ConcatV2/Reshape sequence (shapes become ``Const`` when
static, as TF's optimized ``shape``/``rank`` do). ``dropout`` is
``SelectV2(RandomUniform >= rate, x * 1/(1-rate), 0)`` under scope
``dropout``, drawing from the graph's seed stream like every random op, so
seeded masks equal TensorFlow's.
"""

from __future__ import annotations

import numbers

import numpy as np

from nanotf import errors
from nanotf.framework import dtypes
from nanotf.framework.graph import colocate_with
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import math_ops
from nanotf.ops import random_ops
from nanotf.ops.gradient_util import shape_of
from nanotf.ops.nn_ops import zeros_like_static


# -- activations and bias ------------------------------------------------------------
def _unary(api_name, op_type, doc):
    def fn(features, name=None):
        return apply_op(op_type, features=features, name=name or op_type)

    fn.__name__, fn.__doc__ = api_name, doc
    return fn


relu = _unary("relu", "Relu", "``max(features, 0)`` (one ``Relu`` op).")
relu6 = _unary("relu6", "Relu6", "``min(max(features, 0), 6)`` (one ``Relu6`` op).")
elu = _unary("elu", "Elu", "``x`` if positive else ``exp(x) - 1`` (one ``Elu`` op).")
selu = _unary("selu", "Selu", "Scaled ELU with the SELU constants (one ``Selu`` op).")
softplus = _unary("softplus", "Softplus", "``log(exp(x) + 1)`` (one ``Softplus`` op).")
softsign = _unary("softsign", "Softsign", "``x / (|x| + 1)`` (one ``Softsign`` op).")


def leaky_relu(features, alpha=0.2, name=None):
    """``x`` if positive else ``alpha * x`` (one ``LeakyRelu`` op; integer inputs are cast to float)."""
    with name_scope(name, "LeakyRelu", [features, alpha]) as scope:
        features = convert_to_tensor(features, name="features")
        if features.dtype.is_integer:
            features = math_ops.cast(features, dtypes.float32)
        return apply_op("LeakyRelu", features=features, alpha=float(np.asarray(alpha)), name=scope)


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` along the channel axis (one ``BiasAdd`` op)."""
    with name_scope(name, "BiasAdd", [value, bias]) as scope:
        value = convert_to_tensor(value, name="input")
        bias = convert_to_tensor(bias, dtype=value.dtype, name="bias")
        fmt = "NCHW" if data_format is not None and data_format.startswith("NC") else "NHWC"
        return apply_op("BiasAdd", value=value, bias=bias, data_format=fmt, name=scope)


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2`` (one ``L2Loss`` op)."""
    return apply_op("L2Loss", t=t, name=name or "L2Loss")


def _along_axis(op_type, logits, axis, name):
    logits = convert_to_tensor(logits, name="logits")
    rank = logits.shape.ndims
    if axis is None or axis == -1 or (rank is not None and axis == rank - 1):
        return apply_op(op_type, logits=logits, name=name or op_type)
    if rank is None:
        raise errors.UnimplementedError(f"{op_type} over axis {axis} needs a known rank")
    # Move the axis last, apply, and move it back (the permutation is its own inverse). TF
    # computes this permutation with Range/ConcatV2 ops; a constant gives the same values.
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    moved = apply_op("Transpose", x=logits, perm=np.array(perm, np.int32), name="transpose")
    out = apply_op(op_type, logits=moved, name=op_type)
    return apply_op("Transpose", x=out, perm=np.array(perm, np.int32), name=name or "transpose_1")


def softmax(logits, axis=None, name=None, dim=None):
    """``exp(logits) / sum(exp(logits), axis)`` (``Softmax``; other axes are transposed last)."""
    return _along_axis("Softmax", logits, dim if axis is None else axis, name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """``logits - log(sum(exp(logits), axis))`` (``LogSoftmax``; other axes are transposed last)."""
    return _along_axis("LogSoftmax", logits, dim if axis is None else axis, name)


# -- cross entropies ---------------------------------------------------------------
def _rank(x, name="Rank"):
    if x.shape.ndims is not None:
        return convert_to_tensor(np.int32(x.shape.ndims), name=name)
    return apply_op("Rank", input=x, name=name)


def _flatten_outer_dims(x, suffix):
    """``x`` reshaped to ``[-1, last_dim]`` with TF's op sequence (``Rank_k``, ``Shape_k``, ``Slice``...)."""
    rank = _rank(x, f"Rank_{suffix + 1}")
    shape = shape_of(x, f"Shape_{suffix + 1}")
    sub = "Sub" if suffix == 0 else f"Sub_{suffix}"
    last = apply_op("Slice", input=shape, begin=[math_ops.subtract(rank, 1, name=sub)], size=np.array([1], np.int32),
                    name="Slice" if suffix == 0 else f"Slice_{suffix}")  # fmt: skip
    concat = "concat" if suffix == 0 else f"concat_{suffix}"
    new_shape = apply_op("ConcatV2", values=[np.array([-1], np.int32), last], axis=np.int32(0), name=concat)
    return apply_op("Reshape", tensor=x, shape=new_shape, name="Reshape" if suffix == 0 else f"Reshape_{suffix}")


def softmax_cross_entropy_with_logits_v2(labels, logits, axis=-1, name=None, dim=None):
    """Per-example ``-sum(labels * log_softmax(logits))``; gradients flow into both arguments.

    Args:
        labels, logits: same-shaped tensors, classes along ``axis`` (only the last axis is supported).

    Returns:
        A tensor shaped like ``logits`` without its last axis.
    """
    axis = dim if dim is not None else axis
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype, name="labels")
        rank = logits.shape.ndims
        if axis not in (-1, None) and (rank is None or axis != rank - 1):
            raise errors.UnimplementedError("softmax_cross_entropy_with_logits supports only the last axis")
        input_rank = _rank(logits, "Rank")
        input_shape = shape_of(logits, "Shape")
        flat_logits = _flatten_outer_dims(logits, 0)
        flat_labels = _flatten_outer_dims(labels, 1)
        cost, _ = apply_op("SoftmaxCrossEntropyWithLogits", features=flat_logits, labels=flat_labels, name=scope)
        size = [math_ops.subtract(input_rank, 1, name="Sub_2")]
        out_shape = apply_op("Slice", input=input_shape, begin=np.array([0], np.int32), size=size, name="Slice_2")
        cost = apply_op("Reshape", tensor=cost, shape=out_shape, name="Reshape_2")
        if rank is not None:
            cost.set_shape(logits.shape.as_list()[:-1])
        return cost


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None):
    """TF1 ``softmax_cross_entropy_with_logits``: as ``_v2`` with no gradient into ``labels``."""
    if _sentinel is not None:
        raise ValueError("Only call softmax_cross_entropy_with_logits with named arguments (labels=..., logits=...)")
    with name_scope(name, "softmax_cross_entropy_with_logits_sg", [logits, labels]) as scope:
        labels = apply_op("StopGradient", input=labels, name="labels_stop_gradient")
        return softmax_cross_entropy_with_logits_v2(labels, logits, axis=dim if axis is None else axis, name=scope)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Per-example cross entropy against integer class ``labels`` (``SparseSoftmaxCrossEntropyWithLogits``).

    Args:
        labels: int32/int64 tensor shaped like ``logits`` without its last axis.
        logits: float tensor ``[..., classes]``.
    """
    if _sentinel is not None:
        raise ValueError("Only call sparse_softmax_cross_entropy_with_logits with named arguments")
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]):
        labels = convert_to_tensor(labels, name="labels")
        logits = convert_to_tensor(logits, name="logits")
        labels_shape = shape_of(labels, "Shape")
        lr, gr = labels.shape.ndims, logits.shape.ndims
        if gr == 0:
            raise ValueError(f"Logits cannot be scalars - received shape {logits.shape}.")
        if lr is not None and gr is not None and lr != gr - 1:
            raise ValueError(f"Rank mismatch: Rank of labels (received {lr}) should equal rank of logits minus 1 "
                             f"(received {gr}).")  # fmt: skip
        op_name = name or "SparseSoftmaxCrossEntropyWithLogits"
        if gr == 2:
            return apply_op("SparseSoftmaxCrossEntropyWithLogits", features=logits, labels=labels, name=op_name)[0]
        classes = logits.shape.as_list()[-1] if gr is not None else None
        if classes is None:
            raise errors.UnimplementedError("sparse_softmax_cross_entropy_with_logits needs a known number of classes")
        flat_logits = apply_op("Reshape", tensor=logits, shape=np.array([-1, classes], np.int32), name="Reshape")
        flat_labels = apply_op("Reshape", tensor=labels, shape=np.array([-1], np.int32), name="Reshape_1")
        cost = apply_op("SparseSoftmaxCrossEntropyWithLogits", features=flat_logits, labels=flat_labels, name=op_name)[0]
        cost = apply_op("Reshape", tensor=cost, shape=labels_shape, name="Reshape_2")
        cost.set_shape(labels.shape)
        return cost


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Elementwise logistic loss ``max(x, 0) - x * z + log(1 + exp(-|x|))``, under scope ``logistic_loss``."""
    if _sentinel is not None:
        raise ValueError("Only call sigmoid_cross_entropy_with_logits with named arguments (labels=..., logits=...)")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        labels = convert_to_tensor(labels, dtype=logits.dtype, name="labels")
        if not logits.shape.is_compatible_with(labels.shape):
            raise ValueError(f"logits and labels must have the same shape ({logits.shape} vs {labels.shape})")
        zeros = zeros_like_static(logits)
        positive = apply_op("GreaterEqual", x=logits, y=zeros, name="GreaterEqual")
        relu_logits = apply_op("Select", condition=positive, t=logits, e=zeros, name="Select")
        neg_abs_logits = apply_op("Select", condition=positive, t=-logits, e=logits, name="Select_1")
        linear_term = relu_logits - logits * labels
        softplus_term = apply_op("Log1p", x=apply_op("Exp", x=neg_abs_logits, name="Exp"), name="Log1p")
        return apply_op("AddV2", x=linear_term, y=softplus_term, name=scope)


def xw_plus_b(x, weights, biases, name=None):
    """``x @ weights + biases`` (``MatMul`` then ``BiasAdd``) under scope ``xw_plus_b``."""
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        product = apply_op("MatMul", a=convert_to_tensor(x, name="x"), b=weights, name="MatMul")
        return apply_op("BiasAdd", value=product, bias=biases, name=scope)


# -- dropout, normalization, lookup ----------------------------------------------------
def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """TF1 ``tf.nn.dropout``: zeroes elements with probability ``rate`` (= 1 - ``keep_prob``), scales the rest.

    Returns ``x`` itself when the rate is a Python 0.

    Raises:
        ValueError: both or neither of ``keep_prob`` and ``rate``, or a rate outside [0, 1).
    """
    if (keep_prob is None) == (rate is None):
        raise ValueError("You must provide exactly one of `keep_prob` or `rate`.")
    if keep_prob is not None:
        rate = 1 - keep_prob
    return _dropout(x, rate, noise_shape, seed, name)


def _dropout(x, rate, noise_shape, seed, name):
    is_number = isinstance(rate, numbers.Real)
    if is_number and not 0 <= rate < 1:
        raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). Received: rate={rate}")
    with name_scope(name, "dropout", [x]):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. Got a {x.dtype} tensor.")
        if is_number and rate == 0:
            return x
        if is_number:
            scale = convert_to_tensor(np.asarray(1 / (1 - rate), x.dtype.as_numpy_dtype), name="Const")
            scaled = apply_op("Mul", x=x, y=scale, name="Mul")
        else:
            rate = convert_to_tensor(rate, dtype=x.dtype, name="rate")
            one = convert_to_tensor(np.asarray(1, x.dtype.as_numpy_dtype), name="Const")
            scaled = apply_op("RealDiv", x=x, y=apply_op("Sub", x=one, y=rate, name="Sub"), name="RealDiv")
        shape = shape_of(x, "Shape") if noise_shape is None else noise_shape
        random = random_ops.random_uniform(shape, seed=seed, dtype=x.dtype)
        if is_number:
            keep = apply_op("GreaterEqual", x=random, y=np.asarray(rate, x.dtype.as_numpy_dtype), name="GreaterEqual")
        else:
            keep = apply_op("GreaterEqual", x=random, y=rate, name="GreaterEqual")
        zero = convert_to_tensor(np.asarray(0, x.dtype.as_numpy_dtype), name="Const_1")
        out = apply_op("SelectV2", condition=keep, t=scaled, e=zero, name="SelectV2")
        out.set_shape(x.shape)
        return out


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))`` under scope ``l2_normalize``."""
    axis = dim if axis is None else axis
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(apply_op("Square", x=x, name="Square"), axis, keepdims=True, name="Sum")
        floor = apply_op("Maximum", x=square_sum, y=np.asarray(epsilon, x.dtype.as_numpy_dtype), name="Maximum")
        return apply_op("Mul", x=x, y=apply_op("Rsqrt", x=floor, name="Rsqrt"), name=scope)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """Rows ``ids`` of ``params`` (a ``GatherV2`` colocated with the params, then ``Identity``).

    Raises:
        UnimplementedError: for a list of several parameter shards or ``max_norm``.
    """
    del partition_strategy, validate_indices
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise errors.UnimplementedError("embedding_lookup over several parameter shards is not supported")
        params = params[0]
    if max_norm is not None:
        raise errors.UnimplementedError("embedding_lookup with max_norm is not supported")
    with name_scope(name, "embedding_lookup", [params, ids]) as scope:
        table = convert_to_tensor(params)
        with colocate_with(table.op):
            rows = apply_op("GatherV2", params=table, indices=ids, axis=np.int32(0), batch_dims=0, name=scope)
        return apply_op("Identity", input=rows, name="Identity")


def in_top_k(predictions, targets, k, name=None):
    """Whether each target's prediction is among the ``k`` largest of its row (``InTopKV2``)."""
    with name_scope(name, "in_top_k"):
        return apply_op("InTopKV2", predictions=predictions, targets=targets, k=k, name="InTopKV2")

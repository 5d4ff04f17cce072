"""``tf.layers`` dense, conv2d, pooling, dropout and flatten, and the scoping every layer shares.

A layer call enters ``variable_scope(None, default_name=name or "<layer>")``
(unique per enclosing scope: ``dense``, ``dense_1``...), or, when reusing,
``variable_scope(name, reuse=...)`` with a fresh name scope (``dense_1/...``
ops reading ``dense/kernel``), as TensorFlow's legacy layers do.
"""

from __future__ import annotations

import contextlib

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework import dtypes
from nanotf.framework.graph import GraphKeys
from nanotf.framework.graph import add_to_collection
from nanotf.framework.graph import name_scope
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import nn_impl
from nanotf.ops import pooling_ops
from nanotf.train import initializers
from nanotf.train.variable_scope import get_variable
from nanotf.train.variable_scope import variable_scope


@contextlib.contextmanager
def layer_scope(name, default_name, reuse=None):
    """Enters a layer's variable scope and name scope; yields the ``VariableScope``."""
    if reuse:
        scope = variable_scope(name or default_name, reuse=reuse)
    else:
        scope = variable_scope(None, default_name=name or default_name)
    with scope as vs:
        yield vs


def smart_cond(pred, true_fn, false_fn, name=None):
    """``true_fn()`` or ``false_fn()`` when ``pred`` is known now, else a ``tf.cond`` (as TF's smart_cond)."""
    static = pred
    if hasattr(pred, "op"):
        value = common_shapes.constant_value(pred)
        static = None if value is None else bool(value)
    if static is not None:
        return true_fn() if static else false_fn()
    try:
        from nanotf.ops.cond_v1 import cond
    except ImportError:
        raise errors.UnimplementedError("a layer's `training` given as a bool tensor needs tf.cond") from None
    return cond(pred, true_fn, false_fn, name=name)


def _activity(outputs, activation, activity_regularizer):
    if activation is not None:
        outputs = activation(outputs)
    if activity_regularizer is not None:
        with name_scope("ActivityRegularizer"):
            loss = activity_regularizer(outputs)
        if loss is not None:
            add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return outputs


def _last_dim(inputs, layer):
    shape = inputs.shape
    if shape.ndims is None or shape.as_list()[-1] is None:
        raise ValueError(f"The last dimension of the inputs to `{layer}` should be defined. Found `None`.")
    return shape.as_list()[-1]


def _weights(in_shape, units, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
             trainable, dtype):  # fmt: skip
    kernel = get_variable("kernel", in_shape + [units], dtype=dtype, initializer=kernel_initializer,
                          regularizer=kernel_regularizer, trainable=trainable)  # fmt: skip
    bias = None
    if use_bias:
        bias = get_variable("bias", [units], dtype=dtype, initializer=bias_initializer, regularizer=bias_regularizer,
                            trainable=trainable)  # fmt: skip
    return kernel, bias


def _tensordot_last(x, kernel, units):
    """``x @ kernel`` over x's last axis for rank > 2, with TF's ``Tensordot`` subgraph.

    A fully static shape reshapes with constants; otherwise the shapes are
    gathered at run time.
    """
    rank = x.shape.ndims
    if x.shape.is_fully_defined():
        dims = x.shape.as_list()
        with name_scope("Tensordot") as scope:
            matrix = apply_op("Reshape", tensor=x, shape=np.array([int(np.prod(dims[:-1])), dims[-1]], np.int32),
                              name="Reshape")  # fmt: skip
            product = apply_op("MatMul", a=matrix, b=kernel, name="MatMul")
            out_shape = convert_to_tensor(np.array(dims[:-1] + [units], np.int32), name="shape")
            return apply_op("Reshape", tensor=product, shape=out_shape, name=scope)
    with name_scope("Tensordot") as scope:
        axes = convert_to_tensor(np.array([rank - 1], np.int32), name="axes")
        free = convert_to_tensor(np.arange(rank - 1, dtype=np.int32), name="free")
        shape = apply_op("Shape", input=x, out_type=dtypes.int32, name="Shape")
        free_dims = apply_op("GatherV2", params=shape, indices=free, axis=np.int32(0), batch_dims=0, name="GatherV2")
        axes_dims = apply_op("GatherV2", params=shape, indices=axes, axis=np.int32(0), batch_dims=0, name="GatherV2_1")
        rows = apply_op("Prod", input=free_dims, reduction_indices=convert_to_tensor(np.array([0], np.int32), name="Const"),
                        keep_dims=False, name="Prod")  # fmt: skip
        cols = apply_op("Prod", input=axes_dims, reduction_indices=convert_to_tensor(np.array([0], np.int32), name="Const_1"),
                        keep_dims=False, name="Prod_1")  # fmt: skip
        perm = apply_op("ConcatV2", values=[free, axes], axis=np.int32(0), name="concat")
        matrix_shape = apply_op("Pack", values=[rows, cols], axis=0, name="stack")
        moved = apply_op("Transpose", x=x, perm=perm, name="transpose")
        matrix = apply_op("Reshape", tensor=moved, shape=matrix_shape, name="Reshape")
        product = apply_op("MatMul", a=matrix, b=kernel, name="MatMul")
        out_dims = convert_to_tensor(np.array([units], np.int32), name="Const_2")
        out_shape = apply_op("ConcatV2", values=[free_dims, out_dims], axis=np.int32(0), name="concat_1")
        out = apply_op("Reshape", tensor=product, shape=out_shape, name=scope)
    out.set_shape(x.shape.as_list()[:-1] + [units])
    return out


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=initializers.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
          reuse=None):  # fmt: skip
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        inputs: tensor of rank >= 2 with a known last dimension.
        units: output size.
        kernel_initializer: default Glorot uniform (``get_variable``'s default).

    Returns:
        The output tensor, ``inputs.shape[:-1] + [units]``.
    """
    del kernel_constraint, bias_constraint
    inputs = convert_to_tensor(inputs)
    in_dim = _last_dim(inputs, "Dense")
    with layer_scope(name, "dense", reuse):
        kernel, bias = _weights([in_dim], units, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, trainable, inputs.dtype.base_dtype)  # fmt: skip
        if inputs.shape.ndims == 2:
            outputs = apply_op("MatMul", a=inputs, b=kernel, name="MatMul")
        else:
            outputs = _tensordot_last(inputs, kernel, units)
        if bias is not None:
            outputs = nn_impl.bias_add(outputs, bias)
        return _activity(outputs, activation, activity_regularizer)


def _pair(value, what):
    values = [value] * 2 if isinstance(value, int) else list(value)
    if len(values) != 2:
        raise ValueError(f"The `{what}` argument must be a tuple of 2 integers. Received: {value}")
    return [int(v) for v in values]


def _format(data_format):
    fmt = {"channels_last": "NHWC", "channels_first": "NCHW"}.get(data_format)
    if fmt is None:
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', 'channels_last'. Received: {data_format}")
    return fmt


def _spatial_attr(values, fmt):
    return [1, 1] + values if fmt == "NCHW" else [1] + values + [1]


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid", data_format="channels_last",
           dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer=None,
           bias_initializer=initializers.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
           activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True, name=None,
           reuse=None):  # fmt: skip
    """A 2-D convolution layer: ``activation(conv2d(inputs, kernel) + bias)``.

    ``kernel`` is ``kernel_size + [in_channels, filters]``. A dilation rate
    above 1 is set on the ``Conv2D`` op's ``dilations`` (TensorFlow wraps the
    op in SpaceToBatchND/BatchToSpaceND instead; the values agree).
    """
    del kernel_constraint, bias_constraint
    inputs = convert_to_tensor(inputs)
    fmt = _format(data_format)
    shape = inputs.shape.with_rank(4).as_list() if inputs.shape.ndims is not None else [None] * 4
    in_channels = shape[1] if fmt == "NCHW" else shape[3]
    if in_channels is None:
        raise ValueError("The channel dimension of the inputs should be defined. Found `None`.")
    with layer_scope(name, "conv2d", reuse):
        kernel, bias = _weights(_pair(kernel_size, "kernel_size") + [in_channels], filters, use_bias,
                                kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, trainable,
                                inputs.dtype.base_dtype)  # fmt: skip
        outputs = apply_op("Conv2D", input=inputs, filter=kernel, strides=_spatial_attr(_pair(strides, "strides"), fmt),
                           padding=padding.upper(), explicit_paddings=[], data_format=fmt, use_cudnn_on_gpu=True,
                           dilations=_spatial_attr(_pair(dilation_rate, "dilation_rate"), fmt), name="Conv2D")  # fmt: skip
        if bias is not None:
            outputs = nn_impl.bias_add(outputs, bias, data_format=fmt)
        return _activity(outputs, activation, activity_regularizer)


def _pooling(pool, default_name):
    def layer(inputs, pool_size, strides, padding="valid", data_format="channels_last", name=None):
        fmt = _format(data_format)
        with layer_scope(name, default_name):
            return pool(inputs, ksize=_spatial_attr(_pair(pool_size, "pool_size"), fmt),
                        strides=_spatial_attr(_pair(strides, "strides"), fmt), padding=padding.upper(), data_format=fmt)  # fmt: skip

    layer.__name__ = default_name
    layer.__doc__ = (f"``tf.layers.{default_name}``: a ``{pool.__name__}`` over ``pool_size`` windows "
                     "moved by ``strides`` (padding ``valid``/``same``).")  # fmt: skip
    return layer


max_pooling2d = _pooling(pooling_ops.max_pool, "max_pooling2d")
average_pooling2d = _pooling(pooling_ops.avg_pool, "average_pooling2d")


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Dropout when ``training`` (a Python bool or a bool tensor), identity otherwise."""
    with layer_scope(name, "dropout"):
        inputs = convert_to_tensor(inputs)
        if isinstance(rate, (int, float)) and rate == 0:
            return apply_op("Identity", input=inputs, name="Identity")
        return smart_cond(training,
                          lambda: nn_impl.dropout(inputs, noise_shape=noise_shape, seed=seed, rate=rate),
                          lambda: apply_op("Identity", input=inputs, name="Identity"))  # fmt: skip


def flatten(inputs, name=None, data_format="channels_last"):
    """Reshapes ``inputs`` to ``[batch, -1]`` (a ``Const`` shape when the non-batch dims are static)."""
    inputs = convert_to_tensor(inputs)
    if _format(data_format) == "NCHW":
        raise errors.UnimplementedError("flatten with data_format='channels_first' is not supported")
    with layer_scope(name, "flatten"):
        shape = inputs.shape
        if shape.ndims == 1:
            return apply_op("ExpandDims", input=inputs, dim=np.int32(1), name="ExpandDims")
        dims = shape.as_list() if shape.ndims is not None else None
        if dims is not None and all(d is not None for d in dims[1:]):
            target = convert_to_tensor(np.array([-1, int(np.prod(dims[1:]))], np.int32), name="Const")
            return apply_op("Reshape", tensor=inputs, shape=target, name="Reshape")
        if dims is not None and dims[0] is not None:
            target = convert_to_tensor(np.array([dims[0], -1], np.int32), name="Const")
            return apply_op("Reshape", tensor=inputs, shape=target, name="Reshape")
        batch = apply_op("Shape", input=inputs, out_type=dtypes.int32, name="Shape")[0]
        with name_scope("Reshape") as reshape_scope:
            with name_scope("shape") as shape_scope:
                target = apply_op("Pack", values=[batch, convert_to_tensor(np.int32(-1), name="1")], axis=0,
                                  name=shape_scope)  # fmt: skip
            return apply_op("Reshape", tensor=inputs, shape=target, name=reshape_scope)

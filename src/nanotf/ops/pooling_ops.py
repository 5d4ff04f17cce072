"""2-D pooling: MaxPool, AvgPool and their gradient ops.

Windows come from ``conv_ops.windows`` over the padded input. Max pooling
pads with the lowest value so padding never wins; the gradient routes each
output's gradient to the first maximum of its window in row-major order (as
TensorFlow's CPU kernel does) and sums where windows overlap. Average pooling
divides by the number of real (unpadded) elements in each window, so SAME
borders average fewer values.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops import conv_ops
from nanotf.ops.gradient_util import shape_of

_MAX_POOL_T = "{half, bfloat16, float, double, int32, int64, uint8, int16, int8, uint16, qint8} = DT_FLOAT"
_MAX_POOL_GRAD_T = "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, uint32, uint64} = DT_FLOAT"
_AVG_T = "{half, bfloat16, float, double}"
_WINDOW = ["ksize: list(int) >= 4", "strides: list(int) >= 4"]
_FORMAT = "data_format: {'NHWC', 'NCHW'} = 'NHWC'"


def _geometry(attrs, in_shape):
    fmt = attrs["data_format"]
    ksize, strides = conv_ops.to_nhwc(attrs["ksize"], fmt), conv_ops.to_nhwc(attrs["strides"], fmt)
    if ksize[0] != 1 or ksize[3] != 1 or strides[0] != 1 or strides[3] != 1:
        raise errors.UnimplementedError("Pooling is not yet supported on the batch or depth dimensions.")
    explicit = conv_ops.explicit_pairs(attrs.get("explicit_paddings", ()), fmt)
    try:
        out_hw, pads = conv_ops.plan(in_shape, ksize[1:3], strides, [1] * 4, attrs["padding"], explicit)
    except ValueError as err:
        raise errors.InvalidArgumentError(f"Computed output size would be negative: {err}") from None
    return ksize[1:3], strides, out_hw, pads


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _max_windows(attrs, x):
    k_hw, strides, out_hw, pads = _geometry(attrs, x.shape)
    win = conv_ops.windows(conv_ops.pad(x, pads, _lowest(x.dtype)), k_hw, strides, (1, 1, 1, 1), out_hw)
    return win, (k_hw, strides, out_hw, pads)


def _max_pool(attrs, x):
    fmt = attrs["data_format"]
    win, _ = _max_windows(attrs, conv_ops.nhwc_in(x, fmt))
    return conv_ops.nhwc_out(np.max(win, axis=(3, 4)), fmt)


def _max_pool_grad(attrs, x, y, grad):
    fmt = attrs["data_format"]
    x, grad = conv_ops.nhwc_in(x, fmt), conv_ops.nhwc_in(grad, fmt)
    win, (k_hw, strides, _, pads) = _max_windows(attrs, x)
    n, oh, ow, kh, kw, c = win.shape
    if grad.shape != (n, oh, ow, c):
        raise errors.InvalidArgumentError(f"MaxPoolGrad: grad has shape {list(grad.shape)} (NHWC), "
                                          f"expected {[n, oh, ow, c]}")  # fmt: skip
    first_max = np.argmax(win.reshape(n, oh, ow, kh * kw, c), axis=3)
    taps = np.arange(kh * kw).reshape(1, 1, 1, kh * kw, 1) == first_max[:, :, :, None, :]
    cols = (taps * grad[:, :, :, None, :]).reshape(n, oh, ow, kh, kw, c)
    padded = (n, x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1]), c)
    dx = conv_ops.crop(conv_ops.scatter_windows(cols.astype(grad.dtype), padded, k_hw, strides, (1, 1, 1, 1)), pads, x.shape)
    return conv_ops.nhwc_out(np.ascontiguousarray(dx), fmt)


def _window_counts(in_shape, k_hw, strides, out_hw, pads):
    # How many real elements each output window covers: the pooled window of a padded ones-mask.
    ones = np.ones((1, in_shape[1], in_shape[2], 1))
    win = conv_ops.windows(conv_ops.pad(ones, pads), k_hw, strides, (1, 1, 1, 1), out_hw)
    return np.sum(win, axis=(3, 4))


def _avg_pool(attrs, x):
    fmt = attrs["data_format"]
    x = conv_ops.nhwc_in(x, fmt)
    k_hw, strides, out_hw, pads = _geometry(attrs, x.shape)
    win = conv_ops.windows(conv_ops.pad(x, pads), k_hw, strides, (1, 1, 1, 1), out_hw)
    total = np.sum(win, axis=(3, 4), dtype=np.float64)
    return conv_ops.nhwc_out((total / _window_counts(x.shape, k_hw, strides, out_hw, pads)).astype(x.dtype), fmt)


def _avg_pool_grad(attrs, orig_input_shape, grad):
    fmt = attrs["data_format"]
    shape = conv_ops.to_nhwc([int(d) for d in orig_input_shape], fmt)
    grad = conv_ops.nhwc_in(grad, fmt)
    k_hw, strides, out_hw, pads = _geometry(attrs, shape)
    share = grad / _window_counts(shape, k_hw, strides, out_hw, pads)
    cols = np.broadcast_to(share[:, :, :, None, None, :], share.shape[:3] + tuple(k_hw) + share.shape[3:])
    padded = (shape[0], shape[1] + sum(pads[0]), shape[2] + sum(pads[1]), shape[3])
    dx = conv_ops.crop(conv_ops.scatter_windows(cols, padded, k_hw, strides, (1, 1, 1, 1)), pads, shape)
    return conv_ops.nhwc_out(np.ascontiguousarray(dx, dtype=grad.dtype), fmt)


def _pool_shape(op):
    fmt = op.get_attr("data_format")
    shape = op.inputs[0].shape
    x = conv_ops.to_nhwc(shape.with_rank(4).as_list() if shape.ndims is not None else [None] * 4, fmt)
    ksize, strides = conv_ops.to_nhwc(op.get_attr("ksize"), fmt), conv_ops.to_nhwc(op.get_attr("strides"), fmt)
    explicit = conv_ops.explicit_pairs(op.get_attr("explicit_paddings") if op.type == "MaxPool" else (), fmt)
    out = [conv_ops.output_size(x[a], ksize[a], strides[a], 1, op.get_attr("padding"), explicit[a])[0] for a in (1, 2)]
    dims = [x[0], out[0], out[1], x[3]]
    return [TensorShape([dims[0], dims[3], dims[1], dims[2]] if conv_ops.as_text(fmt) == "NCHW" else dims)]


register_op("MaxPool", ["input: T"], ["output: T"],
            [f"T: {_MAX_POOL_T}"] + _WINDOW + ["padding: {'SAME', 'VALID', 'EXPLICIT'}", "explicit_paddings: list(int) = []",
                                               "data_format: {'NHWC', 'NCHW', 'NCHW_VECT_C'} = 'NHWC'"],
            shape=_pool_shape, kernel=_max_pool)  # fmt: skip
register_op("MaxPoolGrad", ["orig_input: T", "orig_output: T", "grad: T"], ["output: T"],
            _WINDOW + ["padding: {'SAME', 'VALID', 'EXPLICIT'}", "explicit_paddings: list(int) = []", _FORMAT,
                       f"T: {_MAX_POOL_GRAD_T}"],
            shape=common_shapes.same_as_input, kernel=_max_pool_grad)  # fmt: skip
register_op("AvgPool", ["value: T"], ["output: T"], _WINDOW + ["padding: {'SAME', 'VALID'}", _FORMAT, f"T: {_AVG_T}"],
            shape=_pool_shape, kernel=_avg_pool)  # fmt: skip
register_op("AvgPoolGrad", ["orig_input_shape: int32", "grad: T"], ["output: T"],
            _WINDOW + ["padding: {'SAME', 'VALID'}", _FORMAT, f"T: {_AVG_T}"],
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[0])], kernel=_avg_pool_grad)  # fmt: skip


def _window_attrs(op, explicit=False) -> dict:
    names = ["ksize", "strides", "padding"] + (["explicit_paddings"] if explicit else []) + ["data_format"]
    return {name: op.get_attr(name) for name in names}


@register_gradient("MaxPool")
def _max_pool_grad_rule(op, grad):
    return [apply_op("MaxPoolGrad", orig_input=op.inputs[0], orig_output=op.outputs[0], grad=grad,
                     name="MaxPoolGrad", **_window_attrs(op, explicit=True))]  # fmt: skip


@register_gradient("AvgPool")
def _avg_pool_grad_rule(op, grad):
    return [apply_op("AvgPoolGrad", orig_input_shape=shape_of(op.inputs[0]), grad=grad, name="AvgPoolGrad",
                     **_window_attrs(op))]  # fmt: skip


@register_gradient("AvgPoolGrad")
def _avg_pool_grad_grad(op, grad):
    # AvgPoolGrad is linear in its gradient input; its adjoint is the pooling itself.
    return [None, apply_op("AvgPool", value=grad, name="AvgPool", **_window_attrs(op))]


# -- Python API ---------------------------------------------------------------------------
def _pool_api(api_name, op_type, arg):
    def fn(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None, input=None):  # noqa: A002
        value = input if value is None else value
        attrs = {"ksize": conv_ops.window_attr(ksize, 2, data_format, "ksize"),
                 "strides": conv_ops.window_attr(strides, 2, data_format, "strides"), "data_format": data_format}  # fmt: skip
        pad_text, explicit = conv_ops.padding_attrs(padding, data_format)
        if op_type == "MaxPool":
            attrs["explicit_paddings"] = explicit
        elif explicit:
            raise ValueError(f"{api_name} does not support explicit padding")
        return apply_op(op_type, padding=pad_text, name=name or op_type, **{arg: value}, **attrs)

    fn.__name__ = api_name
    fn.__doc__ = (f"``tf.nn.{api_name}`` (TF1 signature): one ``{op_type}`` op over 2-D windows.\n\n"
                  "``ksize``/``strides`` are an int, 2 or 4 values; ``padding`` is ``SAME``/``VALID``"
                  + (" or explicit pairs." if op_type == "MaxPool" else "."))  # fmt: skip
    return fn


max_pool = _pool_api("max_pool", "MaxPool", "input")
avg_pool = _pool_api("avg_pool", "AvgPool", "value")

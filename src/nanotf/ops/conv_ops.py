"""2-D convolution: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, and the window helpers pooling shares.

Kernels work in NHWC (NCHW inputs are transposed in and out). A convolution
is im2col plus one matmul: ``windows`` views the padded input as
``[N, OH, OW, KH, KW, C]`` with stride tricks (no copy until the reshape),
and the matmul with the ``[KH*KW*C, O]`` filter gives the output. The input
gradient scatters the columns back with one strided add per filter tap.

Padding follows TensorFlow: VALID uses no padding; SAME pads
``max((out - 1) * stride + k_eff - in, 0)`` split with the smaller half first;
EXPLICIT takes ``explicit_paddings`` (before/after per dimension, in
``data_format`` order). ``k_eff = (k - 1) * dilation + 1``.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework import common_shapes
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.registry import register_gradient
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops.gradient_util import shape_of

_CONV_T = "{half, bfloat16, float, double, int32}"
_CONV_ATTRS = [
    "strides: list(int)",
    "use_cudnn_on_gpu: bool = true",
    "padding: {'SAME', 'VALID', 'EXPLICIT'}",
    "explicit_paddings: list(int) = []",
    "data_format: {'NHWC', 'NCHW'} = 'NHWC'",
    "dilations: list(int) = [1, 1, 1, 1]",
]


# -- padding and layout ------------------------------------------------------------
def as_text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def to_nhwc(values, data_format) -> list:
    """A 4-element per-dimension list (strides, ksize, ...) reordered from ``data_format`` to NHWC.

    Raises:
        ValueError: not 4 values, or a layout other than NHWC/NCHW.
    """
    values, fmt = list(values), as_text(data_format)
    if len(values) != 4:
        raise ValueError(f"expected 4 values (one per {fmt} dimension), got {values}")
    if fmt not in ("NHWC", "NCHW"):
        raise ValueError(f"data_format {fmt} is not supported by nanotf's 2-D kernels (NHWC or NCHW)")
    return [values[0], values[2], values[3], values[1]] if fmt == "NCHW" else values


def output_size(size, k, stride, dilation, padding, pads=(0, 0)):
    """(output size, pad before, pad after) along one spatial axis; None sizes propagate."""
    if size is None:
        return None, 0, 0
    k_eff = (k - 1) * dilation + 1
    padding = as_text(padding)
    if padding == "VALID":
        out, before, after = (size - k_eff) // stride + 1, 0, 0
    elif padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        before, after = total // 2, total - total // 2
    else:
        before, after = pads
        out = (size + before + after - k_eff) // stride + 1
    if out < 0 or (padding == "VALID" and size < k_eff):
        raise ValueError(f"Negative dimension size caused by subtracting {k_eff} from {size}")
    return out, before, after


def explicit_pairs(explicit_paddings, data_format) -> list:
    """``explicit_paddings`` (8 ints in ``data_format`` order) as NHWC (before, after) pairs."""
    flat = list(explicit_paddings)
    if not flat:
        return [(0, 0)] * 4
    pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(4)]
    return to_nhwc(pairs, data_format)


def plan(in_shape, k_hw, strides, dilations, padding, explicit):
    """Output (OH, OW) and per-axis (before, after) pads for an NHWC input."""
    oh, ph0, ph1 = output_size(in_shape[1], k_hw[0], strides[1], dilations[1], padding, explicit[1])
    ow, pw0, pw1 = output_size(in_shape[2], k_hw[1], strides[2], dilations[2], padding, explicit[2])
    return (oh, ow), ((ph0, ph1), (pw0, pw1))


def pad(x, pads, value=0):
    """``x`` (NHWC) padded spatially by ``pads`` = ((top, bottom), (left, right))."""
    if not any(pads[0]) and not any(pads[1]):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def windows(xp, k_hw, strides, dilations, out_hw):
    """A read-only ``[N, OH, OW, KH, KW, C]`` view of the padded NHWC input ``xp``."""
    n, _, _, c = xp.shape
    s = xp.strides
    shape = (n, out_hw[0], out_hw[1], k_hw[0], k_hw[1], c)
    steps = (s[0], s[1] * strides[1], s[2] * strides[2], s[1] * dilations[1], s[2] * dilations[2], s[3])
    return np.lib.stride_tricks.as_strided(xp, shape, steps, writeable=False)


def scatter_windows(cols, padded_shape, k_hw, strides, dilations):
    """The adjoint of ``windows``: sums ``[N, OH, OW, KH, KW, C]`` columns into a padded input."""
    out = np.zeros(padded_shape, dtype=cols.dtype)
    oh, ow = cols.shape[1], cols.shape[2]
    for i in range(k_hw[0]):
        for j in range(k_hw[1]):
            r, c = i * dilations[1], j * dilations[2]
            out[:, r:r + (oh - 1) * strides[1] + 1:strides[1], c:c + (ow - 1) * strides[2] + 1:strides[2], :] += \
                cols[:, :, :, i, j, :]  # fmt: skip
    return out


def crop(xp, pads, shape):
    """The inverse of ``pad``: the ``shape``-sized interior of ``xp``."""
    (top, _), (left, _) = pads
    return xp[:, top:top + shape[1], left:left + shape[2], :]


def nhwc_in(x, data_format):
    return np.transpose(x, (0, 2, 3, 1)) if as_text(data_format) == "NCHW" else x


def nhwc_out(x, data_format):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if as_text(data_format) == "NCHW" else x


def _geometry(attrs, in_shape, k_hw):
    fmt = attrs["data_format"]
    strides, dilations = to_nhwc(attrs["strides"], fmt), to_nhwc(attrs["dilations"], fmt)
    if strides[0] != 1 or strides[3] != 1:
        raise errors.InvalidArgumentError("Current implementation does not yet support strides in the batch and depth dimensions.")
    explicit = explicit_pairs(attrs.get("explicit_paddings", ()), fmt)
    try:
        out_hw, pads = plan(in_shape, k_hw, strides, dilations, attrs["padding"], explicit)
    except ValueError as err:
        raise errors.InvalidArgumentError(f"Computed output size would be negative: {err}") from None
    return strides, dilations, out_hw, pads


# -- Conv2D -------------------------------------------------------------------------
def _conv_columns(x, filter_hw, attrs):
    strides, dilations, out_hw, pads = _geometry(attrs, x.shape, filter_hw)
    cols = windows(pad(x, pads), filter_hw, strides, dilations, out_hw)
    return cols, (strides, dilations, out_hw, pads)


def _conv2d(attrs, x, w):
    if x.ndim != 4 or w.ndim != 4:
        raise errors.InvalidArgumentError(f"input and filter must be 4-dimensional, got {list(x.shape)} and {list(w.shape)}")
    x = nhwc_in(x, attrs["data_format"])
    if x.shape[3] != w.shape[2]:
        raise errors.InvalidArgumentError(f"input depth must equal filter depth: {x.shape[3]} vs {w.shape[2]}")
    cols, (_, _, out_hw, _) = _conv_columns(x, w.shape[:2], attrs)
    out = cols.reshape(-1, int(np.prod(w.shape[:3]))) @ w.reshape(-1, w.shape[3])
    return nhwc_out(out.reshape(x.shape[0], out_hw[0], out_hw[1], w.shape[3]).astype(x.dtype), attrs["data_format"])


def _check_out_backprop(dy, out_hw, batch, depth):
    expected = [batch, out_hw[0], out_hw[1], depth]
    if list(dy.shape) != expected:
        raise errors.InvalidArgumentError(f"Conv2D backprop: out_backprop has shape {list(dy.shape)} (NHWC), "
                                          f"expected {expected} from the input, filter and strides")  # fmt: skip


def _conv2d_backprop_input(attrs, input_sizes, w, dy):
    fmt = attrs["data_format"]
    if np.shape(input_sizes) != (4,):
        raise errors.InvalidArgumentError(f"input_sizes must be 4 values, got {np.asarray(input_sizes).tolist()}")
    shape = to_nhwc([int(d) for d in input_sizes], fmt)
    dy = nhwc_in(dy, fmt)
    strides, dilations, out_hw, pads = _geometry(attrs, shape, w.shape[:2])
    _check_out_backprop(dy, out_hw, shape[0], w.shape[3])
    cols = (dy.reshape(-1, w.shape[3]) @ w.reshape(-1, w.shape[3]).T).reshape(dy.shape[:3] + w.shape[:3])
    padded = (shape[0], shape[1] + sum(pads[0]), shape[2] + sum(pads[1]), shape[3])
    dx = crop(scatter_windows(cols, padded, w.shape[:2], strides, dilations), pads, shape)
    return nhwc_out(np.ascontiguousarray(dx, dtype=dy.dtype), fmt)


def _conv2d_backprop_filter(attrs, x, filter_sizes, dy):
    fmt = attrs["data_format"]
    x, dy = nhwc_in(x, fmt), nhwc_in(dy, fmt)
    kh, kw, c, o = (int(d) for d in filter_sizes)
    cols, (_, _, out_hw, _) = _conv_columns(x, (kh, kw), attrs)
    _check_out_backprop(dy, out_hw, x.shape[0], o)
    dw = cols.reshape(-1, kh * kw * c).T @ dy.reshape(-1, o)
    return dw.reshape(kh, kw, c, o).astype(x.dtype)


def _spatial(op, shape: TensorShape) -> list:
    fmt = op.get_attr("data_format")
    dims = shape.with_rank(4).as_list() if shape.ndims is not None else [None] * 4
    return to_nhwc(dims, fmt)


def _nhwc_shape(dims, fmt) -> TensorShape:
    return TensorShape([dims[0], dims[3], dims[1], dims[2]] if as_text(fmt) == "NCHW" else dims)


def _conv2d_shape(op):
    x = _spatial(op, op.inputs[0].shape)
    w = op.inputs[1].shape.with_rank(4).as_list() if op.inputs[1].shape.ndims is not None else [None] * 4
    fmt = op.get_attr("data_format")
    strides, dilations = to_nhwc(op.get_attr("strides"), fmt), to_nhwc(op.get_attr("dilations"), fmt)
    explicit = explicit_pairs(op.get_attr("explicit_paddings"), fmt)
    out = []
    for axis in (1, 2):
        k = w[axis - 1]
        size = None if k is None else output_size(x[axis], k, strides[axis], dilations[axis],
                                                  op.get_attr("padding"), explicit[axis])[0]  # fmt: skip
        out.append(size)
    return [_nhwc_shape([x[0], out[0], out[1], w[3]], fmt)]


register_op("Conv2D", ["input: T", "filter: T"], ["output: T"], [f"T: {_CONV_T}"] + _CONV_ATTRS,
            shape=_conv2d_shape, kernel=_conv2d)  # fmt: skip
register_op("Conv2DBackpropInput", ["input_sizes: int32", "filter: T", "out_backprop: T"], ["output: T"],
            [f"T: {_CONV_T}"] + _CONV_ATTRS, kernel=_conv2d_backprop_input,
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[0])])  # fmt: skip
register_op("Conv2DBackpropFilter", ["input: T", "filter_sizes: int32", "out_backprop: T"], ["output: T"],
            ["T: {half, bfloat16, float, double}"] + _CONV_ATTRS, kernel=_conv2d_backprop_filter,
            shape=lambda op: [common_shapes.constant_value_as_shape(op.inputs[1])])  # fmt: skip


def _conv_attrs(op) -> dict:
    return {name: op.get_attr(name) for name in
            ("strides", "use_cudnn_on_gpu", "padding", "explicit_paddings", "data_format", "dilations")}  # fmt: skip


@register_gradient("Conv2D")
def _conv2d_grad(op, grad):
    x, w = op.inputs
    x_shape, w_shape = apply_op("ShapeN", input=[x, w], name="ShapeN")
    attrs = _conv_attrs(op)
    dx = apply_op("Conv2DBackpropInput", input_sizes=x_shape, filter=w, out_backprop=grad, name="Conv2DBackpropInput",
                  **attrs)  # fmt: skip
    dw = apply_op("Conv2DBackpropFilter", input=x, filter_sizes=w_shape, out_backprop=grad, name="Conv2DBackpropFilter",
                  **attrs)  # fmt: skip
    return [dx, dw]


@register_gradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op, grad):
    # d/dfilter is a filter backprop with the roles of input and output swapped; d/dout_backprop a forward conv.
    attrs = _conv_attrs(op)
    w, dy = op.inputs[1], op.inputs[2]
    dw = apply_op("Conv2DBackpropFilter", input=grad, filter_sizes=shape_of(w), out_backprop=dy,
                  name="Conv2DBackpropFilter", **attrs)  # fmt: skip
    ddy = apply_op("Conv2D", input=grad, filter=w, name="Conv2D", **attrs)
    return [None, dw, ddy]


@register_gradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op, grad):
    attrs = _conv_attrs(op)
    x, dy = op.inputs[0], op.inputs[2]
    dx = apply_op("Conv2DBackpropInput", input_sizes=shape_of(x), filter=grad, out_backprop=dy,
                  name="Conv2DBackpropInput", **attrs)  # fmt: skip
    ddy = apply_op("Conv2D", input=x, filter=grad, name="Conv2D", **attrs)
    return [dx, None, ddy]


# -- Python API ---------------------------------------------------------------------------
def window_attr(value, n, data_format, name):
    """An int or list of per-spatial-dim values as the 4-element attr list in ``data_format`` order."""
    if isinstance(value, int):
        value = [value]
    value = list(value)
    if len(value) == 4:
        return value
    if len(value) == 1:
        value = value * n
    if len(value) != n:
        raise ValueError(f"{name} should be of length 1, {n} or 4 but was {len(value)}")
    return [1, 1] + value if as_text(data_format).startswith("NC") else [1] + value + [1]


def padding_attrs(padding, data_format):
    """(padding string, explicit_paddings list) from a TF ``padding`` argument (a string or pairs)."""
    if isinstance(padding, str):
        return padding.upper(), []
    pairs = [list(p) for p in padding]
    if len(pairs) != 4:
        raise ValueError(f"padding should have 4 (before, after) pairs, got {padding!r}")
    return "EXPLICIT", [int(v) for p in pairs for v in p]


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",  # noqa: A002
           dilations=(1, 1, 1, 1), name=None, filters=None):  # fmt: skip
    """``tf.nn.conv2d``: a ``Conv2D`` op (default name ``Conv2D``).

    Args:
        input: ``[N, H, W, C]`` (or NCHW) tensor.
        filter: ``[KH, KW, C, O]`` tensor (``filters`` is the TF2 spelling).
        strides, dilations: an int, 2 or 4 values.
        padding: ``"SAME"``, ``"VALID"`` or explicit ``[[0, 0], [t, b], [l, r], [0, 0]]``.
    """
    filter = filters if filter is None else filter
    pad_text, explicit = padding_attrs(padding, data_format)
    return apply_op("Conv2D", input=input, filter=filter, strides=window_attr(strides, 2, data_format, "strides"),
                    use_cudnn_on_gpu=use_cudnn_on_gpu, padding=pad_text, explicit_paddings=explicit,
                    data_format=data_format, dilations=window_attr(dilations, 2, data_format, "dilations"),
                    name=name or "Conv2D")  # fmt: skip


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None, padding=None,  # noqa: A002
                          use_cudnn_on_gpu=True, data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):  # fmt: skip
    """``tf.nn.conv2d_backprop_input``: the gradient of ``conv2d`` with respect to its input."""
    pad_text, explicit = padding_attrs(padding, data_format)
    return apply_op("Conv2DBackpropInput", input_sizes=input_sizes, filter=filters if filter is None else filter,
                    out_backprop=out_backprop, strides=window_attr(strides, 2, data_format, "strides"),
                    use_cudnn_on_gpu=use_cudnn_on_gpu, padding=pad_text, explicit_paddings=explicit,
                    data_format=data_format, dilations=window_attr(dilations, 2, data_format, "dilations"),
                    name=name or "Conv2DBackpropInput")  # fmt: skip


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, use_cudnn_on_gpu=True,  # noqa: A002
                           data_format="NHWC", dilations=(1, 1, 1, 1), name=None):  # fmt: skip
    """``tf.nn.conv2d_backprop_filter``: the gradient of ``conv2d`` with respect to its filter."""
    pad_text, explicit = padding_attrs(padding, data_format)
    return apply_op("Conv2DBackpropFilter", input=input, filter_sizes=filter_sizes, out_backprop=out_backprop,
                    strides=window_attr(strides, 2, data_format, "strides"), use_cudnn_on_gpu=use_cudnn_on_gpu,
                    padding=pad_text, explicit_paddings=explicit, data_format=data_format,
                    dilations=window_attr(dilations, 2, data_format, "dilations"), name=name or "Conv2DBackpropFilter")  # fmt: skip

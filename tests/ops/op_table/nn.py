"""Op-table rows for the nn family: activations, bias, softmax, cross entropies, conv, pooling, batch norm.

References are plain NumPy written independently of the kernels: convolution
and pooling loop over output positions, batch norm follows the textbook
formulas. Gradients are checked against finite differences in float64
where the op allows it (the fused batch norm is float32-only, hence its
looser tolerances).
"""

import math

import numpy as np

import nanotf as tf
from nanotf.framework.op_def_library import apply_op
from tests.ops.op_table import OpCase

RNG = np.random.default_rng(7)


def _away_from(values, points, gap=0.05):
    """``values`` nudged away from the kinks at ``points`` so finite differences stay on one side."""
    out = values.copy()
    for p in points:
        near = np.abs(out - p) < gap
        out[near] = p + np.where(out[near] >= p, gap, -gap)
    return out


X = _away_from(RNG.standard_normal((3, 4)) * 2, [0.0])
X6 = _away_from(RNG.uniform(-2, 8, (3, 4)), [0.0, 6.0])
G = RNG.standard_normal((3, 4))
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772
IMAGE = RNG.standard_normal((1, 5, 5, 2))
IMAGE_4 = RNG.standard_normal((2, 4, 4, 3))
FILTER = RNG.standard_normal((3, 3, 2, 3))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


# -- convolution and pooling references -------------------------------------------------
def _pads(size, k, stride, padding, dilation=1, explicit=(0, 0)):
    k_eff = (k - 1) * dilation + 1
    if padding == "VALID":
        return (size - k_eff) // stride + 1, 0, 0
    if padding == "SAME":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + k_eff - size, 0)
        return out, total // 2, total - total // 2
    return (size + sum(explicit) - k_eff) // stride + 1, explicit[0], explicit[1]


def ref_conv2d(x, w, stride=1, padding="SAME", dilation=1, explicit=((0, 0), (0, 0))):
    kh, kw = w.shape[:2]
    oh, top, bottom = _pads(x.shape[1], kh, stride, padding, dilation, explicit[0])
    ow, left, right = _pads(x.shape[2], kw, stride, padding, dilation, explicit[1])
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + (kh - 1) * dilation + 1:dilation,
                       j * stride:j * stride + (kw - 1) * dilation + 1:dilation, :]  # fmt: skip
            out[:, i, j, :] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return out


def ref_conv2d_input_grad(x_shape, w, dy, stride, padding):
    """d(sum(conv(x, w) * dy))/dx by linearity: the conv of each unit input."""
    dx = np.zeros(x_shape)
    for idx in np.ndindex(*x_shape):
        unit = np.zeros(x_shape)
        unit[idx] = 1
        dx[idx] = np.sum(ref_conv2d(unit, w, stride, padding) * dy)
    return dx


def ref_conv2d_filter_grad(x, w_shape, dy, stride, padding):
    dw = np.zeros(w_shape)
    for idx in np.ndindex(*w_shape):
        unit = np.zeros(w_shape)
        unit[idx] = 1
        dw[idx] = np.sum(ref_conv2d(x, unit, stride, padding) * dy)
    return dw


def ref_pool(x, k, stride, padding, kind, explicit=((0, 0), (0, 0))):
    oh, top, _ = _pads(x.shape[1], k, stride, padding, 1, explicit[0])
    ow, left, _ = _pads(x.shape[2], k, stride, padding, 1, explicit[1])
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride - top, j * stride - left
            window = x[:, max(r0, 0):r0 + k, max(c0, 0):c0 + k, :]
            out[:, i, j, :] = window.max(axis=(1, 2)) if kind == "max" else window.mean(axis=(1, 2))
    return out


def ref_max_pool_grad(x, dy, k, stride, padding):
    dx = np.zeros_like(x)
    oh, top, _ = _pads(x.shape[1], k, stride, padding)
    ow, left, _ = _pads(x.shape[2], k, stride, padding)
    for b in range(x.shape[0]):
        for c in range(x.shape[3]):
            for i in range(oh):
                for j in range(ow):
                    r0, c0 = i * stride - top, j * stride - left
                    best = None
                    for r in range(max(r0, 0), min(r0 + k, x.shape[1])):
                        for s in range(max(c0, 0), min(c0 + k, x.shape[2])):
                            if best is None or x[b, r, s, c] > x[b, best[0], best[1], c]:
                                best = (r, s)
                    dx[b, best[0], best[1], c] += dy[b, i, j, c]
    return dx


def _conv(stride, padding, **kw):
    return lambda x, w: tf.nn.conv2d(x, w, strides=stride, padding=padding, **kw)


def _conv_case(id_, stride, padding, dilation=1, explicit=None):
    pad_arg = padding if explicit is None else [[0, 0], list(explicit[0]), list(explicit[1]), [0, 0]]
    return OpCase(id_, ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"),
                  _conv(stride, pad_arg, dilations=dilation), [IMAGE, FILTER],
                  lambda x, w: ref_conv2d(x, w, stride, padding, dilation, explicit or ((0, 0), (0, 0))),
                  grad=True)  # fmt: skip


# -- batch norm references ------------------------------------------------------------------
BN_X = (RNG.standard_normal((2, 3, 3, 2)) * 2 + 1).astype(np.float32)
BN_SCALE = np.array([1.5, 0.5], np.float32)
BN_OFFSET = np.array([0.1, -0.2], np.float32)
BN_MEAN = np.array([0.3, 0.4], np.float32)
BN_VAR = np.array([2.0, 3.0], np.float32)
EPS = 0.001


def ref_fused_train(x, scale, offset, mean, var, factor=1.0):
    m, v = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    n = x.size // x.shape[3]
    y = (x - m) / np.sqrt(v + EPS) * scale + offset
    corrected = v * n / (n - 1)
    if factor != 1.0:
        return y, (1 - factor) * mean + factor * m, (1 - factor) * var + factor * corrected, m, v
    return y, m, corrected, m, v


def ref_fused_infer(x, scale, offset, mean, var):
    return (x - mean) / np.sqrt(var + EPS) * scale + offset, mean, var, mean, var


def _fused(training, factor=1.0):
    def build(x, scale, offset, mean, var):
        return apply_op("FusedBatchNormV3", x=x, scale=scale, offset=offset, mean=mean, variance=var, epsilon=EPS,
                        is_training=training, exponential_avg_factor=factor)[:5]  # fmt: skip

    return build


def ref_fused_grad(dy, x, scale, mean, var, training):
    n = x.size // x.shape[3]
    x_hat = (x - mean) / np.sqrt(var + EPS)
    d_offset, d_scale = dy.sum(axis=(0, 1, 2)), (dy * x_hat).sum(axis=(0, 1, 2))
    if training:
        dx = scale / np.sqrt(var + EPS) * (dy - d_offset / n - x_hat * d_scale / n)
    else:
        dx = dy * scale / np.sqrt(var + EPS)
    return dx, d_scale, d_offset


def _fused_grad(training):
    def build(dy, x, scale, mean, var):
        return apply_op("FusedBatchNormGradV3", y_backprop=dy, x=x, scale=scale, reserve_space_1=mean,
                        reserve_space_2=var, reserve_space_3=np.zeros((0,), np.float32), epsilon=EPS,
                        is_training=training)[:3]  # fmt: skip

    return build


F32 = {"grad_rtol": 2e-2, "grad_atol": 2e-3, "rtol": 1e-5, "atol": 1e-5}
LOGITS = RNG.standard_normal((4, 5))
PROBS = np.exp(_log_softmax(RNG.standard_normal((4, 5))))
LABELS = np.array([1, 0, 4, 2], np.int32)
POOL_IN = RNG.standard_normal((2, 5, 5, 2))
POOL_GRAD_VALID = RNG.standard_normal((2, 2, 2, 2))
POOL_GRAD_SAME = RNG.standard_normal((2, 3, 3, 2))

CASES = [
    # activations and their fused gradient ops
    OpCase("relu", ("Relu",), tf.nn.relu, [X], lambda x: np.maximum(x, 0), grad=True),
    OpCase("relu_int", ("Relu",), tf.nn.relu, [np.array([-2, 0, 3], np.int32)], lambda x: np.maximum(x, 0)),
    OpCase("relu6", ("Relu6",), tf.nn.relu6, [X6], lambda x: np.clip(x, 0, 6), grad=True),
    OpCase("elu", ("Elu",), tf.nn.elu, [X], lambda x: np.where(x > 0, x, np.exp(x) - 1), grad=True),
    OpCase("selu", ("Selu",), tf.nn.selu, [X],
           lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)), grad=True),
    OpCase("leaky_relu", ("LeakyRelu",), lambda x: tf.nn.leaky_relu(x, alpha=0.1), [X],
           lambda x: np.where(x > 0, x, 0.1 * x), grad=True),
    OpCase("softplus", ("Softplus",), tf.nn.softplus, [X], lambda x: np.log1p(np.exp(x)), grad=True),
    OpCase("softsign", ("Softsign",), tf.nn.softsign, [X], lambda x: x / (1 + np.abs(x)), grad=True),
    OpCase("relu_grad", ("ReluGrad",), lambda g, y: apply_op("ReluGrad", gradients=g, features=y), [G, X],
           lambda g, y: g * (y > 0), grad=True),
    OpCase("relu6_grad", ("Relu6Grad",), lambda g, y: apply_op("Relu6Grad", gradients=g, features=y), [G, X6],
           lambda g, y: g * ((y > 0) & (y < 6)), grad=True),
    OpCase("elu_grad", ("EluGrad",), lambda g, y: apply_op("EluGrad", gradients=g, outputs=y), [G, X],
           lambda g, y: np.where(y < 0, g * (y + 1), g)),
    OpCase("selu_grad", ("SeluGrad",), lambda g, y: apply_op("SeluGrad", gradients=g, outputs=y), [G, X],
           lambda g, y: np.where(y < 0, g * (y + SELU_SCALE * SELU_ALPHA), g * SELU_SCALE)),
    OpCase("leaky_relu_grad", ("LeakyReluGrad",),
           lambda g, x: apply_op("LeakyReluGrad", gradients=g, features=x, alpha=0.3), [G, X],
           lambda g, x: np.where(x > 0, g, 0.3 * g), grad=True),
    OpCase("softplus_grad", ("SoftplusGrad",), lambda g, x: apply_op("SoftplusGrad", gradients=g, features=x), [G, X],
           lambda g, x: g * _sigmoid(x)),
    OpCase("softsign_grad", ("SoftsignGrad",), lambda g, x: apply_op("SoftsignGrad", gradients=g, features=x), [G, X],
           lambda g, x: g / (1 + np.abs(x)) ** 2),
    # bias
    OpCase("bias_add", ("BiasAdd", "BiasAddGrad"), tf.nn.bias_add, [X, G[0]], lambda x, b: x + b, grad=True),
    OpCase("bias_add_nchw", ("BiasAdd", "BiasAddGrad"), lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"),
           [IMAGE_4, G[0, :4]], lambda x, b: x + b[None, :, None, None], grad=True),
    OpCase("bias_add_grad", ("BiasAddGrad",), lambda g: apply_op("BiasAddGrad", out_backprop=g), [IMAGE_4],
           lambda g: g.sum(axis=(0, 1, 2))),
    # softmax and cross entropies
    OpCase("softmax", ("Softmax",), tf.nn.softmax, [LOGITS], lambda x: np.exp(_log_softmax(x)), grad=True),
    OpCase("softmax_axis0", ("Softmax", "Transpose"), lambda x: tf.nn.softmax(x, axis=0), [LOGITS],
           lambda x: np.exp(_log_softmax(x.T)).T, grad=True),
    OpCase("log_softmax", ("LogSoftmax",), tf.nn.log_softmax, [LOGITS], _log_softmax, grad=True),
    OpCase("softmax_xent_v2", ("SoftmaxCrossEntropyWithLogits",),
           lambda labels, logits: tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits),
           [PROBS, LOGITS], lambda p, x: -(p * _log_softmax(x)).sum(axis=-1), grad=True),
    OpCase("softmax_xent_rank3", ("SoftmaxCrossEntropyWithLogits",),
           lambda labels, logits: tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits),
           [PROBS.reshape(2, 2, 5), LOGITS.reshape(2, 2, 5)],
           lambda p, x: -(p * _log_softmax(x)).sum(axis=-1), grad=True, grad_inputs=(1,)),
    OpCase("softmax_xent_op_backprop", ("SoftmaxCrossEntropyWithLogits",),
           lambda x, p: apply_op("SoftmaxCrossEntropyWithLogits", features=x, labels=p)[1], [LOGITS, PROBS],
           lambda x, p: np.exp(_log_softmax(x)) - p),
    OpCase("sparse_softmax_xent", ("SparseSoftmaxCrossEntropyWithLogits",),
           lambda labels, logits: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
           [LABELS, LOGITS], lambda l, x: -_log_softmax(x)[np.arange(4), l], grad=True),
    OpCase("sparse_softmax_xent_rank3", ("SparseSoftmaxCrossEntropyWithLogits",),
           lambda labels, logits: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
           [LABELS.reshape(2, 2), LOGITS.reshape(2, 2, 5)],
           lambda l, x: -np.take_along_axis(_log_softmax(x), l[..., None], -1)[..., 0], grad=True),
    OpCase("sigmoid_xent", ("Select", "Log1p"),
           lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x), [_sigmoid(G), X],
           lambda z, x: -(z * np.log(_sigmoid(x)) + (1 - z) * np.log(1 - _sigmoid(x))), grad=True),
    OpCase("xw_plus_b", ("MatMul", "BiasAdd"), tf.nn.xw_plus_b, [X, G.T, G[0, :3]], lambda x, w, b: x @ w + b,
           grad=True),
    OpCase("l2_loss", ("L2Loss",), tf.nn.l2_loss, [X], lambda x: (x ** 2).sum() / 2, grad=True),
    OpCase("in_top_k", ("InTopKV2",), lambda p, t: tf.nn.in_top_k(p, t, 2),
           [np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.2], [0.9, 0.05, 0.5], [np.nan, 1, 0]], np.float32),
            np.array([2, 0, 1, 0], np.int32)],
           lambda p, t: np.array([True, True, False, False])),
    # convolution
    _conv_case("conv2d_same", 1, "SAME"),
    _conv_case("conv2d_valid", 1, "VALID"),
    _conv_case("conv2d_same_stride2", 2, "SAME"),
    _conv_case("conv2d_valid_stride2", 2, "VALID"),
    _conv_case("conv2d_dilated", 1, "SAME", dilation=2),
    _conv_case("conv2d_explicit", 2, "EXPLICIT", explicit=((1, 2), (0, 1))),
    OpCase("conv2d_nchw", ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"),
           lambda x, w: tf.nn.conv2d(x, w, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"),
           [IMAGE.transpose(0, 3, 1, 2), FILTER],
           lambda x, w: ref_conv2d(x.transpose(0, 2, 3, 1), w, 2, "SAME").transpose(0, 3, 1, 2), grad=True),
    OpCase("conv2d_backprop_input", ("Conv2DBackpropInput", "Conv2D", "Conv2DBackpropFilter"),
           lambda w, dy: tf.nn.conv2d_backprop_input([1, 5, 5, 2], w, dy, strides=[1, 2, 2, 1], padding="SAME"),
           [FILTER, RNG.standard_normal((1, 3, 3, 3))],
           lambda w, dy: ref_conv2d_input_grad((1, 5, 5, 2), w, dy, 2, "SAME"), grad=True),
    OpCase("conv2d_backprop_filter", ("Conv2DBackpropFilter", "Conv2D", "Conv2DBackpropInput"),
           lambda x, dy: tf.nn.conv2d_backprop_filter(x, [3, 3, 2, 3], dy, strides=[1, 2, 2, 1], padding="VALID"),
           [IMAGE, RNG.standard_normal((1, 2, 2, 3))],
           lambda x, dy: ref_conv2d_filter_grad(x, (3, 3, 2, 3), dy, 2, "VALID"), grad=True),
    # pooling
    OpCase("max_pool_valid", ("MaxPool", "MaxPoolGrad"), lambda x: tf.nn.max_pool(x, 2, 2, "VALID"), [POOL_IN],
           lambda x: ref_pool(x, 2, 2, "VALID", "max"), grad=True),
    OpCase("max_pool_same_overlap", ("MaxPool", "MaxPoolGrad"), lambda x: tf.nn.max_pool(x, 3, 2, "SAME"), [POOL_IN],
           lambda x: ref_pool(x, 3, 2, "SAME", "max"), grad=True),
    OpCase("max_pool_explicit", ("MaxPool", "MaxPoolGrad"),
           lambda x: tf.nn.max_pool(x, 3, 2, [[0, 0], [1, 1], [0, 1], [0, 0]]), [POOL_IN],
           lambda x: ref_pool(x, 3, 2, "EXPLICIT", "max", ((1, 1), (0, 1))), grad=True),
    OpCase("max_pool_int", ("MaxPool",), lambda x: tf.nn.max_pool(x, 2, 2, "SAME"),
           [np.arange(-20, 30, dtype=np.int32).reshape(2, 5, 5, 1)],
           lambda x: ref_pool(x, 2, 2, "SAME", "max").astype(np.int32)),
    OpCase("max_pool_grad_ties", ("MaxPoolGrad",),
           lambda x, y, g: apply_op("MaxPoolGrad", orig_input=x, orig_output=y, grad=g, ksize=[1, 2, 2, 1],
                                    strides=[1, 2, 2, 1], padding="VALID"),
           [np.zeros((1, 4, 4, 1)), np.zeros((1, 2, 2, 1)), np.arange(1.0, 5.0).reshape(1, 2, 2, 1)],
           lambda x, y, g: ref_max_pool_grad(x, g, 2, 2, "VALID")),
    OpCase("avg_pool_valid", ("AvgPool", "AvgPoolGrad"), lambda x: tf.nn.avg_pool(x, 2, 2, "VALID"), [POOL_IN],
           lambda x: ref_pool(x, 2, 2, "VALID", "avg"), grad=True),
    OpCase("avg_pool_same_overlap", ("AvgPool", "AvgPoolGrad"), lambda x: tf.nn.avg_pool(x, 3, 2, "SAME"), [POOL_IN],
           lambda x: ref_pool(x, 3, 2, "SAME", "avg"), grad=True),
    OpCase("avg_pool_grad", ("AvgPoolGrad", "AvgPool"),
           lambda g: apply_op("AvgPoolGrad", orig_input_shape=np.array([2, 5, 5, 2], np.int32), grad=g,
                              ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME"),
           [POOL_GRAD_SAME], None, grad=True),
    # batch normalization
    OpCase("fused_batch_norm_train", ("FusedBatchNormV3", "FusedBatchNormGradV3"), _fused(True),
           [BN_X, BN_SCALE, BN_OFFSET, np.zeros(0, np.float32), np.zeros(0, np.float32)],
           ref_fused_train, grad=True, grad_inputs=(0, 1, 2), **F32),
    OpCase("fused_batch_norm_avg_factor", ("FusedBatchNormV3",), _fused(True, 0.3),
           [BN_X, BN_SCALE, BN_OFFSET, BN_MEAN, BN_VAR], lambda *a: ref_fused_train(*a, factor=0.3), **F32),
    OpCase("fused_batch_norm_infer", ("FusedBatchNormV3", "FusedBatchNormGradV3"), _fused(False),
           [BN_X, BN_SCALE, BN_OFFSET, BN_MEAN, BN_VAR], ref_fused_infer, grad=True, grad_inputs=(0, 1, 2), **F32),
    OpCase("fused_batch_norm_grad_train", ("FusedBatchNormGradV3",), _fused_grad(True),
           [BN_X[::-1].copy(), BN_X, BN_SCALE, BN_X.mean(axis=(0, 1, 2)), BN_X.var(axis=(0, 1, 2))],
           lambda dy, x, s, m, v: ref_fused_grad(dy, x, s, m, v, True), **F32),
    OpCase("fused_batch_norm_grad_infer", ("FusedBatchNormGradV3",), _fused_grad(False),
           [BN_X[::-1].copy(), BN_X, BN_SCALE, BN_MEAN, BN_VAR],
           lambda dy, x, s, m, v: ref_fused_grad(dy, x, s, m, v, False), **F32),
    # composite tf.nn functions
    OpCase("moments", ("Mean", "SquaredDifference", "Squeeze"), lambda x: tf.nn.moments(x, [0, 1, 2]), [IMAGE_4],
           lambda x: (x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))), grad=True),
    OpCase("batch_normalization", ("Rsqrt",),
           lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 0.01),
           [X, G[0], np.abs(G[1]) + 0.5, G[2], X[0]],
           lambda x, m, v, o, s: (x - m) / np.sqrt(v + 0.01) * s + o, grad=True),
    OpCase("l2_normalize", ("Rsqrt", "Maximum"), lambda x: tf.nn.l2_normalize(x, axis=1), [X],
           lambda x: x / np.sqrt((x ** 2).sum(axis=1, keepdims=True)), grad=True),
    OpCase("embedding_lookup", ("GatherV2",), lambda p, i: tf.nn.embedding_lookup(p, i), [X, np.array([2, 0, 2], np.int32)],
           lambda p, i: p[i], grad=True),
]  # fmt: skip

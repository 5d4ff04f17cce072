"""``tf.nn``: neural-network functions (re-exports of the nn op family's API)."""

from nanotf.ops.batch_norm_ops import batch_normalization
from nanotf.ops.batch_norm_ops import fused_batch_norm
from nanotf.ops.batch_norm_ops import moments
from nanotf.ops.conv_ops import conv2d
from nanotf.ops.conv_ops import conv2d_backprop_filter
from nanotf.ops.conv_ops import conv2d_backprop_input
from nanotf.ops.math_ops import sigmoid
from nanotf.ops.math_ops import tanh
from nanotf.ops.nn_impl import bias_add
from nanotf.ops.nn_impl import dropout
from nanotf.ops.nn_impl import elu
from nanotf.ops.nn_impl import embedding_lookup
from nanotf.ops.nn_impl import in_top_k
from nanotf.ops.nn_impl import l2_loss
from nanotf.ops.nn_impl import l2_normalize
from nanotf.ops.nn_impl import leaky_relu
from nanotf.ops.nn_impl import log_softmax
from nanotf.ops.nn_impl import relu
from nanotf.ops.nn_impl import relu6
from nanotf.ops.nn_impl import selu
from nanotf.ops.nn_impl import sigmoid_cross_entropy_with_logits
from nanotf.ops.nn_impl import softmax
from nanotf.ops.nn_impl import softmax_cross_entropy_with_logits
from nanotf.ops.nn_impl import softmax_cross_entropy_with_logits_v2
from nanotf.ops.nn_impl import softplus
from nanotf.ops.nn_impl import softsign
from nanotf.ops.nn_impl import sparse_softmax_cross_entropy_with_logits
from nanotf.ops.nn_impl import xw_plus_b
from nanotf.ops.pooling_ops import avg_pool
from nanotf.ops.pooling_ops import max_pool
from nanotf.layers import rnn_cell
from nanotf.layers.rnn import dynamic_rnn

max_pool2d = max_pool
avg_pool2d = avg_pool

__all__ = [
    "avg_pool",
    "avg_pool2d",
    "batch_normalization",
    "bias_add",
    "conv2d",
    "conv2d_backprop_filter",
    "conv2d_backprop_input",
    "dropout",
    "dynamic_rnn",
    "elu",
    "embedding_lookup",
    "fused_batch_norm",
    "in_top_k",
    "l2_loss",
    "l2_normalize",
    "leaky_relu",
    "log_softmax",
    "max_pool",
    "max_pool2d",
    "moments",
    "relu",
    "relu6",
    "rnn_cell",
    "selu",
    "sigmoid",
    "sigmoid_cross_entropy_with_logits",
    "softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2",
    "softplus",
    "softsign",
    "sparse_softmax_cross_entropy_with_logits",
    "tanh",
    "xw_plus_b",
]

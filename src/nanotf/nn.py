"""``tf.nn``: neural-network functions (re-exports; the nn op family will add relu, softmax, ...)."""

from nanotf.ops.math_ops import sigmoid
from nanotf.ops.math_ops import tanh

__all__ = ["sigmoid", "tanh"]

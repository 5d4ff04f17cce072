"""``tf.train.GradientDescentOptimizer``: ``var -= learning_rate * grad``."""

from __future__ import annotations

from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.train.optimizer import Optimizer
from nanotf.train.optimizer import cast_like

__all__ = ["GradientDescentOptimizer"]


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent (``ApplyGradientDescent`` / ``ResourceApplyGradientDescent``).

    Args:
        learning_rate: a float, tensor, or callable returning one.
        use_locking: the update ops' ``use_locking`` attr.
        name: the scope of the update ops (default ``GradientDescent``).
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._learning_rate_tensor = None

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = convert_to_tensor(lr, name="learning_rate")

    def _apply_dense(self, grad, var):
        alpha = cast_like(self._learning_rate_tensor, var.dtype.base_dtype)
        return apply_op("ApplyGradientDescent", var=var, alpha=alpha, delta=grad, use_locking=self._use_locking).op

    def _resource_apply_dense(self, grad, handle):
        return apply_op("ResourceApplyGradientDescent", var=handle.handle,
                        alpha=cast_like(self._learning_rate_tensor, grad.dtype.base_dtype), delta=grad,
                        use_locking=self._use_locking)  # fmt: skip

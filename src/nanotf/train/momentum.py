"""``tf.train.MomentumOptimizer``: ``accum = momentum * accum + grad; var -= lr * accum`` (or Nesterov's form)."""

from __future__ import annotations

from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.train.optimizer import Optimizer
from nanotf.train.optimizer import cast_like

__all__ = ["MomentumOptimizer"]


class MomentumOptimizer(Optimizer):
    """Momentum SGD; one slot ``momentum`` per variable (``w/Momentum``).

    Args:
        learning_rate: a float, tensor, or callable returning one.
        momentum: a float, tensor, or callable returning one.
        use_locking: the update ops' ``use_locking`` attr.
        name: the scope of the update ops and the slots' suffix (default ``Momentum``).
        use_nesterov: use Nesterov momentum.
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = convert_to_tensor(lr, name="learning_rate")
        self._momentum_tensor = convert_to_tensor(self._call_if_callable(self._momentum), name="momentum")

    def _hyper(self, dtype) -> dict:
        return dict(lr=cast_like(self._learning_rate_tensor, dtype), momentum=cast_like(self._momentum_tensor, dtype),
                    use_locking=self._use_locking, use_nesterov=self._use_nesterov)  # fmt: skip

    def _apply_dense(self, grad, var):
        accum = self.get_slot(var, "momentum")
        return apply_op("ApplyMomentum", var=var, accum=accum, grad=grad, **self._hyper(var.dtype.base_dtype)).op

    def _resource_apply_dense(self, grad, var):
        accum = self.get_slot(var, "momentum")
        return apply_op("ResourceApplyMomentum", var=var.handle, accum=accum.handle, grad=grad,
                        **self._hyper(grad.dtype.base_dtype))  # fmt: skip

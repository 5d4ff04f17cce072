"""``tf.train.AdagradOptimizer``: ``accum += grad**2; var -= lr * grad / sqrt(accum)``."""

from __future__ import annotations

from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import array_ops
from nanotf.train import initializers
from nanotf.train.optimizer import Optimizer
from nanotf.train.optimizer import cast_like

__all__ = ["AdagradOptimizer"]


class AdagradOptimizer(Optimizer):
    """Adagrad; one slot ``accumulator`` per variable (``w/Adagrad``) starting at ``initial_accumulator_value``.

    Args:
        learning_rate: a float, tensor, or callable returning one.
        initial_accumulator_value: the accumulators' start value (> 0).
        use_locking: the update ops' ``use_locking`` attr.
        name: the scope of the update ops and the slots' suffix (default ``Adagrad``).

    Raises:
        ValueError: ``initial_accumulator_value`` is not positive.
    """

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            dtype = v.dtype.base_dtype
            with v.graph.colocate_with(v.op):
                if v.get_shape().is_fully_defined():
                    init = initializers.constant_initializer(self._initial_accumulator_value, dtype=dtype)
                    self._get_or_make_slot_with_initializer(v, init, v.get_shape(), dtype, "accumulator", self._name)
                else:
                    value = array_ops.fill(array_ops.shape(v.initialized_value()),
                                           array_ops.constant(self._initial_accumulator_value, dtype))  # fmt: skip
                    self._get_or_make_slot(v, value, "accumulator", self._name)

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = convert_to_tensor(lr, name="learning_rate")

    def _apply_dense(self, grad, var):
        acc = self.get_slot(var, "accumulator")
        lr = cast_like(self._learning_rate_tensor, var.dtype.base_dtype)
        return apply_op("ApplyAdagrad", var=var, accum=acc, lr=lr, grad=grad, use_locking=self._use_locking).op

    def _resource_apply_dense(self, grad, var):
        acc = self.get_slot(var, "accumulator")
        return apply_op("ResourceApplyAdagrad", var=var.handle, accum=acc.handle,
                        lr=cast_like(self._learning_rate_tensor, grad.dtype.base_dtype), grad=grad,
                        use_locking=self._use_locking)  # fmt: skip

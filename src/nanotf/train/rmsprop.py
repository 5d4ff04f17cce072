"""``tf.train.RMSPropOptimizer``: scaled by a moving average of squared gradients, optionally centered."""

from __future__ import annotations

from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import array_ops
from nanotf.train import initializers
from nanotf.train.optimizer import Optimizer
from nanotf.train.optimizer import cast_like

__all__ = ["RMSPropOptimizer"]


class RMSPropOptimizer(Optimizer):
    """RMSProp. Slots per variable, in creation order: ``rms`` (``w/RMSProp``, starting at ones),
    ``mg`` when centered, ``momentum`` (``w/RMSProp_1``, or ``w/RMSProp_2`` when centered).

    Args:
        learning_rate: a float, tensor, or callable returning one.
        decay: the discount of the moving averages (the ops' ``rho``).
        momentum: the momentum of the update.
        epsilon: added inside the square root.
        use_locking: the update ops' ``use_locking`` attr.
        centered: divide by the variance estimate (``ms - mg**2``) instead of ``ms``.
        name: the scope of the update ops and the slots' suffix (default ``RMSProp``).
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False, centered=False,
                 name="RMSProp"):  # fmt: skip
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            dtype = v.dtype.base_dtype
            if v.get_shape().is_fully_defined():
                init = initializers.ones_initializer(dtype=dtype)
                self._get_or_make_slot_with_initializer(v, init, v.get_shape(), dtype, "rms", self._name)
            else:
                self._get_or_make_slot(v, array_ops.ones_like(v.initialized_value()), "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        call = self._call_if_callable
        self._learning_rate_tensor = convert_to_tensor(call(self._learning_rate), name="learning_rate")
        self._decay_tensor = convert_to_tensor(call(self._decay), name="decay")
        self._momentum_tensor = convert_to_tensor(call(self._momentum), name="momentum")
        self._epsilon_tensor = convert_to_tensor(call(self._epsilon), name="epsilon")

    def _update(self, op_prefix, grad, var, slot):
        dtype = var.dtype.base_dtype
        inputs = dict(var=slot(var), ms=slot(self.get_slot(var, "rms")), mom=slot(self.get_slot(var, "momentum")),
                      lr=cast_like(self._learning_rate_tensor, dtype), rho=cast_like(self._decay_tensor, dtype),
                      momentum=cast_like(self._momentum_tensor, dtype), epsilon=cast_like(self._epsilon_tensor, dtype),
                      grad=grad, use_locking=self._use_locking)  # fmt: skip
        if self._centered:
            return apply_op(op_prefix + "ApplyCenteredRMSProp", mg=slot(self.get_slot(var, "mg")), **inputs)
        return apply_op(op_prefix + "ApplyRMSProp", **inputs)

    def _apply_dense(self, grad, var):
        return self._update("", grad, var, lambda v: v).op

    def _resource_apply_dense(self, grad, var):
        return self._update("Resource", grad, var, lambda v: v.handle)

"""``tf.train.AdamOptimizer``: Adam with TF1's bias correction through ``beta1_power`` / ``beta2_power``.

Besides the slots ``m`` (``W1/Adam``) and ``v`` (``W1/Adam_1``), the optimizer
keeps two scalar variables, ``beta1_power`` and ``beta2_power`` (starting at
``beta1``/``beta2``, colocated with the variable whose name sorts first).
Every step reads them into the updates and then, after all the updates,
multiplies them by ``beta1``/``beta2`` (``Adam/mul``, ``Adam/Assign``).
"""

from __future__ import annotations

from nanotf.framework import graph as graph_lib
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.ops import control_ops
from nanotf.train.optimizer import Optimizer
from nanotf.train.optimizer import assign_op
from nanotf.train.optimizer import cast_like

__all__ = ["AdamOptimizer"]


class AdamOptimizer(Optimizer):
    """Adam (``ApplyAdam`` / ``ResourceApplyAdam``).

    Args:
        learning_rate: a float, tensor, or callable returning one.
        beta1, beta2: decay rates of the first and second moment estimates.
        epsilon: added to the denominator.
        use_locking: the update ops' ``use_locking`` attr.
        name: the scope of the update ops and the slots' suffix (default ``Adam``).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _get_beta_accumulators(self):
        graph = graph_lib.get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph), self._get_non_slot_variable("beta2_power", graph)

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(self._beta1, "beta1_power", first)
        self._create_non_slot_variable(self._beta2, "beta2_power", first)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self):
        call = self._call_if_callable
        self._lr_t = convert_to_tensor(call(self._lr), name="learning_rate")
        self._beta1_t = convert_to_tensor(call(self._beta1), name="beta1")
        self._beta2_t = convert_to_tensor(call(self._beta2), name="beta2")
        self._epsilon_t = convert_to_tensor(call(self._epsilon), name="epsilon")

    def _inputs(self, var, grad, dtype, slot) -> dict:
        beta1_power, beta2_power = self._get_beta_accumulators()
        return dict(var=slot(var), m=slot(self.get_slot(var, "m")), v=slot(self.get_slot(var, "v")),
                    beta1_power=cast_like(beta1_power, dtype), beta2_power=cast_like(beta2_power, dtype),
                    lr=cast_like(self._lr_t, dtype), beta1=cast_like(self._beta1_t, dtype),
                    beta2=cast_like(self._beta2_t, dtype), epsilon=cast_like(self._epsilon_t, dtype), grad=grad,
                    use_locking=self._use_locking)  # fmt: skip

    def _apply_dense(self, grad, var):
        return apply_op("ApplyAdam", **self._inputs(var, grad, var.dtype.base_dtype, lambda v: v)).op

    def _resource_apply_dense(self, grad, var):
        return apply_op("ResourceApplyAdam", **self._inputs(var, grad, grad.dtype.base_dtype, lambda v: v.handle))

    def _finish(self, update_ops, name_scope):
        graph = graph_lib.get_default_graph()
        with graph.control_dependencies(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            with graph.colocate_with(beta1_power.op):
                update_beta1 = assign_op(beta1_power, beta1_power * self._beta1_t, self._use_locking)
                update_beta2 = assign_op(beta2_power, beta2_power * self._beta2_t, self._use_locking)
        return control_ops.group(*update_ops, update_beta1, update_beta2, name=name_scope)

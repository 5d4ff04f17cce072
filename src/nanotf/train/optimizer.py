"""``tf.train.Optimizer``: the base of the TF1 optimizers, building TensorFlow's training graph.

``minimize(loss)`` is ``compute_gradients`` (``tf.gradients`` with respect to
each variable's storage) followed by ``apply_gradients``, which builds, for an
optimizer named ``Adam``::

    W1/Adam, W1/Adam_1, ...       slot variables, created first (slot_creator.py)
    Adam/learning_rate, ...       hyperparameter Consts (``_prepare``)
    Adam/update_W1/ApplyAdam      one update per variable, colocated with it
    Adam/update  (NoOp)           ``_finish``: waits for every update
    Adam  (AssignAdd)             global_step += 1 after ``Adam/update``, when a
                                  global step is passed; else ``Adam`` is the NoOp

and adds the returned op to the ``train_op`` collection. A ref variable is
updated by the ``Apply*`` ops (``_apply_dense``), a resource variable by the
``ResourceApply*`` ops (``_resource_apply_dense``). Subclasses fill
``_create_slots``, ``_prepare``, the two ``_apply`` methods and, if they keep
extra state (Adam's ``beta1_power``), ``_finish``.
"""

from __future__ import annotations

from nanotf.framework import dtypes
from nanotf.framework import graph as graph_lib
from nanotf.framework.graph import GraphKeys
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import convert_to_tensor
from nanotf.framework.tensor import Tensor
from nanotf.ops import control_ops
from nanotf.ops import math_ops
from nanotf.train import gradients as gradients_lib
from nanotf.train import slot_creator
from nanotf.train import variables as variables_lib

__all__ = ["Optimizer"]

_VALID_DTYPES = frozenset([dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64, dtypes.complex64,
                           dtypes.complex128])  # fmt: skip


def _var_key(var) -> tuple:
    return (var.op.graph, var.op.name)


def cast_like(value, dtype):
    """``value`` unchanged when it already has ``dtype`` (a variable stays a variable), else a ``Cast``.

    Keeping a resource variable unconverted lets the op it feeds read it
    inside its own name scope (``update_w/ResourceApplyAdam/ReadVariableOp``),
    as in TensorFlow's graphs.
    """
    if dtypes.as_dtype(value.dtype).base_dtype == dtype:
        return value
    return math_ops.cast(value, dtype)


class _RefVariableProcessor:
    """Updates a ref variable with the ``Apply*`` ops."""

    def __init__(self, var):
        self.var = var

    def target(self):
        return self.var._ref()

    def update_op(self, optimizer, grad):
        return _constrained(self.var, optimizer._apply_dense(grad, self.var))


class _ResourceVariableProcessor:
    """Updates a resource variable with the ``ResourceApply*`` ops."""

    def __init__(self, var):
        self.var = var

    def target(self):
        return self.var.handle

    def update_op(self, optimizer, grad):
        return _constrained(self.var, optimizer._resource_apply_dense(grad, self.var))


def _constrained(var, update_op):
    if var.constraint is None:
        return update_op
    with graph_lib.control_dependencies([update_op]):
        return var.assign(var.constraint(var))


def _processor(var):
    if isinstance(var, variables_lib.ResourceVariable):
        return _ResourceVariableProcessor(var)
    if isinstance(var, variables_lib.RefVariable):
        return _RefVariableProcessor(var)
    raise NotImplementedError(f"Trying to optimize unsupported type {var!r}; pass variables")


def _flatten(var_list) -> list:
    out = []
    for v in var_list if isinstance(var_list, (list, tuple)) else [var_list]:
        if isinstance(v, (list, tuple)):
            out.extend(_flatten(v))
        elif hasattr(v, "_get_variable_list"):
            out.extend(v._get_variable_list())
        else:
            out.append(v)
    return out


class Optimizer:
    """Base class of the TF1 optimizers (``tf.train.Optimizer``).

    Args:
        use_locking: passed to the update ops (nanotf runs ops one at a time,
            so it changes nothing but the attr).
        name: the optimizer's name: the scope of its ops and the suffix of its
            slot variables.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict[str, dict] = {}
        self._non_slot_dict: dict[tuple, object] = {}

    def get_name(self) -> str:
        return self._name

    # -- the public API ---------------------------------------------------------------
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):  # fmt: skip
        """Adds ops that update ``var_list`` to decrease ``loss``; increments ``global_step`` if given.

        Args:
            loss: the scalar tensor to minimize.
            global_step: an integer variable incremented by one after the updates.
            var_list: variables to update (default: the trainable variables).
            gate_gradients: GATE_NONE, GATE_OP (each op's input gradients are
                grouped) or GATE_GRAPH (all gradients are computed first).
            aggregation_method, colocate_gradients_with_ops: passed to ``tf.gradients``.
            name: the scope of the update ops and the returned op's name (default the optimizer's name).
            grad_loss: the gradient to start from (default ones like ``loss``).

        Returns:
            The op that runs one training step.

        Raises:
            ValueError: no variable to optimize, or no variable has a gradient.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, gate_gradients=gate_gradients,
                                                aggregation_method=aggregation_method,
                                                colocate_gradients_with_ops=colocate_gradients_with_ops,
                                                grad_loss=grad_loss)  # fmt: skip
        if not any(g is not None for g, _ in grads_and_vars):
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not support gradients, "
                f"between variables {[str(v) for _, v in grads_and_vars]} and loss {loss}."
            )
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):  # fmt: skip
        """The gradients of ``loss`` with respect to ``var_list``.

        Returns:
            A list of ``(gradient or None, variable)`` pairs.

        Raises:
            ValueError: bad ``gate_gradients`` or no variables.
            TypeError: ``loss`` (or a variable) of a type optimizers do not handle.
        """
        if gate_gradients not in (Optimizer.GATE_NONE, Optimizer.GATE_OP, Optimizer.GATE_GRAPH):
            raise ValueError("gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH.  Not {gate_gradients}")  # fmt: skip
        loss = convert_to_tensor(loss)
        self._assert_valid_dtypes([loss])
        if grad_loss is not None:
            self._assert_valid_dtypes([convert_to_tensor(grad_loss)])
        if var_list is None:
            var_list = variables_lib.trainable_variables() + graph_lib.get_collection(
                GraphKeys.TRAINABLE_RESOURCE_VARIABLES)
        var_list = _flatten(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        targets = [_processor(v).target() for v in var_list]
        grads = gradients_lib.gradients(loss, targets, grad_ys=grad_loss,
                                        gate_gradients=gate_gradients == Optimizer.GATE_OP,
                                        aggregation_method=aggregation_method,
                                        colocate_gradients_with_ops=colocate_gradients_with_ops)  # fmt: skip
        if gate_gradients == Optimizer.GATE_GRAPH:
            grads = control_ops.tuple(grads)
        grads_and_vars = list(zip(grads, var_list))
        self._assert_valid_dtypes([v for g, v in grads_and_vars if g is not None])
        return grads_and_vars

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """Adds the ops that apply ``grads_and_vars``; pairs whose gradient is None are skipped.

        Args:
            grads_and_vars: ``(gradient, variable)`` pairs, as ``compute_gradients`` returns.
            global_step: an integer variable incremented by one after the updates.
            name: the scope of the update ops and the returned op's name.

        Returns:
            The op that applies the gradients (and increments ``global_step``).

        Raises:
            ValueError: no pairs, or every gradient is None.
            TypeError: a gradient that is not a tensor.
        """
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None:
                try:
                    g = convert_to_tensor(g)
                except (TypeError, ValueError):
                    raise TypeError(f"Gradient must be convertible to a Tensor, or None: {g}") from None
            converted.append((g, v, _processor(v)))
        var_list = [v for g, v, _ in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[str(v) for _, v, _ in converted]}.")
        graph = graph_lib.get_default_graph()
        with graph.control_dependencies(None):
            self._create_slots(var_list)
        update_ops = []
        with graph_lib.name_scope(name, self._name) as scope:
            self._prepare()
            for grad, var, processor in converted:
                if grad is None:
                    continue
                with graph_lib.name_scope("update_" + var.op.name), graph.colocate_with(var.op):
                    update_ops.append(processor.update_op(self, grad))
            if global_step is None:
                train_op = self._finish(update_ops, scope)
            else:
                with graph.control_dependencies([self._finish(update_ops, "update")]):
                    train_op = _increment(graph, global_step, scope)
            if isinstance(train_op, Tensor):
                train_op = train_op.op
            collection = graph.get_collection_ref(GraphKeys.TRAIN_OP)
            if train_op not in collection:
                collection.append(train_op)
        return train_op

    def get_slot(self, var, name):
        """The slot variable ``name`` (e.g. ``"m"``) of ``var``, or None."""
        return self._slots.get(name, {}).get(_var_key(var))

    def get_slot_names(self) -> list:
        """The names of this optimizer's slots, sorted (``["m", "v"]`` for Adam)."""
        return sorted(self._slots)

    def variables(self) -> list:
        """This optimizer's slot and non-slot variables in the default graph, sorted by name."""
        graph = graph_lib.get_default_graph()
        found = [v for v in self._non_slot_dict.values() if v.graph is graph]
        found += [v for slots in self._slots.values() for v in slots.values() if v.graph is graph]
        return sorted(found, key=lambda v: v.name)

    # -- for subclasses --------------------------------------------------------------------
    def _create_slots(self, var_list) -> None:
        """Creates the slot variables of ``var_list`` (none by default)."""

    def _prepare(self) -> None:
        """Creates the hyperparameter tensors, inside the optimizer's name scope."""

    def _apply_dense(self, grad, var):
        raise NotImplementedError(f"{type(self).__name__} cannot update ref variables")

    def _resource_apply_dense(self, grad, handle):
        raise NotImplementedError(f"{type(self).__name__} cannot update resource variables")

    def _finish(self, update_ops, name_scope):
        """The op that waits for ``update_ops``, named ``name_scope``."""
        return control_ops.group(*update_ops, name=name_scope)

    def _assert_valid_dtypes(self, tensors) -> None:
        for t in tensors:
            dtype = dtypes.as_dtype(t.dtype).base_dtype
            if dtype not in _VALID_DTYPES:
                valid = [d.name for d in sorted(_VALID_DTYPES, key=lambda d: d.name)]
                raise ValueError(f"Invalid type {dtype.name} for {t.name}, expected: {valid}.")

    @staticmethod
    def _call_if_callable(param):
        return param() if callable(param) else param

    def _slot_dict(self, slot_name) -> dict:
        return self._slots.setdefault(slot_name, {})

    def _zeros_slot(self, var, slot_name, op_name):
        """The zero-filled slot ``slot_name`` of ``var``, created as ``<var>/<op_name>`` on first use."""
        slots = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in slots:
            slots[key] = slot_creator.create_zeros_slot(var, op_name)
        return slots[key]

    def _get_or_make_slot(self, var, val, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created from the tensor ``val`` on first use."""
        slots = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in slots:
            slots[key] = slot_creator.create_slot(var, val, op_name)
        return slots[key]

    def _get_or_make_slot_with_initializer(self, var, initializer, shape, dtype, slot_name, op_name):
        """The slot ``slot_name`` of ``var``, created with ``initializer`` on first use."""
        slots = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in slots:
            slots[key] = slot_creator.create_slot_with_initializer(var, initializer, shape, dtype, op_name)
        return slots[key]

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        """A variable of the optimizer itself (Adam's ``beta1_power``), one per graph, colocated with a variable."""
        graph = colocate_with.graph
        key = (name, graph)
        var = self._non_slot_dict.get(key)
        if var is None:
            resource = isinstance(colocate_with, variables_lib.ResourceVariable)
            with graph.as_default(), graph.colocate_with(colocate_with.op):
                var = variables_lib.Variable(initial_value, name=name, trainable=False, use_resource=resource)
            self._non_slot_dict[key] = var
        return var

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph or graph_lib.get_default_graph()))


def _increment(graph, global_step, scope):
    """``global_step += 1`` named like the optimizer's scope, colocated with the step."""
    with graph.colocate_with(global_step.op):
        if isinstance(global_step, variables_lib.ResourceVariable):
            one = convert_to_tensor(1, dtype=global_step.dtype)
            return apply_op("AssignAddVariableOp", resource=global_step.handle, value=one, name=scope)
        return apply_op("AssignAdd", ref=global_step, value=1, use_locking=False, name=scope)


def assign_op(variable, value, use_locking):
    """``variable.assign(value)`` as TF's optimizers build it; returns the op to wait for.

    For a resource variable TF's ``assign`` returns a lazily read value whose
    read op (after the assignment) is part of the graph; it is built here too,
    so the graph matches TF's node for node.
    """
    if isinstance(variable, variables_lib.ResourceVariable):
        op = variable.assign(value, read_value=False)
        with graph_lib.control_dependencies([op]):
            variable._read()  # inside the caller's colocation scope, as TF's lazy read is
        return op
    return variable.assign(value, use_locking=use_locking)

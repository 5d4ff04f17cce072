"""Slot variables: an optimizer's per-variable state (``W1/Adam``, ``w/Momentum``, ``w/RMSProp_1``).

A slot for primary variable ``W1`` and optimizer name ``Adam`` is created as
TensorFlow creates it, so checkpoints and meta graphs agree:

* inside ``variable_scope(None, default_name="W1/Adam")``, whose unique name
  gives ``W1/Adam``, then ``W1/Adam_1`` for a second slot of the same name;
* by ``get_variable("")`` (the full name is the scope itself), not trainable,
  in GLOBAL_VARIABLES, with the initializer ops under ``W1/Adam/Initializer/``;
* colocated with the primary (``_class: loc:@W1`` on every op);
* a resource variable if the primary is one, a ref variable if it is one;
* a slice of the full slot when the primary is a partition (``SaveSliceInfo``
  ``<full name>/Adam``), so partitioned slots save like partitioned variables.
"""

from __future__ import annotations

from nanotf.framework.tensor_shape import as_shape
from nanotf.ops import array_ops
from nanotf.train import initializers
from nanotf.train import variable_scope
from nanotf.train.variables import SaveSliceInfo

__all__ = ["create_slot", "create_slot_with_initializer", "create_zeros_slot"]


def _create_slot_var(primary, val, validate_shape, shape, dtype):
    scope = variable_scope.get_variable_scope()
    partitioner, scope.partitioner = scope.partitioner, None
    try:
        slot = variable_scope.get_variable(
            "", initializer=val, trainable=False, use_resource=getattr(primary, "_is_resource", None),
            shape=shape if callable(val) else None, dtype=dtype, validate_shape=validate_shape,
        )
    finally:
        scope.partitioner = partitioner
    info = primary._get_save_slice_info() if hasattr(primary, "_get_save_slice_info") else None
    if info is not None:
        slot_name = slot.op.name[len(primary.op.name) + 1 :]
        slot._set_save_slice_info(SaveSliceInfo(f"{info.full_name}/{slot_name}", info.full_shape, info.var_offset,
                                                info.var_shape))  # fmt: skip
    return slot


def _slot_scope(primary, name):
    return variable_scope.variable_scope(None, default_name=f"{primary.op.name}/{name}")


def _colocated(primary, colocate_with_primary):
    graph = primary.op.graph
    return graph.colocate_with(primary.op) if colocate_with_primary else graph.colocate_with(None, True)


def create_slot(primary, val, name, colocate_with_primary=True):
    """A slot variable for ``primary`` initialized to the tensor ``val``.

    Args:
        primary: the variable (or tensor) the slot belongs to.
        val: the initial value, a tensor.
        name: the slot's name suffix, usually the optimizer's name.
        colocate_with_primary: put the slot's ops with the primary's.

    Returns:
        The slot variable.
    """
    with _slot_scope(primary, name):
        with _colocated(primary, colocate_with_primary):
            return _create_slot_var(primary, val, val.shape.is_fully_defined(), None, val.dtype.base_dtype)


def create_slot_with_initializer(primary, initializer, shape, dtype, name, colocate_with_primary=True):
    """A slot variable for ``primary`` of ``shape`` and ``dtype``, filled by ``initializer``.

    Args:
        primary: the variable the slot belongs to.
        initializer: a callable ``(shape, dtype=..., partition_info=...) -> Tensor``.
        shape: the slot's shape (the primary's, usually).
        dtype: the slot's dtype.
        name: the slot's name suffix, usually the optimizer's name.
        colocate_with_primary: put the slot's ops with the primary's.

    Returns:
        The slot variable.
    """
    shape = as_shape(shape)
    with _slot_scope(primary, name):
        with _colocated(primary, colocate_with_primary):
            return _create_slot_var(primary, initializer, shape.is_fully_defined(), shape, dtype)


def create_zeros_slot(primary, name, dtype=None, colocate_with_primary=True):
    """A zero-filled slot variable shaped like ``primary`` (``W1/Adam``, ``w/Momentum``).

    Args:
        primary: the variable the slot belongs to.
        name: the slot's name suffix, usually the optimizer's name.
        dtype: the slot's dtype (default the primary's).
        colocate_with_primary: put the slot's ops with the primary's.

    Returns:
        The slot variable.
    """
    dtype = dtype or primary.dtype.base_dtype
    shape = primary.get_shape()
    if shape.is_fully_defined():
        return create_slot_with_initializer(primary, initializers.zeros_initializer(), shape, dtype, name,
                                            colocate_with_primary)  # fmt: skip
    source = primary.initialized_value() if hasattr(primary, "initialized_value") else primary
    val = array_ops.zeros(array_ops.shape(source), dtype=dtype)
    return create_slot(primary, val, name, colocate_with_primary)

"""Variable ops: ref variables (``VariableV2``, ``Assign``...) and resource variables (``VarHandleOp``...).

These kernels are stateful: they are registered with ``uses_store=True`` and
receive a runtime context ``ctx`` with ``ctx.name`` (the op's name) and
``ctx.store`` (the session's variable store, runtime/variable_store.py):

* a ref variable lives under its ``VariableV2`` op name; ``VariableV2``
  outputs ``ctx.store.ref(name, dtype, shape)``, a reference that ref-typed
  inputs (``Assign``) receive as is and that the executor dereferences for
  every other consumer;
* a resource variable lives under (container, shared_name); ``VarHandleOp``
  outputs a handle from ``ctx.store.handle(...)`` and the other ops read or
  write through it.
"""

from __future__ import annotations

import numpy as np

from nanotf import errors
from nanotf.framework.registry import NOT_DIFFERENTIABLE
from nanotf.framework.registry import register_op
from nanotf.framework.tensor_shape import TensorShape
from nanotf.ops._types import NUMBER


# -- ref variables --------------------------------------------------------------
def _variable_v2(ctx, attrs):
    return ctx.store.ref(ctx.name, attrs["dtype"], attrs["shape"])


register_op("VariableV2", [], ["ref: Ref(dtype)"],
            ["shape: shape", "dtype: type", "container: string = ''", "shared_name: string = ''"],
            shape=lambda op: [TensorShape(op.get_attr("shape"))], kernel=_variable_v2, uses_store=True,
            is_stateful=True)  # fmt: skip


def _check_same_shape(ref, value, what):
    declared = ref.declared_shape
    if declared is not None and tuple(declared) != value.shape:
        raise errors.InvalidArgumentError(
            f"{what}: shapes of the variable '{ref.name}' {list(declared)} and the value {list(value.shape)} differ"
        )


def _assign(ctx, attrs, ref, value):
    if attrs["validate_shape"]:
        _check_same_shape(ref, value, "Assign requires shapes of both tensors to match")
    ref.write(value)
    return ref


def _assign_update(sign):
    def kernel(ctx, attrs, ref, value):
        current = ref.read()
        if current.shape != value.shape and value.size != 1:
            raise errors.InvalidArgumentError(
                f"Must have the same shape: variable '{ref.name}' is {list(current.shape)}, update is {list(value.shape)}"
            )
        ref.write(np.asarray(current + value if sign > 0 else current - value, dtype=current.dtype))
        return ref

    return kernel


def _ref_shape(op):
    return [op.inputs[0].shape]


register_op("Assign", ["ref: Ref(T)", "value: T"], ["output_ref: Ref(T)"],
            ["T: type", "validate_shape: bool = true", "use_locking: bool = true"],
            shape=lambda op: [op.inputs[1].shape if not op.get_attr("validate_shape") else
                              op.inputs[0].shape.merge_with(op.inputs[1].shape)],
            kernel=_assign, uses_store=True, allows_uninitialized_input=True)  # fmt: skip
register_op("AssignAdd", ["ref: Ref(T)", "value: T"], ["output_ref: Ref(T)"], [f"T: {NUMBER}", "use_locking: bool = false"],
            shape=_ref_shape, kernel=_assign_update(1), uses_store=True)  # fmt: skip
register_op("AssignSub", ["ref: Ref(T)", "value: T"], ["output_ref: Ref(T)"], [f"T: {NUMBER}", "use_locking: bool = false"],
            shape=_ref_shape, kernel=_assign_update(-1), uses_store=True)  # fmt: skip
register_op("IsVariableInitialized", ["ref: Ref(dtype)"], ["is_initialized: bool"], ["dtype: type"],
            shape=lambda op: [TensorShape([])], kernel=lambda ctx, attrs, ref: np.array(ref.initialized),
            uses_store=True, allows_uninitialized_input=True, grad=NOT_DIFFERENTIABLE)  # fmt: skip


# -- resource variables -----------------------------------------------------------
def _var_handle(ctx, attrs):
    shared = attrs["shared_name"].decode() or ctx.name
    return ctx.store.handle(attrs["container"].decode(), shared, attrs["dtype"], attrs["shape"])


register_op("VarHandleOp", [], ["resource: resource"],
            ["container: string = ''", "shared_name: string = ''", "debug_name: string = ''", "dtype: type",
             "shape: shape", "allowed_devices: list(string) = []"],
            shape=lambda op: [TensorShape([])], kernel=_var_handle, uses_store=True, is_stateful=True)  # fmt: skip


def handle_shape(handle_tensor) -> TensorShape:
    """The variable shape behind a resource tensor, if its ``VarHandleOp`` is visible."""
    op = handle_tensor.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type == "VarHandleOp":
        return TensorShape(op.get_attr("shape"))
    return TensorShape(None)


def _read_variable(ctx, attrs, handle):
    value = ctx.store.read_resource(handle)
    if value.dtype != np.dtype(attrs["dtype"].as_numpy_dtype):
        raise errors.InvalidArgumentError(
            f"Trying to read variable with wrong dtype. Expected {attrs['dtype'].name} got {value.dtype}"
        )
    return value


register_op("ReadVariableOp", ["resource: resource"], ["value: dtype"], ["dtype: type"],
            shape=lambda op: [handle_shape(op.inputs[0])], kernel=_read_variable, uses_store=True,
            is_stateful=True, grad=lambda op, grad: [grad])  # fmt: skip


def _assign_variable(ctx, attrs, handle, value):
    if attrs["validate_shape"]:
        declared = ctx.store.resource_shape(handle)
        if declared is not None and tuple(declared) != value.shape:
            raise errors.InvalidArgumentError(
                f"Trying to assign to variable with tensor with wrong shape. Expected {list(declared)} got {list(value.shape)}"
            )
    ctx.store.write_resource(handle, value)
    return ()


def _assign_update_variable(sign):
    def kernel(ctx, attrs, handle, value):
        current = ctx.store.read_resource(handle)
        ctx.store.write_resource(handle, np.asarray(current + value if sign > 0 else current - value, dtype=current.dtype))
        return ()

    return kernel


register_op("AssignVariableOp", ["resource: resource", "value: dtype"], [], ["dtype: type", "validate_shape: bool = false"],
            shape=lambda op: [], kernel=_assign_variable, uses_store=True, is_stateful=True)  # fmt: skip
register_op("AssignAddVariableOp", ["resource: resource", "value: dtype"], [], ["dtype: type"],
            shape=lambda op: [], kernel=_assign_update_variable(1), uses_store=True, is_stateful=True)  # fmt: skip
register_op("AssignSubVariableOp", ["resource: resource", "value: dtype"], [], ["dtype: type"],
            shape=lambda op: [], kernel=_assign_update_variable(-1), uses_store=True, is_stateful=True)  # fmt: skip
register_op("VarIsInitializedOp", ["resource: resource"], ["is_initialized: bool"], [],
            shape=lambda op: [TensorShape([])], uses_store=True, is_stateful=True, grad=NOT_DIFFERENTIABLE,
            kernel=lambda ctx, attrs, handle: np.array(ctx.store.resource_initialized(handle)))  # fmt: skip


def _destroy(ctx, attrs, handle):
    ctx.store.destroy_resource(handle, ignore_missing=attrs["ignore_lookup_error"])
    return ()


register_op("DestroyResourceOp", ["resource: resource"], [], ["ignore_lookup_error: bool = true"],
            shape=lambda op: [], kernel=_destroy, uses_store=True, is_stateful=True)  # fmt: skip


# -- Python API ----------------------------------------------------------------------
def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """``ref = value`` for a ref variable / tensor or a variable object; returns the new value."""
    if hasattr(ref, "assign"):
        return ref.assign(value, use_locking=use_locking, name=name)
    from nanotf.framework.op_def_library import apply_op

    return apply_op("Assign", ref=ref, value=value, validate_shape=True if validate_shape is None else validate_shape,
                    use_locking=True if use_locking is None else use_locking, name=name or "Assign")  # fmt: skip


def assign_add(ref, value, use_locking=None, name=None):
    if hasattr(ref, "assign_add"):
        return ref.assign_add(value, use_locking=use_locking, name=name)
    from nanotf.framework.op_def_library import apply_op

    return apply_op("AssignAdd", ref=ref, value=value, use_locking=bool(use_locking), name=name or "AssignAdd")


def assign_sub(ref, value, use_locking=None, name=None):
    if hasattr(ref, "assign_sub"):
        return ref.assign_sub(value, use_locking=use_locking, name=name)
    from nanotf.framework.op_def_library import apply_op

    return apply_op("AssignSub", ref=ref, value=value, use_locking=bool(use_locking), name=name or "AssignSub")


def is_variable_initialized(variable):
    return variable.is_initialized()


__all__ = ["assign", "assign_add", "assign_sub", "is_variable_initialized", "handle_shape"]

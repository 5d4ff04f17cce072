"""The ``save/...`` subgraph of a ``tf.train.Saver``, op for op as TensorFlow builds it.

For var_list ``[bias]`` (a ref variable), scope ``save``::

    save/filename/input (Const "model") -> save/filename -> save/Const   (PlaceholderWithDefault, shape [])
    save/SaveV2(save/Const, tensor_names, shape_and_slices, bias)       -> save/control_dependency (Identity)
    save/RestoreV2 (CPU:0) -> save/Assign(bias, save/RestoreV2)         -> save/restore_all (NoOp)

A resource variable is saved through its ``<v>/Read/ReadVariableOp`` and
restored by ``save/Identity`` + ``save/AssignVariableOp``. ``sharded=True``
writes one bundle per device group under ``<prefix>_temp/part-...`` and
merges them (``save/MergeV2Checkpoints``, then ``save/Identity``). Saveables
are sorted by checkpoint key, which fixes the data-file order.
"""

from __future__ import annotations

import collections

from nanotf.framework import device as device_lib
from nanotf.framework import graph as graph_lib
from nanotf.framework import registry
from nanotf.framework.graph import Tensor
from nanotf.framework.op_def_library import apply_op
from nanotf.framework.op_def_library import constant
from nanotf.ops import control_ops
from nanotf.protos import meta_graph_pb2

__all__ = ["SaveSpec", "SaveableObject", "BaseSaverBuilder", "BulkSaverBuilder", "op_list_to_dict",
           "validate_and_slice_inputs"]  # fmt: skip

_REF_VARIABLE_OPS = ("Variable", "VariableV2", "AutoReloadVariable")


class SaveSpec:
    """One tensor to save: its value (or a function building it), slice spec and key."""

    def __init__(self, tensor, slice_spec: str, name: str, dtype=None, device=None):
        self._tensor = tensor
        self.slice_spec = slice_spec
        self.name = name
        self.dtype = dtype if dtype is not None else tensor.dtype.base_dtype
        self.device = device if device is not None else tensor.device

    @property
    def tensor(self) -> Tensor:
        return self._tensor() if callable(self._tensor) else self._tensor


class SaveableObject:
    """Something the Saver saves and restores: ``specs`` out, ``restore`` in."""

    def __init__(self, op, specs, name):
        self.op = op
        self.specs = specs
        self.name = name

    def restore(self, restored_tensors, restored_shapes):
        raise NotImplementedError


class ReferenceVariableSaveable(SaveableObject):
    """A ``VariableV2`` (or one slice of a partitioned one), restored with ``Assign``."""

    def __init__(self, var, slice_spec: str, name: str):
        ref = var._ref() if hasattr(var, "_ref") else var
        tensor = ref if isinstance(var, Tensor) else var._graph_element
        super().__init__(ref, [SaveSpec(tensor, slice_spec, name, dtype=ref.dtype.base_dtype, device=ref.device)], name)

    def restore(self, restored_tensors, restored_shapes):
        value = _restored_value(restored_tensors, restored_shapes)
        validate = restored_shapes is None and self.op.shape.is_fully_defined()
        return apply_op("Assign", ref=self.op, value=value, validate_shape=validate, use_locking=True, name="Assign")


class ResourceVariableSaveable(SaveableObject):
    """A resource variable: saved from a read, restored with ``AssignVariableOp``.

    ``var`` is the variable's graph element (its ``Read/ReadVariableOp``
    tensor) for a whole variable, or the variable object for a slice, which is
    then read inside the save scope (``save/Read/ReadVariableOp``).
    """

    def __init__(self, var, slice_spec: str, name: str):
        self._var_device = var.device
        self._var_shape = var.shape
        if isinstance(var, Tensor):
            self.handle_op = var.op.inputs[0]
            tensor = var
        else:
            self.handle_op = var.handle
            tensor = _read_no_copy(var)
        spec = SaveSpec(tensor, slice_spec, name, dtype=var.dtype.base_dtype, device=var.device)
        super().__init__(var, [spec], name)

    def restore(self, restored_tensors, restored_shapes):
        value = _restored_value(restored_tensors, restored_shapes)
        graph = graph_lib.get_default_graph()
        with graph.device(self._var_device):
            value = apply_op("Identity", input=value, name="Identity")
            if not self._var_shape.is_compatible_with(value.shape):
                raise ValueError(f"Shape mismatch restoring {self.name}: {self._var_shape} vs {value.shape}")
            return apply_op("AssignVariableOp", resource=self.handle_op, value=value,
                            dtype=value.dtype.base_dtype, name="AssignVariableOp")  # fmt: skip


def _restored_value(restored_tensors, restored_shapes):
    """The one restored tensor of a variable, reshaped first if the Saver has ``reshape=True``."""
    if restored_shapes is None:
        return restored_tensors[0]
    return apply_op("Reshape", tensor=restored_tensors[0], shape=restored_shapes[0], name="Reshape")


def _read_no_copy(var):
    """TF's read of a variable slice for saving: Read/[DisableCopyOnRead, ReadVariableOp], Identity, CPU Identity."""

    def read():
        graph = graph_lib.get_default_graph()
        with graph.device(var.device):
            with graph.name_scope("Read"):
                if registry.lookup("DisableCopyOnRead") is not None:
                    apply_op("DisableCopyOnRead", resource=var.handle)
                value = apply_op("ReadVariableOp", resource=var.handle, dtype=var.dtype.base_dtype)
            value = apply_op("Identity", input=value, name="Identity")
            with graph.device("/device:CPU:0"):
                return apply_op("Identity", input=value, name="Identity")

    return read


def _is_partitioned(var) -> bool:
    return hasattr(var, "_get_variable_list")


def _is_variable(var) -> bool:
    return hasattr(var, "_graph_element") and hasattr(var, "_save_slice_info")


def _tensor_of(var) -> Tensor:
    if _is_variable(var):
        return var._graph_element if var._is_resource else var._ref()
    if isinstance(var, Tensor):
        return var
    raise TypeError(f"Variable to save is not a Variable: {var}")


def op_list_to_dict(op_list) -> dict:
    """Checkpoint key -> variable, tensor or list of slices, for a Saver's list ``var_list``.

    Raises:
        TypeError: for something that is not a variable.
        ValueError: for two variables with the same key.
    """
    if not isinstance(op_list, (list, tuple, set)):
        raise TypeError(f"Variables to save should be passed in a dict or a list. Got {op_list}")
    flat = []
    for item in op_list:
        flat.extend(item) if isinstance(item, (list, tuple)) else flat.append(item)
    names_to_saveables: dict = {}
    for var in sorted(flat, key=lambda x: x.name):
        if isinstance(var, SaveableObject) or _is_partitioned(var):
            key = var.name
            if key in names_to_saveables:
                raise ValueError(f"At least two variables have the same name: {key}")
            names_to_saveables[key] = var
        elif _is_variable(var) and var._save_slice_info is not None:
            key = var._save_slice_info.full_name
            slices = names_to_saveables.setdefault(key, [])
            if not isinstance(slices, list):
                raise ValueError(f"Mixing slices and non-slices with the same name: {key}")
            slices.append(var)
        else:
            tensor = _tensor_of(var)
            key = tensor.op.inputs[0].op.name if tensor.op.type == "ReadVariableOp" else tensor.op.name
            if key in names_to_saveables:
                raise ValueError(f"At least two variables have the same name: {key}")
            names_to_saveables[key] = var
    return names_to_saveables


def _saveables_for_op(op, name: str):
    if not isinstance(name, str):
        raise TypeError(f"names_to_saveables must be a dict mapping string names to trackable operations. "
                        f"Name is not a string: {name}")  # fmt: skip
    if isinstance(op, SaveableObject):
        yield op
    elif isinstance(op, (list, tuple)) or _is_partitioned(op):
        slices = op._get_variable_list() if _is_partitioned(op) else op
        full_name = None
        for var in slices:
            info = getattr(var, "_save_slice_info", None)
            if info is None:
                raise ValueError(f"Slices must all be slices: {var}")
            if full_name is None:
                full_name = info.full_name
            elif full_name != info.full_name:
                raise ValueError(f"Slices must all be from the same tensor: {full_name} != {info.full_name}")
            cls = ResourceVariableSaveable if var._is_resource else ReferenceVariableSaveable
            yield cls(var, info.spec, name)
    else:
        tensor = _tensor_of(op)
        if tensor.op.type in _REF_VARIABLE_OPS:
            yield ReferenceVariableSaveable(tensor, "", name)
        elif tensor.op.type == "ReadVariableOp":
            yield ResourceVariableSaveable(tensor, "", name)
        else:
            raise TypeError(f"names_to_saveables must be a dict mapping string names to Tensors/Variables. "
                            f"Not a variable: {tensor}")  # fmt: skip


def validate_and_slice_inputs(names_to_saveables) -> list:
    """The SaveableObjects of a Saver's var_list, sorted by key (slices in partition order).

    Raises:
        ValueError: if one variable would be saved under two keys.
    """
    if not isinstance(names_to_saveables, dict):
        names_to_saveables = op_list_to_dict(names_to_saveables)
    saveables, seen = [], set()
    for name, op in sorted(names_to_saveables.items(), key=lambda x: x[0]):
        for saveable in _saveables_for_op(op, name):
            if id(saveable.op) in seen:
                raise ValueError(f"The same saveable will be restored with two names: {name}")
            seen.add(id(saveable.op))
            saveables.append(saveable)
    return saveables


class BaseSaverBuilder:
    """Builds the save and restore ops of a Saver (TF's ``BaseSaverBuilder``)."""

    SaveSpec = SaveSpec
    SaveableObject = SaveableObject

    def __init__(self, write_version=meta_graph_pb2.SaverDef.V2):
        self._write_version = write_version

    # -- the ops ---------------------------------------------------------------
    def save_op(self, filename_tensor, saveables):
        specs = _all_specs(saveables)
        names, slices = [s.name for s in specs], [s.slice_spec for s in specs]
        tensors = [s.tensor for s in specs]
        if self._write_version == meta_graph_pb2.SaverDef.V1:
            return apply_op("SaveSlices", filename=filename_tensor, tensor_names=names, shapes_and_slices=slices,
                            data=tensors, name="save")  # fmt: skip
        if self._write_version == meta_graph_pb2.SaverDef.V2:
            return apply_op("SaveV2", prefix=filename_tensor, tensor_names=names, shape_and_slices=slices,
                            tensors=tensors)  # fmt: skip
        raise RuntimeError(f"Unexpected write_version: {self._write_version}")

    def bulk_restore(self, filename_tensor, saveables, preferred_shard, restore_sequentially):
        del preferred_shard, restore_sequentially
        specs = _all_specs(saveables)
        names, slices, types = [s.name for s in specs], [s.slice_spec for s in specs], [s.dtype for s in specs]
        with graph_lib.get_default_graph().device("cpu:0"):
            out = apply_op("RestoreV2", prefix=filename_tensor, tensor_names=names, shape_and_slices=slices,
                           dtypes=types)  # fmt: skip
        return out if isinstance(out, list) else [out]

    def sharded_filename(self, filename_tensor, shard, num_shards):
        return apply_op("ShardedFilename", basename=filename_tensor, shard=shard, num_shards=num_shards)

    # -- composition -------------------------------------------------------------
    def _AddSaveOps(self, filename_tensor, saveables):  # noqa: N802 - TF's name, overridable
        save = self.save_op(filename_tensor, saveables)
        return _with_dependencies([save], filename_tensor)

    def _AddRestoreOps(self, filename_tensor, saveables, restore_sequentially, reshape,  # noqa: N802
                       preferred_shard=-1, name="restore_all"):  # fmt: skip
        all_tensors = self.bulk_restore(filename_tensor, saveables, preferred_shard, restore_sequentially)
        assign_ops, idx = [], 0
        for saveable in saveables:
            shapes = None
            if reshape:
                shapes = []
                for spec in saveable.specs:
                    t = spec.tensor
                    shape = t.shape
                    shapes.append(shape.as_list() if shape.is_fully_defined() else apply_op("Shape", input=t))
            assign_ops.append(saveable.restore(all_tensors[idx : idx + len(saveable.specs)], shapes))
            idx += len(saveable.specs)
        return control_ops.group(*assign_ops, name=name)

    def _AddShardedSaveOps(self, filename_tensor, per_device):  # noqa: N802
        graph = graph_lib.get_default_graph()
        if self._write_version == meta_graph_pb2.SaverDef.V2:
            return self._add_sharded_save_ops_v2(graph, filename_tensor, per_device)
        num_shards = len(per_device)
        sharded_saves = []
        num_shards_tensor = constant(num_shards, name="num_shards")
        for shard, (device, saveables) in enumerate(per_device):
            with graph.device(device):
                sharded = self.sharded_filename(filename_tensor, shard, num_shards_tensor)
                sharded_saves.append(self._AddSaveOps(sharded, saveables))
        with graph.control_dependencies([x.op for x in sharded_saves]):
            return apply_op("ShardedFilespec", basename=filename_tensor, num_shards=num_shards_tensor)

    def _add_sharded_save_ops_v2(self, graph, checkpoint_prefix, per_device):
        with graph.device("/device:CPU:*"):  # TF: ops.device("CPU")
            is_s3 = apply_op("StaticRegexFullMatch", input=checkpoint_prefix, pattern="^s3://.*")
            suffix = apply_op("Select", condition=is_s3, t=constant(".part"), e=constant("_temp/part"))
            tmp_prefix = apply_op("StringJoin", inputs=[checkpoint_prefix, suffix])
        num_shards = len(per_device)
        sharded_saves, sharded_prefixes = [], []
        num_shards_tensor = constant(num_shards, name="num_shards")
        last_device = None
        for shard, (device, saveables) in enumerate(per_device):
            last_device = device
            with graph.device(_set_cpu0(device)):
                sharded = self.sharded_filename(tmp_prefix, shard, num_shards_tensor)
                sharded_prefixes.append(sharded)
                sharded_saves.append(self._AddSaveOps(sharded, saveables))
        with graph.control_dependencies([x.op for x in sharded_saves]):
            with graph.device(_set_cpu0(last_device)):
                merge = apply_op("MergeV2Checkpoints", checkpoint_prefixes=sharded_prefixes,
                                 destination_prefix=checkpoint_prefix, delete_old_dirs=True)  # fmt: skip
                with graph.control_dependencies([merge]):
                    return apply_op("Identity", input=checkpoint_prefix, name="Identity")

    def _AddShardedRestoreOps(self, filename_tensor, per_device, restore_sequentially, reshape):  # noqa: N802
        graph = graph_lib.get_default_graph()
        restores = []
        for shard, (device, saveables) in enumerate(per_device):
            with graph.device(device):
                restores.append(self._AddRestoreOps(filename_tensor, saveables, restore_sequentially, reshape,
                                                    preferred_shard=shard, name="restore_shard"))  # fmt: skip
        return control_ops.group(*restores, name="restore_all")

    def _GroupByDevices(self, saveables):  # noqa: N802
        per_device = collections.defaultdict(list)
        for saveable in saveables:
            devices = {device_lib.canonical_name(spec.device) for spec in saveable.specs}
            if len(devices) != 1:
                raise ValueError(f"All tensors of a saveable object must be on the same device: {saveable.name}")
            per_device[devices.pop()].append(saveable)
        return sorted(per_device.items(), key=lambda t: t[0])

    def _build_internal(self, names_to_saveables, reshape=False, sharded=False, max_to_keep=5,
                        keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                        filename="model", build_save=True, build_restore=True) -> meta_graph_pb2.SaverDef:  # fmt: skip
        """Adds the save/restore ops for ``names_to_saveables``; returns the SaverDef naming them."""
        if not build_save or not build_restore:
            raise ValueError("save and restore operations need to be built together when eager execution is not enabled.")
        saveables = validate_and_slice_inputs(names_to_saveables)
        if max_to_keep is None:
            max_to_keep = 0
        graph = graph_lib.get_default_graph()
        with graph.name_scope(name or "save"):
            filename_tensor = apply_op("PlaceholderWithDefault", input=filename or "model", shape=[], name="filename")
            filename_tensor = apply_op("PlaceholderWithDefault", input=filename_tensor, shape=[], name="Const")
            if sharded:
                per_device = self._GroupByDevices(saveables)
                save_tensor = self._AddShardedSaveOps(filename_tensor, per_device)
                restore_op = self._AddShardedRestoreOps(filename_tensor, per_device, restore_sequentially, reshape)
            else:
                save_tensor = self._AddSaveOps(filename_tensor, saveables)
                restore_op = self._AddRestoreOps(filename_tensor, saveables, restore_sequentially, reshape)
        return meta_graph_pb2.SaverDef(
            filename_tensor_name=filename_tensor.name, save_tensor_name=save_tensor.name,
            restore_op_name=restore_op.name, max_to_keep=max_to_keep, sharded=sharded,
            keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours, version=self._write_version,
        )  # fmt: skip


class BulkSaverBuilder(BaseSaverBuilder):
    """TF's default builder: one RestoreV2 for all tensors (what ``BaseSaverBuilder`` does here too)."""


def _all_specs(saveables) -> list:
    return [spec for saveable in saveables for spec in saveable.specs]


def _set_cpu0(device: str) -> str:
    """``device`` with its device type and index replaced by CPU:0, keeping job/replica/task."""
    spec = device_lib.canonical_name(device) if device else ""
    kept = [p for p in spec.split("/") if p and not p.startswith("device:")]
    return "/".join([""] + kept + ["device:CPU:0"])


def _with_dependencies(dependencies, output_tensor):
    """``Identity(output_tensor)`` named ``control_dependency``, run after ``dependencies``."""
    graph = graph_lib.get_default_graph()
    with graph.name_scope("control_dependency") as scope:
        with graph.colocate_with(output_tensor.op), graph.control_dependencies(dependencies):
            return apply_op("Identity", input=output_tensor, name=scope)

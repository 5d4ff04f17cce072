"""``tf.train.Saver``: save and restore variables through the graph's ``save/...`` ops.

``save`` first removes temp files that killed saves to the same path left
behind, runs the SaverDef's save tensor feeding the checkpoint prefix (the
bundle is written to temp names and renamed into place), writes
``<prefix>.meta`` (temp file, fsync, rename), and only then the ``checkpoint``
state file, so the state file always names a complete checkpoint. Last it
deletes at most one old checkpoint of this Saver (``max_to_keep``;
``keep_checkpoint_every_n_hours`` spares one every n hours).

Deleting is deliberately narrower than TensorFlow's glob: an old checkpoint
is removed only if this process wrote every one of its files and they are
still those files (``formats/journal.py``); otherwise it is kept whole. A
checkpoint adopted with ``recover_last_checkpoints`` from an earlier run, or
any path a hostile state file lists, leaves the Saver's list as in
TensorFlow but stays on disk (with a warning); ``remove_checkpoint``
deletes on request. ``restore`` checks the checkpoint exists and runs the
restore op.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time

import numpy as np

from nanotf import errors
from nanotf.formats import bundle, inventory, storage
from nanotf.framework import graph as graph_lib
from nanotf.framework.graph import GraphKeys
from nanotf.protos import meta_graph_pb2
from nanotf.train import async_save
from nanotf.train import checkpoint_management
from nanotf.train import meta_graph
from nanotf.train.save_plan import SavePlan
from nanotf.train.saver_builder import BulkSaverBuilder

__all__ = ["Saver", "import_meta_graph", "export_meta_graph", "meta_graph_filename", "remove_checkpoint"]

_log = logging.getLogger("nanotf")


def meta_graph_filename(checkpoint_filename: str, meta_graph_suffix: str = "meta") -> str:
    """``<prefix>.meta`` for a checkpoint, a sharded ``-?????-of-N`` suffix stripped first."""
    base = re.sub(r"-[\d\?]+-of-\d+$", "", checkpoint_filename)
    return f"{base}.{meta_graph_suffix}"


def _checkpoint_files(prefix: str, version, meta_graph_suffix: str) -> list[str]:
    """The files of checkpoint ``prefix``: ``.meta``, then ``.index`` + data files (V2) or the table file(s) (V1)."""
    patterns = [meta_graph_filename(prefix, meta_graph_suffix)]
    if version == meta_graph_pb2.SaverDef.V2:
        patterns += [bundle.index_filename(prefix), prefix + ".data-?????-of-?????"]
    else:
        patterns.append(prefix)
    return [path for pattern in patterns for path in storage.glob(pattern)]


def remove_checkpoint(prefix: str, version=meta_graph_pb2.SaverDef.V2, meta_graph_suffix: str = "meta") -> None:
    """Deletes a checkpoint's files: ``.meta``, then ``.index`` + data files (V2) or the table file (V1).

    Raises:
        OpError: a typed error naming the file if the OS refuses to delete it.
    """
    for path in _checkpoint_files(prefix, version, meta_graph_suffix):
        storage.remove(path)


def _prune_checkpoint(prefix: str, version, meta_graph_suffix: str) -> None:
    """Delete an old checkpoint if this process wrote every one of its files; else keep it whole, and say so."""
    files = _checkpoint_files(prefix, version, meta_graph_suffix)
    foreign = [path for path in files if not storage.written_here(path)]
    if foreign:
        _log.warning("Not deleting checkpoint %s: nanotf deletes only files this process wrote, and %s were not "
                     "(from an earlier run, replaced since, or named by the state file); remove it with "
                     "nanotf.train.remove_checkpoint if it is not needed", prefix, ", ".join(foreign))  # fmt: skip
        return
    for path in files:
        try:
            storage.remove(path)
        except errors.OpError as err:
            _log.warning("Ignoring: %s", err)


def _mtime(prefix: str) -> float | None:
    for path in (bundle.index_filename(prefix), prefix):
        mtime = storage.getmtime(path)
        if mtime is not None:
            return mtime
    return None


def _all_saveable_objects(scope=None) -> list:
    return graph_lib.get_collection(GraphKeys.GLOBAL_VARIABLES, scope) + graph_lib.get_collection(
        GraphKeys.SAVEABLE_OBJECTS, scope)  # fmt: skip


def _prepend_name_scope(name: str, scope: str | None) -> str:
    if not scope:
        return name
    prefix = "^" if name.startswith("^") else ""
    return f"{prefix}{scope.rstrip('/')}/{name.lstrip('^')}"


class Saver:
    """TF1 ``tf.train.Saver``; the arguments are TensorFlow's.

    Args:
        var_list: None (all global variables and saveable objects), a list
            (keys = op names; slices of a partitioned variable share its key)
            or a dict {key: variable}.
        reshape: restore into variables of another shape (Reshape first).
        sharded: one checkpoint shard per device.
        max_to_keep: checkpoints of this Saver to keep (None/0: all).
        keep_checkpoint_every_n_hours: additionally keep one checkpoint per n hours.
        name: the ops' name scope (default ``save``); with ``saver_def``, the
            import scope prepended to its names.
        restore_sequentially: accepted (restores are one RestoreV2).
        saver_def: use existing ops instead of building new ones.
        builder: a ``BaseSaverBuilder``.
        defer_build: build on ``build()`` instead of now.
        allow_empty: an empty var_list makes a Saver that does nothing.
        write_version: ``SaverDef.V2`` (default) or ``SaverDef.V1``.
        pad_step_number: ``<prefix>-%08d`` instead of ``-%d``.
        save_relative_paths: relative paths in the ``checkpoint`` state file.
        filename: the default prefix of the filename tensor.
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=meta_graph_pb2.SaverDef.V2,
                 pad_step_number=False, save_relative_paths=False, filename=None):  # fmt: skip
        if defer_build and var_list:
            raise ValueError("If `var_list` is provided then build cannot be deferred. "
                             "Either set defer_build=False or var_list=None.")  # fmt: skip
        self._var_list = var_list
        self._reshape = reshape
        self._sharded = sharded
        self._max_to_keep = max_to_keep
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._name = name
        self._restore_sequentially = restore_sequentially
        self.saver_def = saver_def
        self._builder = builder
        self._is_built = False
        self._allow_empty = allow_empty
        self._is_empty = None
        self._write_version = write_version
        self._pad_step_number = pad_step_number
        self._filename = filename
        self._last_checkpoints: list = []
        self._background = async_save.BackgroundSave()
        self._checkpoints_to_be_deleted: list = []
        self._next_checkpoint_time = None
        if not defer_build:
            self.build()
        if self.saver_def:
            self._check_saver_def()
            self._write_version = self.saver_def.version
        self._save_relative_paths = save_relative_paths

    # -- building -------------------------------------------------------------
    def build(self) -> None:
        """Adds the save/restore ops (once)."""
        if self._is_built:
            return
        self._is_built = True
        if not self.saver_def:
            if self._builder is None:
                self._builder = BulkSaverBuilder(self._write_version)
            if self._var_list is None:
                self._var_list = _all_saveable_objects()
            if not self._var_list:
                if self._allow_empty:
                    self._is_empty = True
                    return
                raise ValueError("No variables to save")
            self._is_empty = False
            self.saver_def = self._builder._build_internal(
                self._var_list, reshape=self._reshape, sharded=self._sharded, max_to_keep=self._max_to_keep,
                keep_checkpoint_every_n_hours=self._keep_checkpoint_every_n_hours, name=self._name,
                restore_sequentially=self._restore_sequentially, filename=self._filename,
            )  # fmt: skip
        elif self._name:
            copy = meta_graph_pb2.SaverDef()
            copy.CopyFrom(self.saver_def)
            for field in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
                setattr(copy, field, _prepend_name_scope(getattr(copy, field), self._name))
            self.saver_def = copy
        self._check_saver_def()
        self._next_checkpoint_time = time.time() + self.saver_def.keep_checkpoint_every_n_hours * 3600

    def _check_saver_def(self) -> None:
        if not isinstance(self.saver_def, meta_graph_pb2.SaverDef):
            raise ValueError(f"saver_def must be a saver_pb2.SaverDef: {self.saver_def}")
        if not self.saver_def.save_tensor_name:
            raise ValueError(f"saver_def must specify the save_tensor_name: {self.saver_def}")
        if not self.saver_def.restore_op_name:
            raise ValueError(f"saver_def must specify the restore_op_name: {self.saver_def}")

    def as_saver_def(self) -> meta_graph_pb2.SaverDef:
        return self.saver_def

    def to_proto(self, export_scope=None):
        """The SaverDef, names relative to ``export_scope`` (None if the Saver lies outside it)."""
        if export_scope is None:
            return self.saver_def
        names = ("filename_tensor_name", "save_tensor_name", "restore_op_name")
        if not all(getattr(self.saver_def, n).startswith(export_scope) for n in names):
            return None
        proto = meta_graph_pb2.SaverDef()
        proto.CopyFrom(self.saver_def)
        scope = export_scope.rstrip("/") + "/"
        for n in names:
            value = getattr(proto, n)
            setattr(proto, n, value[len(scope):] if value.startswith(scope) else value)
        return proto

    @staticmethod
    def from_proto(saver_def, import_scope=None):
        return Saver(saver_def=saver_def, name=import_scope)

    # -- bookkeeping -------------------------------------------------------------
    @property
    def last_checkpoints(self) -> list:
        """This Saver's undeleted checkpoints, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints) -> None:
        """Sets the list (these are never deleted: their time is infinite)."""
        if not isinstance(last_checkpoints, list):
            raise TypeError("last_checkpoints must be a list")
        self._last_checkpoints = [(s, math.inf) for s in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time) -> None:
        if not isinstance(last_checkpoints_with_time, list):
            raise TypeError("last_checkpoints_with_time must be a list")
        self._last_checkpoints = list(last_checkpoints_with_time)

    def recover_last_checkpoints(self, checkpoint_paths) -> None:
        """Adopts the existing ones of ``checkpoint_paths`` with their file times (after a restart)."""
        recovered = []
        for path in checkpoint_paths:
            mtime = _mtime(path)
            if mtime is not None:
                recovered.append((path, mtime))
        self.set_last_checkpoints_with_time(recovered)

    def _record_last_checkpoint(self, path: str) -> None:
        if not self.saver_def.max_to_keep:
            return
        self._last_checkpoints = [p for p in self._last_checkpoints if p[0] != path]
        self._last_checkpoints.append((path, time.time()))
        if len(self._last_checkpoints) > self.saver_def.max_to_keep:
            self._checkpoints_to_be_deleted.append(self._last_checkpoints.pop(0))

    def _maybe_delete_old_checkpoints(self, meta_graph_suffix: str) -> None:
        if not self._checkpoints_to_be_deleted:
            return
        path, saved_at = self._checkpoints_to_be_deleted.pop(0)
        if saved_at > self._next_checkpoint_time:
            self._next_checkpoint_time += self.saver_def.keep_checkpoint_every_n_hours * 3600
            return
        _prune_checkpoint(path, self.saver_def.version, meta_graph_suffix)

    # -- save / restore ------------------------------------------------------------
    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False, save_debug_info=False,
             blocking=True):  # fmt: skip
        """Saves the variables to ``save_path[-global_step]``; returns that prefix.

        ``save_path`` may be an object store URL (``s3://bucket/run/model``,
        see formats/storage.py). With ``blocking=False`` (nanotf's addition)
        only a snapshot of the variables, and the meta graph, are taken
        before returning; the files are written on a background thread in
        the same order (``async_save.py``). ``wait()`` waits for that save;
        if it fails, the next ``save``, ``restore`` or ``wait`` raises its error.

        Raises:
            RuntimeError: if the Saver was deferred and never built.
            ValueError: for a bad ``latest_filename`` or a missing parent directory.
            TypeError: if ``sess`` is not a Session.
            OpError: ResourceExhaustedError (disk full), PermissionDeniedError
                (not writable, read-only filesystem), ... naming the file; the
                previous checkpoints and the state file are then unchanged.
                Also the failure of an earlier ``blocking=False`` save.
        """
        del save_debug_info
        self._background.wait()
        if not self._is_built:
            raise RuntimeError("`build()` should be called before save if defer_build==True")
        if latest_filename is None:
            latest_filename = "checkpoint"
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        save_path = storage.local_path(os.fspath(save_path))
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                global_step = int(sess.run(global_step))
            checkpoint_file = f"{save_path}-{global_step:08d}" if self._pad_step_number else f"{save_path}-{global_step}"
        else:
            checkpoint_file = save_path
            if os.path.basename(save_path) == latest_filename and not self._sharded:
                raise ValueError(f"'latest_filename' collides with 'save_path': '{latest_filename}' and '{save_path}'")
        if not hasattr(sess, "run") or not hasattr(sess, "graph"):
            raise TypeError(f"'sess' must be a Session; {sess}")
        save_dir = os.path.dirname(save_path)
        if os.path.isdir(save_dir or "."):
            inventory.remove_stale_temps(save_path, latest_filename, meta_graph_suffix)
        if not blocking and not self._is_empty:
            meta_path = meta_graph_filename(checkpoint_file, meta_graph_suffix) if write_meta_graph else None
            with sess.graph.as_default():
                meta = self.export_meta_graph(strip_default_attrs=strip_default_attrs) if write_meta_graph else None
            finish = (lambda path: self._finish_save(path, save_dir, latest_filename, meta_graph_suffix)) if write_state else None
            return async_save.save_in_background(self._background, sess, self.saver_def, checkpoint_file, meta,
                                                 meta_path, finish)  # fmt: skip
        model_checkpoint_path = None
        if not self._is_empty:
            try:
                fetched = self._run_save(sess, checkpoint_file)
            except (errors.FailedPreconditionError, errors.NotFoundError) as exc:
                if not os.path.isdir(save_dir or "."):
                    raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.") from exc
                raise
            except FileNotFoundError as exc:
                raise ValueError(f"Parent directory of {save_path} doesn't exist, can't save.") from exc
            model_checkpoint_path = fetched.decode() if isinstance(fetched, bytes) else str(fetched)
        if write_meta_graph:
            with sess.graph.as_default():
                self.export_meta_graph(meta_graph_filename(checkpoint_file, meta_graph_suffix),
                                       strip_default_attrs=strip_default_attrs)  # fmt: skip
        if model_checkpoint_path is not None and write_state:
            self._finish_save(model_checkpoint_path, save_dir, latest_filename, meta_graph_suffix)
        return model_checkpoint_path

    def _run_save(self, sess, checkpoint_file: str):
        """Run the save ops; a Saver with several shards runs them through ``save_plan.py`` (concurrent uploads
        to an object store), any other through the graph."""
        plan = SavePlan.build(sess.graph, self.saver_def) if self.saver_def.sharded else None
        if plan is not None and plan.shards > 1:
            return plan.snapshot(sess, checkpoint_file).write()
        return sess.run(self.saver_def.save_tensor_name, {self.saver_def.filename_tensor_name: checkpoint_file})

    def _finish_save(self, model_checkpoint_path: str, save_dir: str, latest_filename: str,
                     meta_graph_suffix: str) -> None:
        """After the checkpoint's files: record it in the state file, then retire the oldest (``max_to_keep``)."""
        self._record_last_checkpoint(model_checkpoint_path)
        checkpoint_management.update_checkpoint_state(
            save_dir, model_checkpoint_path, self.last_checkpoints, latest_filename,
            save_relative_paths=self._save_relative_paths,
        )  # fmt: skip
        self._maybe_delete_old_checkpoints(meta_graph_suffix)

    def wait(self) -> str | None:
        """Wait for the save started with ``blocking=False``, if one is running (nanotf's addition).

        Returns:
            That save's checkpoint prefix, or None if there was none.

        Raises:
            OpError: the error that save failed with (same type, naming the
                checkpoint path); raised once.
        """
        return self._background.wait()

    def restore(self, sess, save_path) -> None:
        """Restores the variables from checkpoint ``save_path`` (a prefix, local or an object store URL).

        A ``blocking=False`` save still running is waited for first.

        Raises:
            ValueError: if ``save_path`` is None or names no checkpoint.
            NotFoundError / InvalidArgumentError: if the checkpoint lacks a key or
                disagrees with the graph, with TF's explanation prepended.
            OpError: the failure of an earlier ``blocking=False`` save.
        """
        self._background.wait()
        if self._is_empty:
            return
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = storage.local_path(os.fspath(save_path))
        if not checkpoint_management.checkpoint_exists(save_path):
            raise ValueError("The passed save_path is not a valid checkpoint: " + save_path)
        _log.info("Restoring parameters from %s", save_path)
        try:
            sess.run(self.saver_def.restore_op_name, {self.saver_def.filename_tensor_name: save_path})
        except errors.NotFoundError as err:
            raise _wrap_restore_error(err, "a Variable name or other graph key that is missing") from None
        except errors.InvalidArgumentError as err:
            raise _wrap_restore_error(err, "a mismatch between the current graph and the graph") from None

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False, export_scope=None,
                          clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False):  # fmt: skip
        """Writes (and returns) the default graph's MetaGraphDef with this Saver's SaverDef."""
        del save_debug_info
        graph = graph_lib.get_default_graph()
        return meta_graph.export_meta_graph(
            filename=filename, graph_def=graph.as_graph_def(add_shapes=True), saver_def=self.saver_def,
            collection_list=collection_list, as_text=as_text, export_scope=export_scope,
            clear_devices=clear_devices, clear_extraneous_savers=clear_extraneous_savers,
            strip_default_attrs=strip_default_attrs,
        )  # fmt: skip


def _wrap_restore_error(err, what: str):
    message = (f"Restoring from checkpoint failed. This is most likely due to {what} from the checkpoint. "
               f"Please ensure that you have not altered the graph expected based on the checkpoint. "
               f"Original error:\n\n{err.message}")  # fmt: skip
    return type(err)(err.node_def, err.op, message)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Imports a MetaGraphDef (proto or file) into the default graph; returns its Saver.

    Returns:
        ``Saver(saver_def=..., name=scope)`` if the meta graph has a SaverDef (no
        ops are added), a new ``Saver()`` if it has variables but no SaverDef,
        else None.
    """
    meta_graph_def = meta_graph.read_meta_graph_file(meta_graph_or_file) if not isinstance(
        meta_graph_or_file, meta_graph_pb2.MetaGraphDef) else meta_graph_or_file  # fmt: skip
    imported_vars = meta_graph.import_scoped_meta_graph(meta_graph_def, clear_devices=clear_devices,
                                                        import_scope=import_scope, **kwargs)  # fmt: skip
    if meta_graph_def.HasField("saver_def"):
        scope = import_scope
        if imported_vars:
            key, var = next(iter(imported_vars.items()))
            scope = var.name[: -len(key)]
        return Saver(saver_def=meta_graph_def.saver_def, name=scope)
    if _all_saveable_objects(scope=import_scope):
        return Saver()
    _log.info("Saver not created because there are no variables in the graph to restore")
    return None


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None, collection_list=None,
                      as_text=False, graph=None, export_scope=None, clear_devices=False,
                      clear_extraneous_savers=False, strip_default_attrs=False, save_debug_info=False, **kwargs):  # fmt: skip
    """``tf.train.export_meta_graph``: see ``nanotf.train.meta_graph.export_meta_graph``."""
    del save_debug_info, kwargs
    return meta_graph.export_meta_graph(
        filename=filename, meta_info_def=meta_info_def, graph_def=graph_def, saver_def=saver_def,
        collection_list=collection_list, as_text=as_text, graph=graph, export_scope=export_scope,
        clear_devices=clear_devices, clear_extraneous_savers=clear_extraneous_savers,
        strip_default_attrs=strip_default_attrs,
    )  # fmt: skip


meta_graph.register_proto_function(GraphKeys.SAVERS, meta_graph_pb2.SaverDef, Saver.to_proto, Saver.from_proto)

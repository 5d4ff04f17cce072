"""A Saver's save, taken apart: a snapshot of the values now, the writes later (or on several threads).

Running a SaverDef's save tensor runs ``SaveV2`` once per shard and, for a
sharded Saver, ``MergeV2Checkpoints`` after them; the save tensor itself is
an ``Identity`` of the checkpoint prefix behind control dependencies on
those ops. ``SavePlan`` finds these ops once. ``SavePlan.snapshot`` then
evaluates, in one ``Session.run``, everything they take: prefixes, tensor
names, slice specs and the values. ``Snapshot.write`` calls the same kernels
the executor would, the shards' ``SaveV2`` concurrently, then the merge.

The snapshot copies nothing. A session's variable store never changes an
array in place: every update stores a new, read-only array
(runtime/variable_store.py). Holding the arrays a variable has *now* is
therefore a consistent snapshot that training cannot disturb, taken in the
time of one small ``Session.run`` whatever the model's size. Values that are
not plain variable reads are fetched (and so copied) by that run.
"""

from __future__ import annotations

import numpy as np

from nanotf.formats import parallel, storage
from nanotf.runtime.steps import kernel_setup

__all__ = ["SavePlan", "Snapshot"]

_REF_VARIABLE_OPS = ("Variable", "VariableV2", "AutoReloadVariable")


def _variable_source(tensor):
    """``("resource", handle tensor)``, ``("ref", op name)`` or None: where a saved value lives in the store."""
    op = tensor.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type == "ReadVariableOp":
        return "resource", op.inputs[0]
    if op.type in _REF_VARIABLE_OPS:
        return "ref", op.name
    return None


class SavePlan:
    """The SaveV2 ops (and the merge) behind a SaverDef's save tensor.

    Use ``SavePlan.build``; it returns None for a save tensor of any other
    shape (a V1 Saver, a custom builder), which must run through the graph.
    """

    def __init__(self, graph, saver_def, result, saves, merge):
        self.graph = graph
        self.filename_tensor = graph.as_graph_element(saver_def.filename_tensor_name)
        self.result = result
        self.saves = saves
        self.merge = merge

    @classmethod
    def build(cls, graph, saver_def) -> SavePlan | None:
        """The plan of ``saver_def`` in ``graph``, or None if its save tensor is not SaveV2 (+ merge) behind an Identity."""
        save_tensor = graph.as_graph_element(saver_def.save_tensor_name)
        if save_tensor.op.type != "Identity":
            return None
        saves, merges, seen = [], [], set()
        stack = list(save_tensor.op.control_inputs)
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            if op.type == "SaveV2":
                saves.append(op)
            elif op.type in ("MergeV2Checkpoints", "Identity", "NoOp"):
                merges += [op] if op.type == "MergeV2Checkpoints" else []
                stack.extend(op.control_inputs)
            else:
                return None
        if not saves or len(merges) > 1:
            return None
        saves.sort(key=lambda op: op.name)
        return cls(graph, saver_def, save_tensor.op.inputs[0], saves, merges[0] if merges else None)

    @property
    def shards(self) -> int:
        return len(self.saves)

    def snapshot(self, sess, checkpoint_file: str) -> Snapshot:
        """Everything the save will write, as of now (see the module docstring).

        Args:
            sess: the session whose variables are saved.
            checkpoint_file: the value fed to the filename tensor.

        Returns:
            A ``Snapshot``; nothing has been written yet.
        """
        fetches = [self.result]
        sources = []
        for op in self.saves:
            fetches += op.inputs[:3]
            for tensor in op.inputs[3:]:
                source = _variable_source(tensor)
                sources.append(source)
                if source is None:
                    fetches.append(tensor)
                elif source[0] == "resource":
                    fetches.append(source[1])
        if self.merge is not None:
            fetches += self.merge.inputs[:2]
        values = iter(sess.run(fetches, {self.filename_tensor: checkpoint_file}))
        result = _text(next(values))
        store = sess.variable_store
        calls, sources = [], iter(sources)
        for op in self.saves:
            args = [next(values) for _ in range(3)]
            for _ in op.inputs[3:]:
                source = next(sources)
                if source is None:
                    args.append(next(values))
                else:
                    args.append(_stored(store, source, next(values) if source[0] == "resource" else None))
            calls.append((op, args))
        if self.merge is not None:
            calls.append((self.merge, [next(values), next(values)]))
        return Snapshot(result, calls, store)


def _stored(store, source, handle) -> np.ndarray:
    array = store.read_resource(handle) if source[0] == "resource" else store.read_ref(source[1])
    # The store's arrays are read-only and replaced on update; anything else must be copied to be a snapshot.
    return array if not array.flags.writeable else array.copy()


def _text(value) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Snapshot:
    """The kernel calls of one save, with their inputs fixed at snapshot time.

    Attributes:
        checkpoint_path: what the save tensor evaluates to (the prefix to record in the state file).
    """

    def __init__(self, checkpoint_path: str, calls: list, store):
        self.checkpoint_path = checkpoint_path
        self._calls = calls
        self._store = store

    def write(self) -> str:
        """Run the SaveV2 kernels (concurrently if several), then the merge; returns ``checkpoint_path``.

        Raises:
            OpError: what the kernels raise (e.g. ResourceExhaustedError naming the file).
        """
        saves = [call for call in self._calls if call[0].type == "SaveV2"]
        merges = [call for call in self._calls if call[0].type != "SaveV2"]
        threads = parallel.io_threads(storage.is_remote(self.checkpoint_path), writing=True)
        parallel.map_ordered(self._run, saves, threads)
        for call in merges:
            self._run(call)
        return self.checkpoint_path

    def _run(self, call) -> None:
        op, args = call
        setup = kernel_setup(op, self._store)
        assert setup.ctx is None  # SaveV2 and MergeV2Checkpoints are pure kernels
        setup.kernel(setup.attrs, *args)

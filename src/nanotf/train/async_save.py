"""``Saver.save(..., blocking=False)``: snapshot now, write the checkpoint on a background thread.

The call blocks only for what must happen while the variables hold the
values being saved, and while the graph is the one being described:

1. a consistent snapshot of every value the save writes, in one small
   ``Session.run`` that copies no variable (``save_plan.py``);
2. the MetaGraphDef, built (not yet written) if ``write_meta_graph``.

A background thread then writes what a blocking save writes, in the same
order: the bundle (shards concurrently, then their merge), the ``.meta``,
the ``checkpoint`` state file, and last the deletion of the checkpoint that
``max_to_keep`` retires. A process killed meanwhile loses only the save in
flight: every earlier checkpoint, and the state file naming the newest
complete one, are as they were.

One save is in flight per Saver. The next ``save``, ``restore`` or ``wait``
first waits for it and, if it failed, raises its error (the same type,
naming the checkpoint path) instead of going on. A process that exits
normally waits for the save in flight (the thread is not a daemon).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from nanotf import errors
from nanotf.train import meta_graph
from nanotf.train.save_plan import SavePlan

__all__ = ["BackgroundSave", "save_in_background"]

_log = logging.getLogger("nanotf")


class BackgroundSave:
    """At most one save running on its own thread, and its failure until someone is told."""

    def __init__(self):
        self._thread: threading.Thread | None = None
        self._path: str | None = None
        self._error: BaseException | None = None

    def start(self, path: str, write: Callable[[], None]) -> None:
        """Run ``write`` on a new thread (after waiting for, and reporting, the previous one).

        Raises:
            OpError: the previous save's failure, naming its path.
        """
        self.wait()
        self._path = path

        def run() -> None:
            try:
                write()
            except BaseException as exc:  # kept for the caller's thread, which re-raises it
                self._error = exc
                _log.error("Asynchronous save to %s failed: %s", path, exc)

        self._thread = threading.Thread(target=run, name=f"nanotf-save {path}")
        self._thread.start()

    def wait(self) -> str | None:
        """Wait for the save in flight; returns its checkpoint prefix (None if none was started).

        Raises:
            OpError: of the type the save failed with, naming the checkpoint
                path (an UnknownError for a failure that is not an OpError).
                It is raised once; the Saver is usable afterwards.
        """
        if self._thread is None:
            return None
        self._thread.join()
        self._thread = None
        error, self._error = self._error, None
        if error is not None:
            message = f"The asynchronous save to {self._path} failed: {error}"
            if isinstance(error, errors.OpError):
                raise type(error)(error.node_def, error.op, message) from error
            raise errors.UnknownError(None, None, message) from error
        return self._path


def save_in_background(background: BackgroundSave, sess, saver_def, checkpoint_file: str, meta=None,
                       meta_path: str | None = None, finish: Callable[[str], None] | None = None) -> str:
    """Snapshot the variables of ``sess`` and start writing them as ``Saver.save`` would.

    Args:
        background: the Saver's ``BackgroundSave``.
        sess: the session whose variables are saved.
        saver_def: the Saver's SaverDef.
        checkpoint_file: the prefix fed to the save ops.
        meta: the MetaGraphDef to write to ``meta_path`` after the bundle, or None.
        finish: called with the checkpoint prefix once the files are written
            (the state file and retention), or None.

    Returns:
        The checkpoint prefix being written (what a blocking save returns).

    Raises:
        ValueError: if the save ops are not SaveV2 (a V1 Saver).
        OpError: from the snapshot's ``Session.run``.
    """
    plan = SavePlan.build(sess.graph, saver_def)
    if plan is None:
        raise ValueError("Saver.save(blocking=False) needs a V2 Saver (SaveV2 ops); this one writes through "
                         "other ops: save with blocking=True")  # fmt: skip
    snapshot = plan.snapshot(sess, checkpoint_file)

    def write() -> None:
        path = snapshot.write()
        if meta is not None:
            meta_graph.write_graph(meta, os.path.dirname(meta_path), os.path.basename(meta_path), as_text=False)
        if finish is not None:
            finish(path)

    background.start(snapshot.checkpoint_path, write)
    return snapshot.checkpoint_path

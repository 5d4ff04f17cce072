"""A save loop to kill: the child side of the crash-safety and concurrency tests.

Run as ``python crash_child.py``. It imports nanotf and builds a small model
once, saves it once to warm up and prints ``ready <milliseconds that save
took>``. Then it serves commands read from stdin, one per line, answering
each with one line on stdout. Checkpoints are ``<dir>/<name>-<step>``:

``run <dir> <name> <first step> <delay ms>``
    fork a child that saves step = first, first+1, ... (values set from the
    step first, so every checkpoint says which step it is); SIGKILL it after
    the delay; answer ``killed <pid> <last step whose save returned, or 0>``.
``crash <dir> <name> <first step> <k>``
    fork a child that saves ``MAX_TO_KEEP + 1`` times (so the last save also
    prunes), dying with exit status 77 just before its k-th call of
    ``os.fsync`` / ``os.replace`` / ``os.remove`` (every point where a save
    makes something durable, moves it into place or deletes); answer
    ``crashed <pid> <exit status> <last step whose save returned, or 0>``.
``start <dir> <name> <first step> <count>``
    fork a child that saves ``count`` steps and exits; answer ``started <pid>``
    at once (for savers running side by side with readers or other savers).
``wait <pid>``
    reap that child; answer ``done <last step whose save returned, or 0>``.
``quit``
    exit.

Forking from one prepared process keeps a trial to a few milliseconds; the
parent reaps every child before answering, so no zombie looks alive to the
temp-file cleanup.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time

import numpy as np

import nanotf as tf
from nanotf.framework import behavior

MAX_TO_KEEP = 1
CRASH_STATUS = 77
_DISK_CALLS = ("fsync", "replace", "remove")


def expected_values(step: int) -> dict[str, np.ndarray]:
    """What every variable holds in checkpoint ``model-<step>``."""
    return {
        "a": np.full([4], step, dtype=np.float32),
        "b": np.full([2, 3], step, dtype=np.int64),
        "big": np.arange(64 * 256, dtype=np.float32).reshape(64, 256) + step,
        "c": np.array(step, dtype=np.float64),
    }


class Model:
    """Variables a, b, big, c; ``set(step)`` gives them ``expected_values(step)``."""

    def __init__(self):
        behavior.disable_resource_variables()
        self.step = tf.placeholder(tf.int64, [], name="step")
        values = expected_values(0)
        variables = {name: tf.Variable(value, name=name) for name, value in values.items()}
        as_float = tf.cast(self.step, tf.float32)
        self.update = tf.group(
            tf.assign(variables["a"], as_float * tf.ones([4])),
            tf.assign(variables["b"], self.step * tf.ones([2, 3], tf.int64)),
            tf.assign(variables["big"], tf.constant(values["big"]) + as_float),
            tf.assign(variables["c"], tf.cast(self.step, tf.float64)),
        )
        self.saver = tf.train.Saver(max_to_keep=MAX_TO_KEEP)
        self.sess = tf.Session()
        self.sess.run(tf.global_variables_initializer())

    def warm_up(self) -> None:
        """One save outside the campaign (not recorded by the Saver), so children start with warm caches."""
        with tempfile.TemporaryDirectory() as scratch:
            self.saver.save(self.sess, os.path.join(scratch, "warm"), write_state=False)

    def save(self, directory: str, step: int, name: str = "model") -> None:
        self.sess.run(self.update, {self.step: step})
        self.saver.save(self.sess, os.path.join(directory, name), global_step=step)


def _die_at(k: int) -> None:
    """Make the k-th disk call of this process exit instead of running."""
    count = [0]
    for name in _DISK_CALLS:
        real = getattr(os, name)

        def call(*args, _real=real, **kwargs):
            count[0] += 1
            if count[0] == k:
                os._exit(CRASH_STATUS)
            return _real(*args, **kwargs)

        setattr(os, name, call)


def _child(model: Model, directory: str, name: str, first: int, steps: int | None, crash_at: int | None,
           report: int) -> None:
    try:
        if crash_at is not None:
            _die_at(crash_at)
        step = first
        while steps is None or step < first + steps:
            model.save(directory, step, name)
            os.write(report, f"{step}\n".encode())
            step += 1
    finally:
        os._exit(0)


def _fork(model: Model, directory: str, name: str, first: int, steps: int | None,
          crash_at: int | None) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(model, directory, name, first, steps, crash_at, write_end)
    os.close(write_end)
    return pid, read_end


def _last_reported(read_end: int) -> int:
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    lines = b"".join(chunks).split()
    return int(lines[-1]) if lines else 0


def serve() -> None:
    model = Model()
    start = time.perf_counter()
    model.warm_up()
    print(f"ready {(time.perf_counter() - start) * 1000:.3f}", flush=True)
    running: dict[int, int] = {}
    for line in sys.stdin:
        command, *args = line.split()
        if command in ("run", "crash", "start"):
            directory, name, first, number = args[0], args[1], int(args[2]), float(args[3])
        if command == "run":
            pid, read_end = _fork(model, directory, name, first, None, None)
            time.sleep(number / 1000)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            print(f"killed {pid} {_last_reported(read_end)}", flush=True)
        elif command == "crash":
            pid, read_end = _fork(model, directory, name, first, MAX_TO_KEEP + 1, int(number))
            _, status = os.waitpid(pid, 0)
            print(f"crashed {pid} {os.waitstatus_to_exitcode(status)} {_last_reported(read_end)}", flush=True)
        elif command == "start":
            pid, read_end = _fork(model, directory, name, first, int(number), None)
            running[pid] = read_end
            print(f"started {pid}", flush=True)
        elif command == "wait":
            pid = int(args[0])
            os.waitpid(pid, 0)
            print(f"done {_last_reported(running.pop(pid))}", flush=True)
        elif command == "quit":
            return


if __name__ == "__main__":
    serve()

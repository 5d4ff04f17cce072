"""Temp files: recognisable names, and cleanup that touches only dead writers' leftovers of this save path."""

import os
import subprocess
import sys

import numpy as np

from nanotf.formats import atomic, inventory
from nanotf.train import write_checkpoint


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return int(proc.stdout)


def _leftover(directory, target: str, pid: int, host: str | None = None) -> str:
    name = os.path.basename(atomic.temp_name(str(directory / target)))
    _, own_host, own_pid = atomic.parse_temp_name(name)
    name = name.replace(f"{own_host}.{own_pid}-", f"{host or own_host}.{pid}-")
    (directory / name).write_bytes(b"partial")
    return name


def test_temp_names_say_target_host_and_pid(tmp_path):
    name = os.path.basename(atomic.temp_name(str(tmp_path / "m-1.index")))
    target, host, pid = atomic.parse_temp_name(name)
    assert (target, pid) == ("m-1.index", os.getpid()) and host
    assert atomic.temp_name("x") != atomic.temp_name("x")
    assert atomic.parse_temp_name("m-1.index") is None
    assert atomic.parse_temp_name("m-1.index.tempstate123") is None  # TensorFlow's are not ours


def test_cleanup_removes_only_dead_writers_leftovers_of_this_save_path(tmp_path):
    dead = _dead_pid()
    gone = [_leftover(tmp_path, target, dead) for target in
            ["m-3.index", "m-3.data-00000-of-00001", "m-3.meta", "m.index", "m-00000-of-00002", "checkpoint"]]  # fmt: skip
    kept = [
        _leftover(tmp_path, "m-4.index", os.getpid()),  # a live writer (this process)
        _leftover(tmp_path, "m-5.index", dead, host="another-host"),  # maybe alive, on another machine
        _leftover(tmp_path, "other-3.index", dead),  # another save path's
        _leftover(tmp_path, "m-3.index.backup", dead),  # not a checkpoint file of this path
        _leftover(tmp_path, "state", dead),  # another state file name
    ]
    (tmp_path / "m-3.index.tempstate99").write_bytes(b"TensorFlow's")
    removed = inventory.remove_stale_temps(str(tmp_path / "m"))
    assert sorted(os.path.basename(p) for p in removed) == sorted(gone)
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["m-3.index.tempstate99"])


def test_a_save_cleans_up_before_it_writes(tmp_path):
    stale = _leftover(tmp_path, "m-1.data-00000-of-00001", _dead_pid())
    write_checkpoint(str(tmp_path / "m-2"), {"w": np.zeros(2, np.float32)})
    assert stale not in os.listdir(tmp_path)
    assert not any(atomic.parse_temp_name(n) for n in os.listdir(tmp_path))

"""Concurrency: readers while another process saves and prunes; two savers in one directory.

The savers are forked by crash_child.py and run while this process reads.
However the two interleave, every read must give the exact values of its
step or a typed error, and no saver may damage another's files.
"""

import os
import warnings

import numpy as np
import pytest

from nanotf.errors import OpError
from nanotf.formats import inventory
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.bundle_writer import write_bundle
from nanotf.train import CheckpointReader, get_checkpoint_state, latest_checkpoint

from crash_campaign import Zygote, check_checkpoint, step_of, temp_files
from crash_child import MAX_TO_KEEP, expected_values

SAVES = 20

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


@pytest.fixture(scope="module")
def zygote():
    with Zygote() as process:
        yield process


def _read_latest(directory: str) -> str:
    """Read the newest checkpoint whole; 'exact', 'typed' or 'none' (anything else fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a state file naming a just-pruned checkpoint warns
        prefix = latest_checkpoint(directory)
    if prefix is None:
        return "none"
    try:
        with CheckpointReader(prefix) as reader:
            views = {name: reader.get_tensor(name) for name in expected_values(0)}  # zero-copy mmap views
            for name, want in expected_values(step_of(prefix)).items():
                assert views[name].dtype == want.dtype and np.array_equal(views[name], want), (prefix, name)
    except OpError:
        return "typed"
    return "exact"


def test_reader_while_another_process_saves_and_prunes(tmp_path, zygote):
    pid = zygote.start(str(tmp_path), "model", 1, SAVES)
    outcomes = []
    for _ in range(100_000):  # a bound, should the saver die: each read takes a millisecond or more
        outcomes.append(_read_latest(str(tmp_path)))
        if os.path.exists(tmp_path / f"model-{SAVES}.meta") and len(outcomes) >= 5:
            break
    assert zygote.wait(pid) == SAVES
    assert set(outcomes) <= {"exact", "typed", "none"}
    assert _read_latest(str(tmp_path)) == "exact"
    kept = range(SAVES - MAX_TO_KEEP + 1, SAVES + 1)
    assert sorted(p.name for p in tmp_path.glob("*.index")) == [f"model-{s}.index" for s in kept]


def test_mapped_tensors_survive_their_files_being_pruned_and_rewritten(tmp_path):
    prefix = str(tmp_path / "m")
    write_bundle(prefix, ["w"], [""], [np.arange(6, dtype=np.float32)])
    reader = BundleReader(prefix)
    view = reader.read("w")  # a read-only view of the mapped data file
    for name in os.listdir(tmp_path):
        os.remove(tmp_path / name)
    write_bundle(prefix, ["w"], [""], [np.full(6, -1, dtype=np.float32)])
    assert view.tolist() == [0, 1, 2, 3, 4, 5]
    reader.close()
    with BundleReader(prefix) as fresh:
        assert fresh.read("w").tolist() == [-1] * 6


@pytest.mark.parametrize("names", [("a", "b"), ("m", "m")], ids=["two-prefixes", "one-prefix"])
def test_two_savers_in_one_directory_leave_only_complete_checkpoints(tmp_path, zygote, names):
    starts = [1, 100_001]  # one prefix: the two savers' steps never meet
    pids = [zygote.start(str(tmp_path), name, first, SAVES // 2) for name, first in zip(names, starts)]
    lasts = [zygote.wait(pid) for pid in pids]
    assert lasts == [s + SAVES // 2 - 1 for s in starts]
    assert not temp_files(str(tmp_path))
    prefixes = [c.prefix for c in inventory.find_checkpoints(str(tmp_path))]
    assert [p for prefix in prefixes for p in check_checkpoint(prefix)] == []
    for name, last in zip(names, lasts):  # each saver kept its own newest ones: the other deleted none
        for step in range(last - MAX_TO_KEEP + 1, last + 1):
            assert str(tmp_path / f"{name}-{step}") in prefixes
    state = get_checkpoint_state(str(tmp_path))  # shared: the last writer's list, as in TensorFlow
    assert check_checkpoint(state.model_checkpoint_path) == []

"""Crash safety: saves killed with SIGKILL at random moments, or before any disk call, lose nothing.

See crash_campaign.py for what is checked after every kill. The kill times
are random (seeded); the assertions hold at whatever moment a kill lands.
"""

import os

import pytest

from crash_campaign import Zygote, run_crash_points, run_kill_campaign

KILL_TRIALS = 50
SEED = 20260611

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")


@pytest.fixture(scope="module")
def zygote():
    with Zygote() as process:
        yield process


def test_kill_9_at_random_moments_loses_no_checkpoint(tmp_path, zygote):
    trials = run_kill_campaign(zygote, str(tmp_path), KILL_TRIALS, SEED)
    assert len(trials) == KILL_TRIALS
    assert [p for t in trials for p in t.problems] == []
    assert any(t.saves for t in trials), "no killed saver completed a save"
    assert any(t.temps_left for t in trials), "no kill landed inside a save (temp files present)"


def test_crash_before_every_disk_call_of_a_save_loses_no_checkpoint(tmp_path, zygote):
    trials = run_crash_points(zygote, str(tmp_path))
    assert len(trials) > 10  # fsync/rename/remove calls of two saves, one crash point each
    assert [p for t in trials for p in t.problems] == []

"""Kill saves and check that nothing is lost: shared by the tests and report.py.

A ``CrashCampaign`` drives savers forked by ``crash_child.py`` (a
``Zygote``) over one checkpoint directory,
the way a training job is killed and restarted: every trial forks a fresh
saver that continues from a higher step. After every kill it checks:

* ``latest_checkpoint`` names a checkpoint at least as new as the last save
  that returned (a lost checkpoint otherwise), it is complete
  (``inventory.check_complete``), every tensor reads back CRC-checked with
  exactly the values of its step, and its ``.meta`` parses;
* every checkpoint the state file lists is complete;
* temp files left by killed savers are gone once a later save has run.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanotf.errors import OpError
from nanotf.formats import atomic, inventory
from nanotf.train import CheckpointReader, CheckpointStateWarning, get_checkpoint_state, latest_checkpoint
from nanotf.train.meta_graph import read_meta_graph_file

from crash_child import CRASH_STATUS, expected_values

CHILD = Path(__file__).with_name("crash_child.py")
STEPS_PER_TRIAL = 100_000  # first steps of successive trials never meet


@dataclass
class Trial:
    """One killed (or crashed) saver and what was found after it."""

    kind: str
    saves: int  # saves that returned in this trial
    completed: int  # newest step whose save returned so far (0: none yet)
    latest: str | None
    temps_left: int  # temp files of dead savers present right after this kill
    problems: list[str] = field(default_factory=list)


def temp_files(directory: str) -> set[str]:
    return {name for name in os.listdir(directory) if atomic.parse_temp_name(name)}


def step_of(prefix: str) -> int:
    return int(prefix.rsplit("-", 1)[1])


def check_checkpoint(prefix: str) -> list[str]:
    """Problems with checkpoint ``prefix``: incomplete, unreadable or not the values of its step."""
    try:
        inventory.check_complete(prefix)
        with CheckpointReader(prefix) as reader:
            for name, want in expected_values(step_of(prefix)).items():
                got = reader.get_tensor(name)
                if got.dtype != want.dtype or not np.array_equal(got, want):
                    return [f"{prefix}: '{name}' does not hold the values of step {step_of(prefix)}"]
        read_meta_graph_file(prefix + ".meta")
    except OpError as exc:
        return [f"{prefix}: {type(exc).__name__}: {exc}"]
    return []


class Zygote:
    """One running ``crash_child.py``: forks savers on request (see its docstring for the commands)."""

    def __init__(self):
        self._proc = subprocess.Popen([sys.executable, str(CHILD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)  # fmt: skip
        ready, save_ms = self._proc.stdout.readline().split()
        if ready != "ready":
            raise RuntimeError(f"{CHILD} did not start")
        self.save_ms = float(save_ms)  # how long one save takes on this disk

    def ask(self, command: str) -> list[str]:
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._proc.stdout.readline().split()

    def start(self, directory: str, name: str, first: int, count: int) -> int:
        """Start a child saving ``count`` steps from ``first`` in the background; returns its pid."""
        return int(self.ask(f"start {directory} {name} {first} {count}")[1])

    def wait(self, pid: int) -> int:
        """Wait for a started child; returns the last step it saved."""
        return int(self.ask(f"wait {pid}")[1])

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.write("quit\n")
            self._proc.stdin.close()
            self._proc.wait(timeout=30)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CrashCampaign:
    """Kill trials against ``directory``, savers forked by ``zygote``."""

    def __init__(self, zygote: Zygote, directory: str, name: str = "model"):
        self.zygote = zygote
        self.directory = directory
        self.name = name
        self.completed = 0
        self.trials: list[Trial] = []
        self._next_first = 1
        self._stale: set[str] = set()

    def kill(self, delay_ms: float) -> Trial:
        """Save in a loop, SIGKILL after ``delay_ms``, check the directory."""
        _, _, last = self.zygote.ask(f"run {self.directory} {self.name} {self._next_first} {delay_ms:.3f}")
        return self._after("kill -9", int(last))

    def crash(self, k: int) -> tuple[Trial, bool]:
        """A few saves that die before their k-th disk call; returns the trial and whether it died."""
        _, _, status, last = self.zygote.ask(f"crash {self.directory} {self.name} {self._next_first} {k}")
        return self._after(f"crash before disk call {k}", int(last)), int(status) == CRASH_STATUS

    def _after(self, kind: str, last: int) -> Trial:
        saves = last - self._next_first + 1 if last else 0
        self._next_first += STEPS_PER_TRIAL
        self.completed = max(self.completed, last)
        with warnings.catch_warnings():
            # Before the first state file exists, latest_checkpoint warns that checkpoints exist: expected here.
            warnings.simplefilter("ignore", CheckpointStateWarning)
            latest = latest_checkpoint(self.directory)
        trial = Trial(kind, saves, self.completed, latest, 0)
        temps = temp_files(self.directory)
        if saves and self._stale & temps:
            trial.problems.append(f"temp files of killed savers survived a later save: {sorted(self._stale & temps)}")
        trial.temps_left = len(temps)
        self._stale = temps
        if self.completed:
            trial.problems += self._check_state(latest)
        self.trials.append(trial)
        return trial

    def _check_state(self, latest: str | None) -> list[str]:
        if latest is None:
            return [f"latest_checkpoint is None although step {self.completed} was saved"]
        problems = []
        if step_of(latest) < self.completed:
            problems.append(f"lost: the newest save that returned was step {self.completed}, latest is {latest}")
        problems += check_checkpoint(latest)
        for path in get_checkpoint_state(self.directory).all_model_checkpoint_paths:
            problems += check_checkpoint(path)
        return problems


def run_kill_campaign(zygote: Zygote, directory: str, trials: int, seed: int,
                      saves_per_trial: float = 3.0) -> list[Trial]:  # fmt: skip
    """A first run of saves to completion, then ``trials`` kill -9 trials after delays from ``random.Random(seed)``.

    Delays are uniform up to ``saves_per_trial`` save durations, so kills
    land at every point of a save. The duration starts as the warm-up save's
    and follows the disk within 4x of it: a trial that saved more than
    ``saves_per_trial`` times narrows the range, one killed before it wrote
    anything widens it.

    Returns:
        The kill trials (not the first run).
    """
    rng = random.Random(seed)
    campaign = CrashCampaign(zygote, directory)
    campaign.crash(10**9)  # never reaches that many disk calls: saves run through
    save_ms = zygote.save_ms
    for _ in range(trials):
        trial = campaign.kill(rng.uniform(0, saves_per_trial * save_ms))
        if trial.saves > saves_per_trial:
            save_ms = max(save_ms / 1.25, zygote.save_ms / 4)
        elif not trial.saves and not trial.temps_left:
            save_ms = min(save_ms * 1.25, zygote.save_ms * 4)
    return campaign.trials[1:]
def run_crash_points(zygote: Zygote, directory: str, limit: int = 500) -> list[Trial]:
    """Crash the saves before each of their disk calls in turn, until they run through."""
    campaign = CrashCampaign(zygote, directory)
    for k in range(1, limit):
        _, died = campaign.crash(k)
        if not died:
            break
    return campaign.trials

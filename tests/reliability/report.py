"""Runs the reliability campaigns and prints the tables RELIABILITY.md records.

::

    python tests/reliability/report.py                           # kill -9, crash points, fuzzing, scenarios
    python tests/reliability/report.py --kill-trials 1000 --fuzz-cases 500
    NANOTF_TF_PYTHON=~/.cache/nanotf/tf-venv/bin/python python tests/reliability/report.py --tf-cases 40

The kill campaign runs in ``--dir`` (default: a temp directory on the
default temp filesystem, i.e. a real disk where /tmp is one). Exit status 1
if any campaign found a broken rule.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import crash_campaign
import fuzzlib

HERE = Path(__file__).resolve().parent
SCENARIO_TESTS = ["test_resources.py", "test_concurrency.py", "test_retention.py", "test_resolve.py",
                  "../formats/test_corruption.py"]  # fmt: skip


def kill_section(zygote, trials: int, seed: int, directory: str) -> int:
    start = time.perf_counter()
    result = crash_campaign.run_kill_campaign(zygote, directory, trials, seed)
    problems = [p for t in result for p in t.problems]
    lost = sum(1 for p in problems if p.startswith("lost"))
    print(f"### kill -9 during saves (seed {seed}, one save = {zygote.save_ms:.1f} ms here)\n")
    print("| trials | kills inside a save (temp files found) | saves that returned | checkpoints lost | "
          "other problems | time |\n|---|---|---|---|---|---|")  # fmt: skip
    print(f"| {len(result)} | {sum(1 for t in result if t.temps_left)} | {sum(t.saves for t in result)} | {lost} | "
          f"{len(problems) - lost} | {time.perf_counter() - start:.0f} s |\n")
    for problem in problems:
        print(f"- {problem}")
    return len(problems)


def crash_points_section(zygote, directory: str) -> int:
    result = crash_campaign.run_crash_points(zygote, directory)
    problems = [p for t in result for p in t.problems]
    print("### a crash before every disk call of a save (fsync / rename / remove)\n")
    print(f"| crash points | problems |\n|---|---|\n| {len(result) - 1} (+1 run without a crash) | {len(problems)} |\n")
    for problem in problems:
        print(f"- {problem}")
    return len(problems)


def fuzz_section(cases: int, seed: int, workdir: Path) -> int:
    start = time.perf_counter()
    print(f"### mutated files ({cases} cases per file and mode, seed {seed})\n")
    print("| file | reader | mode | " + " | ".join(fuzzlib.OUTCOMES) + " |\n|---|---|---|" + "---|" * len(fuzzlib.OUTCOMES))
    failures, totals = [], Counter()
    for result in fuzzlib.run_campaign(cases, seed, workdir):
        totals.update(result.counts)
        failures += result.failures
        counts = " | ".join(str(result.counts[k]) for k in fuzzlib.OUTCOMES)
        print(f"| {result.target.name} | {result.target.reader} | {result.mode} | {counts} |")
    print("| **all** | | | " + " | ".join(str(totals[k]) for k in fuzzlib.OUTCOMES) + " |\n")
    print(f"{sum(totals.values())} cases in {time.perf_counter() - start:.0f} s; {len(failures)} broke the rules.\n")
    for failure in failures:
        print(f"- {failure}")
    return len(failures)


def scenario_section() -> int:
    """Run the scenario tests and list each with its result."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                           *[str(HERE / t) for t in SCENARIO_TESTS]], capture_output=True, text=True, cwd=HERE,
                          check=False)  # fmt: skip
    print("### scenarios (tests in the repository)\n\n| test | result |\n|---|---|")
    failed = 0
    for line in proc.stdout.splitlines():
        match = re.match(r"^(PASSED|FAILED|SKIPPED|ERROR) (?:\[\d+\] )?(\S+)(.*)$", line)
        if match:
            status, name, rest = match.groups()
            failed += status in ("FAILED", "ERROR")
            print(f"| `{name.split('/')[-1]}` | {status}{rest.replace('|', '/')} |")
    print()
    return failed


def tf_section(python: str, cases: int, seed: int, workdir: Path) -> None:
    import tf_campaign

    start = time.perf_counter()
    case_list, rows = tf_campaign.write_cases(workdir, cases, seed)
    tf_campaign.run_tensorflow(python, case_list, rows, workdir)
    print(f"### the same corrupted files through TensorFlow 2.21's readers ({cases} cases per file and mode, seed {seed})\n")
    print(tf_campaign.table(rows))
    print(f"\n({time.perf_counter() - start:.0f} s)\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kill-trials", type=int, default=500)
    parser.add_argument("--fuzz-cases", type=int, default=200)
    parser.add_argument("--tf-cases", type=int, default=0, help="cases per file for TensorFlow (needs NANOTF_TF_PYTHON)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the kill campaign saves")
    args = parser.parse_args(argv)
    broken = 0
    with tempfile.TemporaryDirectory(dir=args.dir) as kill_dir, tempfile.TemporaryDirectory() as workdir:
        for name in ("kill", "points"):
            os.mkdir(os.path.join(kill_dir, name))
        with crash_campaign.Zygote() as zygote:
            broken += kill_section(zygote, args.kill_trials, args.seed, os.path.join(kill_dir, "kill"))
            broken += crash_points_section(zygote, os.path.join(kill_dir, "points"))
        broken += fuzz_section(args.fuzz_cases, args.seed, Path(workdir))
        broken += scenario_section()
        python = os.environ.get("NANOTF_TF_PYTHON")
        if args.tf_cases and python:
            tf_section(python, args.tf_cases, args.seed, Path(workdir) / "tf")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

"""Long fuzzing campaigns against nanotf's readers (not part of the test suite).

Two engines, the same rules as test_fuzz.py (see fuzzlib.py):

``random``   fuzzlib's mutations, every target and mode, many cases each::

                 python tests/reliability/fuzz_long.py random --cases 5000 --seed 1

``atheris``  coverage-guided (libFuzzer through atheris, if it is installed),
             one target at a time, seeded with the target's fixture file;
             ``--noverify`` reads without checksums, so the fuzzer gets past
             the CRCs (which coverage guidance cannot forge) into the parsers::

                 python tests/reliability/fuzz_long.py atheris --target dtypes/model.index --noverify \\
                     -- -max_total_time=600

Any rule broken (a crash, a hang, changed values under a checksum) is
printed with the mutation that caused it; atheris also saves the input as
``crash-*`` in the current directory. Exit status: 0 if none, 1 otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import fuzzlib


def run_random(cases: int, seed: int, workdir: Path) -> int:
    start = time.perf_counter()
    total, failures = 0, []
    for target in fuzzlib.TARGETS:
        for mode in fuzzlib.modes_of(target):
            result = fuzzlib.run_target(target, mode, cases, seed, workdir)
            total += sum(result.counts.values())
            failures += result.failures
            print(f"{target.name:40} {mode:9} " + " ".join(f"{k}={result.counts[k]}" for k in fuzzlib.OUTCOMES),
                  flush=True)  # fmt: skip
    print(f"{total} cases in {time.perf_counter() - start:.0f} s, {len(failures)} broke the rules")
    for failure in failures:
        print("  " + failure)
    return 1 if failures else 0


def run_atheris(target_name: str, verify: bool, workdir: Path, libfuzzer_args: list[str]) -> int:
    import atheris  # optional; pip install atheris

    target = next(t for t in fuzzlib.TARGETS if t.name == target_name)
    directory = workdir / "case"
    shutil.copytree(fuzzlib.FIXTURES / target.fixture, directory)
    expected = fuzzlib.READERS[target.reader](directory / target.argument, verify)
    corpus = workdir / "corpus"
    corpus.mkdir()
    shutil.copy(fuzzlib.FIXTURES / target.fixture / target.victim, corpus / "seed")
    victim = directory / target.victim

    def one_input(data: bytes) -> None:
        victim.write_bytes(data)
        outcome = fuzzlib.classify(target, directory, expected, verify, timeout=None)
        if outcome in ("crash", "hang") or (outcome == "changed" and verify and target.checksummed):
            raise RuntimeError(f"{target.name}: {outcome}")

    atheris.instrument_all()  # coverage of nanotf's (already imported) Python code guides the mutations
    atheris.Setup([sys.argv[0], *libfuzzer_args, str(corpus)], one_input)
    atheris.Fuzz()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("engine", choices=["random", "atheris"])
    parser.add_argument("--cases", type=int, default=2000, help="random: cases per target and mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target", default="dtypes/model.index", help="atheris: a fuzzlib target name")
    parser.add_argument("--noverify", action="store_true", help="atheris: read without checking checksums")
    args, libfuzzer = parser.parse_known_args(argv)  # the rest (after --) are libFuzzer's flags
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as workdir:
        if args.engine == "random":
            return run_random(args.cases, args.seed, Path(workdir))
        return run_atheris(args.target, not args.noverify, Path(workdir), [a for a in libfuzzer if a != "--"])


if __name__ == "__main__":
    sys.exit(main())

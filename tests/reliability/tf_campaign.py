"""The same corrupted files through nanotf's readers and TensorFlow's, side by side.

``write_cases`` materialises fuzzlib's ``raw`` cases, and its ``refixed``
ones for table files (hostile index entries behind valid checksums), one
directory per case, and classifies nanotf's answer to each;
``run_tensorflow`` feeds them to tf_corruption_driver.py under TensorFlow's
interpreter, restarting it after any case that kills it (counted as a
crash) or stalls (a hang). The driver limits its own address space, so a
hostile size makes TensorFlow fail instead of exhausting the machine.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import fuzzlib

DRIVER = Path(__file__).with_name("tf_corruption_driver.py")
CASE_TIMEOUT = 120  # seconds TF may take for one case (its first case includes importing TensorFlow)

# fuzzlib reader -> the TensorFlow reader that does the same job.
TF_READER = {
    "BundleReader": "load_checkpoint", "CheckpointReader": "load_checkpoint", "V1Reader": "load_checkpoint",
    "read_meta_graph_file": "read_meta_graph_file", "read GraphDef": "import_graph_def",
    "get_checkpoint_state": "get_checkpoint_state",
}  # fmt: skip
# TensorFlow cannot read variant tensors through its CheckpointReader, so that target has nothing to compare.
TARGETS = [t for t in fuzzlib.TARGETS if t.victim != "variant.data-00000-of-00001"]


@dataclass
class Row:
    """One target: how nanotf and TensorFlow answered the same cases."""

    target: str
    mode: str
    nanotf_reader: str
    tf_reader: str
    nanotf: Counter = field(default_factory=Counter)
    tf: Counter = field(default_factory=Counter)
    tf_untyped: Counter = field(default_factory=Counter)  # exception class (or "returned None") -> count


def write_cases(workdir: Path, count: int, seed: int) -> tuple[list[dict], list[Row]]:
    """Write ``count`` cases per target and mode under ``workdir``; classify nanotf's answers.

    Returns:
        The cases for the driver (``reader``, ``path``, ``pristine``, ``row``) and one Row per target and mode.
    """
    cases, rows = [], []
    for target in TARGETS:
        slug = target.name.replace("/", "_")
        pristine = workdir / slug / "pristine"
        shutil.copytree(fuzzlib.FIXTURES / target.fixture, pristine)
        expected = fuzzlib.READERS[target.reader](pristine / target.argument, True)
        for mode in [m for m in fuzzlib.modes_of(target) if m != "noverify"]:
            row = Row(target.name, mode, target.reader, TF_READER[target.reader])
            for i, (_, data) in enumerate(fuzzlib.cases(target, mode, count, seed)):
                directory = workdir / slug / f"{mode}-{i}"
                shutil.copytree(fuzzlib.FIXTURES / target.fixture, directory)
                (directory / target.victim).write_bytes(data)
                row.nanotf[fuzzlib.classify(target, directory, expected, True)] += 1
                cases.append({"reader": row.tf_reader, "path": str(directory / target.argument),
                              "pristine": str(pristine / target.argument), "row": len(rows)})  # fmt: skip
            rows.append(row)
    return cases, rows


def run_tensorflow(python: str, cases: list[dict], rows: list[Row], workdir: Path) -> None:
    """Classify TensorFlow's answer to every case into ``rows``."""
    cases_file = workdir / "cases.json"
    cases_file.write_text(json.dumps(cases))
    first = 0
    while first < len(cases):
        first = _run_driver(python, cases_file, first, cases, rows)


def _record(rows: list[Row], case: dict, outcome: str, error: str = "") -> None:
    row = rows[case["row"]]
    row.tf[outcome] += 1
    if outcome == "untyped":
        row.tf_untyped[error] += 1


def _run_driver(python: str, cases_file: Path, first: int, cases: list[dict], rows: list[Row]) -> int:
    """Run the driver from case ``first``; returns where the next run must start."""
    proc = subprocess.Popen([python, str(DRIVER), str(cases_file), str(first)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    expected = first
    try:
        while expected < len(cases):
            ready, _, _ = select.select([proc.stdout], [], [], CASE_TIMEOUT)
            if not ready:
                _record(rows, cases[expected], "hang")
                return expected + 1
            line = proc.stdout.readline()
            if not line:  # the driver died in the middle of this case
                proc.wait()
                _record(rows, cases[expected], "crash")
                return expected + 1
            answer = json.loads(line)
            _record(rows, cases[answer["index"]], answer["outcome"], answer["error"])
            expected = answer["index"] + 1
        return expected
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def table(rows: list[Row]) -> str:
    """A Markdown table of the two readers' outcomes per target."""
    lines = [("| file | mode | nanotf reader | nanotf: exact / typed / changed / crash+hang | TensorFlow reader | "
              "TF: exact / typed / changed / other / crash+hang | TF's other answers |"),
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        n, t = row.nanotf, row.tf
        others = ", ".join(f"{name} {k}" for name, k in row.tf_untyped.most_common())
        lines.append(f"| {row.target} | {row.mode} | {row.nanotf_reader} | {n['exact']} / {n['typed']} / {n['changed']} / "
                     f"{n['crash'] + n['hang']} | {row.tf_reader} | {t['exact']} / {t['typed']} / {t['changed']} / "
                     f"{t['untyped']} / {t['crash'] + t['hang']} | {others} |")  # fmt: skip
    return "\n".join(lines)

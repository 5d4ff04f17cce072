"""Mutational fuzzing of every file nanotf reads: corpus, mutations, readers and outcome classes.

Shared by test_fuzz.py (a few hundred fixed-seed cases in the normal suite),
fuzz_long.py (long campaigns) and report.py (the RELIABILITY.md tables).

The corpus is the TensorFlow-written fixtures. Each case copies one fixture
directory, mutates one file and reads everything with one nanotf reader.
The outcome is one of:

``exact``    the reader returned what it returns for the pristine file
``typed``    a nanotf ``OpError`` subclass (or, for the state file, None with
             a ``CheckpointStateWarning``)
``changed``  it returned something else: allowed only where the format has no
             checksum over the mutated bytes (graphs, the state file, reads
             with ``verify=False``, tables whose checksums the mutation fixed up)
``crash``    any other exception (IndexError, struct.error, MemoryError, ...)
``hang``     no answer within ``CASE_SECONDS``

Modes:

``raw``      byte mutations of the file as it is on disk, checksums verified
``noverify`` the same, read with ``verify=False`` (parsers without the CRC guard)
``refixed``  table files only: a value (index entry, bundle header, V1 slice)
             is mutated, or replaced by a hostile BundleEntryProto (huge
             shapes, offsets and sizes, bad shard ids and dtypes), and the
             table is rebuilt with valid checksums, so the mutation reaches
             the parsers behind them
"""

from __future__ import annotations

import contextlib
import io
import random
import shutil
import signal
import tempfile
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from nanotf.errors import DataLossError, OpError
from nanotf.formats.bundle_reader import BundleReader
from nanotf.formats.protoparse import parse_message, read_message_file
from nanotf.formats.table import TableReader
from nanotf.formats.table_writer import TableWriter
from nanotf.formats.v1 import V1Reader
from nanotf.protos import checkpoint_pb2, graph_pb2
from nanotf.train import CheckpointStateWarning, get_checkpoint_state
from nanotf.train.checkpoint_reader import CheckpointReader
from nanotf.train.meta_graph import read_meta_graph_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASE_SECONDS = 10
OUTCOMES = ("exact", "typed", "changed", "crash", "hang")


@dataclass(frozen=True)
class Target:
    """One fixture file to mutate and the reader that must cope with it.

    Attributes:
        fixture: the directory under tests/fixtures.
        victim: the file to mutate.
        reader: a key of READERS.
        argument: what the reader is given, relative to the copied directory.
        table: whether the file is a table (``refixed`` mode applies).
        checksummed: whether a ``raw`` mutation must never be ``changed``.
    """

    fixture: str
    victim: str
    reader: str
    argument: str
    table: bool = False
    checksummed: bool = False

    @property
    def name(self) -> str:
        return f"{self.fixture}/{self.victim}"


class Hang(Exception):
    """A case ran past CASE_SECONDS."""


def _bundle(path: Path, verify: bool):
    with BundleReader(path, verify=verify) as reader:
        return {key: _value(reader.read(key, copy=True)) for key in reader.variable_keys()}


def _v1(path: Path, verify: bool):
    with V1Reader(path, verify=verify) as reader:
        return {key: _value(reader.read(key)) for key in reader.variable_keys()}


def _api(path: Path, verify: bool):
    with CheckpointReader(path, verify=verify) as reader:
        return {key: _value(reader.get_tensor(key)) for key in sorted(reader.get_variable_to_shape_map())}


def _meta(path: Path, verify: bool):
    return read_meta_graph_file(path).SerializeToString(deterministic=True)


def _graph(path: Path, verify: bool):
    return read_message_file(str(path), graph_pb2.GraphDef).SerializeToString(deterministic=True)


def _state(path: Path, verify: bool):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = get_checkpoint_state(str(path))
    if state is None and any(issubclass(w.category, CheckpointStateWarning) for w in caught):
        raise _Warned()
    return None if state is None else state.SerializeToString(deterministic=True)


class _Warned(Exception):
    """The reader answered with a typed warning (the state file's way of failing)."""


def _value(array):
    if array.dtype == object:
        return (array.shape, [bytes(x) if isinstance(x, bytes) else x.SerializeToString() for x in array.ravel()])
    return (array.dtype.str, array.shape, array.tobytes())


READERS: dict[str, Callable] = {
    "BundleReader": _bundle, "V1Reader": _v1, "CheckpointReader": _api, "read_meta_graph_file": _meta,
    "read GraphDef": _graph, "get_checkpoint_state": _state,
}  # fmt: skip

TARGETS = [
    Target("dtypes", "model.index", "BundleReader", "model", table=True, checksummed=True),
    Target("dtypes", "model.data-00000-of-00001", "BundleReader", "model", checksummed=True),
    Target("dtypes", "variant.data-00000-of-00001", "BundleReader", "variant", checksummed=True),
    Target("partitioned", "model.index", "BundleReader", "model", table=True, checksummed=True),
    Target("partitioned", "bigslice.index", "BundleReader", "bigslice", table=True, checksummed=True),
    Target("sharded", "model.index", "CheckpointReader", ".", table=True, checksummed=True),
    Target("sharded", "model.data-00001-of-00002", "CheckpointReader", ".", checksummed=True),
    Target("mlp_adam", "model-3.index", "CheckpointReader", "model-3", table=True, checksummed=True),
    Target("v1", "model", "V1Reader", "model", table=True, checksummed=True),
    Target("seed_ref", "my_test_model-1000.meta", "read_meta_graph_file", "my_test_model-1000.meta"),
    Target("mlp_adam", "model-3.meta", "read_meta_graph_file", "model-3.meta"),
    Target("julia_meta", "my_model.pbtxt", "read_meta_graph_file", "my_model.pbtxt"),
    Target("julia_meta", "graph.pb", "read GraphDef", "graph.pb"),
    Target("julia_meta", "graph.pbtxt", "read GraphDef", "graph.pbtxt"),
    Target("mlp_adam", "checkpoint", "get_checkpoint_state", "."),
]


# -- mutations ----------------------------------------------------------------------
_INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff" * 9 + b"\x01", b"\x80" * 10, b"\xff\xff\xff\x7f",
                b"\x00" * 8, b"\xc3\x28", b"\xed\xa0\x80", b"{" * 64, b'"\\', b"\n"]  # fmt: skip


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One random mutation of ``data``: ``(label, mutated bytes)``."""
    n = len(data)
    pos = rng.randrange(n) if n else 0
    kind = rng.randrange(8)
    if kind == 0 and n:
        bit = rng.randrange(8)
        return f"flip bit {bit} of byte {pos}", data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
    if kind == 1:
        return f"truncate to {pos}", data[:pos]
    if kind == 2:
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 17)))
        return f"insert {len(junk)} random bytes at {pos}", data[:pos] + junk + data[pos:]
    if kind == 3 and n:
        src, length = rng.randrange(n), rng.randrange(1, 65)
        return f"splice {length} bytes from {src} over {pos}", data[:pos] + data[src : src + length] + data[pos + length :]
    if kind == 4:
        token = rng.choice(_INTERESTING)
        return f"overwrite {token!r} at {pos}", data[:pos] + token + data[pos + len(token) :]
    if kind == 5:
        length = rng.randrange(1, 33)
        return f"delete {length} bytes at {pos}", data[:pos] + data[pos + length :]
    if kind == 6 and n:
        value = rng.choice([b"\x00", b"\xff", bytes([rng.randrange(256)])])
        return f"set byte {pos} to {value.hex()}", data[:pos] + value + data[pos + 1 :]
    length = rng.randrange(1, 65)
    return f"duplicate {length} bytes at {pos}", data[:pos] + data[pos : pos + length] + data[pos:]


def mutations(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """``count`` cases of one to three stacked mutations each."""
    for _ in range(count):
        labels, out = [], data
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            label, out = mutate(out, rng)
            labels.append(label)
        yield "; ".join(labels), out


# Hostile index entries: each sets fields of a real BundleEntryProto to values a reader must survive.
_HUGE = [2**31, 2**40, 2**62, 2**63 - 1]


def _hostile_entry(entry: checkpoint_pb2.BundleEntryProto, rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        dims = [rng.choice(_HUGE + [0, 1, 3]) for _ in range(rng.randrange(1, 5))]
        entry.shape.ClearField("dim")
        for d in dims:
            entry.shape.dim.add().size = d
        return f"shape {dims}"
    if kind == 1:
        entry.offset = rng.choice(_HUGE + [entry.offset + 1, max(entry.offset - 1, 0)])
        return f"offset {entry.offset}"
    if kind == 2:
        entry.size = rng.choice(_HUGE + [entry.size + 1, max(entry.size - 1, 0), 0])
        return f"size {entry.size}"
    if kind == 3:
        entry.shard_id = rng.choice([1, 7, 2**31 - 1])
        return f"shard_id {entry.shard_id}"
    if kind == 4:
        entry.dtype = rng.choice([0, 7, 20, 21, 34, 101, 119, 1000])
        return f"dtype {entry.dtype}"
    if kind == 5:
        for _ in range(rng.randrange(1, 4)):
            extent = entry.slices.add().extent.add()
            extent.start, extent.length = rng.choice([(0, 1), (2**40, 1), (1, 2**40), (0, 0)])
        return "bogus slices"
    entry.offset, entry.size = 0, entry.size
    return "offset 0 (overlaps the first tensor)"


def refixed_mutations(data: bytes, rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Cases that mutate one table value (or make an index entry hostile) and rebuild valid checksums."""
    with _temp_table(data) as path, TableReader(path) as table:
        items = [(bytes(k), bytes(v)) for k, v in table.items()]
    for _ in range(count):
        index = rng.randrange(len(items))
        key, value = items[index]
        entry = checkpoint_pb2.BundleEntryProto()
        if key and rng.random() < 0.5 and _parses(entry, value):
            label = f"key {key!r}: {_hostile_entry(entry, rng)}"
            new_value = entry.SerializeToString()
        else:
            label, new_value = mutate(value, rng)
            label = f"key {key!r}: {label}"
        yield label, build_table(items[:index] + [(key, new_value)] + items[index + 1 :])


def _parses(entry, value: bytes) -> bool:
    try:
        parse_message(entry, value, "entry")
    except DataLossError:
        return False
    return True


@contextlib.contextmanager
def _temp_table(data: bytes):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "table"
        path.write_bytes(data)
        yield path


def build_table(items: list[tuple[bytes, bytes]]) -> bytes:
    """A table of ``items`` (keys sorted) with valid checksums."""
    out = io.BytesIO()
    writer = TableWriter(out)
    for key, value in sorted(items):
        writer.add(key, value)
    writer.finish()
    return out.getvalue()


# -- running cases ---------------------------------------------------------------------
def _on_alarm(signum, frame):
    raise Hang()


def classify(target: Target, directory: Path, expected, verify: bool, timeout: float | None = CASE_SECONDS) -> str:
    """Run the target's reader on ``directory`` and name the outcome (see the module docstring).

    ``timeout`` arms SIGALRM for hang detection; None leaves it to the caller
    (libFuzzer owns SIGALRM under atheris).
    """
    if timeout is not None:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        got = READERS[target.reader](directory / target.argument, verify)
    except (OpError, _Warned):
        return "typed"
    except Hang:
        return "hang"
    except Exception:  # noqa: BLE001 - the point is to catch whatever a reader must never raise
        return "crash"
    finally:
        if timeout is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return "exact" if got == expected else "changed"


def cases(target: Target, mode: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """The mutated files of ``target`` for ``mode`` (deterministic for a seed)."""
    original = (FIXTURES / target.fixture / target.victim).read_bytes()
    rng = random.Random(f"{seed}/{target.name}/{mode}")
    if mode == "refixed":
        return refixed_mutations(original, rng, count)
    return mutations(original, rng, count)


def modes_of(target: Target) -> list[str]:
    modes = ["raw"]
    if target.reader in ("BundleReader", "V1Reader", "CheckpointReader"):
        modes.append("noverify")
    if target.table:
        modes.append("refixed")
    return modes


@dataclass
class Result:
    """Outcome counts of one target in one mode, plus the cases that broke the rules."""

    target: Target
    mode: str
    counts: Counter
    failures: list[str]


def run_target(target: Target, mode: str, count: int, seed: int, workdir: Path) -> Result:
    """Run ``count`` cases of ``target`` in ``mode`` inside ``workdir`` (a scratch directory)."""
    directory = workdir / f"{target.fixture}-{mode}"
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(FIXTURES / target.fixture, directory)
    verify = mode != "noverify"
    expected = READERS[target.reader](directory / target.argument, verify)
    changed_ok = mode != "raw" or not target.checksummed
    victim = directory / target.victim
    counts: Counter = Counter()
    failures = []
    for label, data in cases(target, mode, count, seed):
        victim.write_bytes(data)
        outcome = classify(target, directory, expected, verify)
        counts[outcome] += 1
        if outcome in ("crash", "hang") or (outcome == "changed" and not changed_ok):
            failures.append(f"{target.name} [{mode}] {label}: {outcome}")
    shutil.rmtree(directory)
    return Result(target, mode, counts, failures)


def run_campaign(count: int, seed: int, workdir: Path, targets=TARGETS) -> list[Result]:
    """Every target in every mode that applies to it, ``count`` cases each."""
    return [run_target(t, mode, count, seed, workdir) for t in targets for mode in modes_of(t)]

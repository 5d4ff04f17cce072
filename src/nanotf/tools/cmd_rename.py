"""``nanotf rename CKPT OUT --map OLD=NEW``: rename a checkpoint's variables by name scope, offline.

A ``--map OLD=NEW`` renames the key OLD itself and every key under ``OLD/``:
``--map dense=layer1`` turns ``dense/kernel`` and its optimizer slot
``dense/kernel/Adam`` into ``layer1/...`` and leaves ``dense_1/kernel`` alone;
an empty NEW removes the scope (``--map tower_0=``). Where several maps match
a key, the longest OLD wins. OUT is a new V2 checkpoint prefix holding the
same tensors with the same dtypes and partitions, which TensorFlow restores
into a graph using the new names. ``--dry-run`` prints ``old -> new`` and
writes nothing. A map matching no key is an error: it is most likely a typo.
"""

from __future__ import annotations

import difflib
import os

from ..errors import NotFoundError
from .common import EXIT_OK, UsageError, print_json, split_mapping
from .progress import Progress, format_bytes
from .tensor_io import CHECKPOINT, CheckpointSource, file_format
from .tensor_write import make_plan, write_tensors

NAME = "rename"
HELP = "rename checkpoint variables by name scope (old/scope=new/scope), offline"


def scope_map(text: str) -> tuple[str, str]:
    """argparse type for ``OLD=NEW``; surrounding slashes are ignored."""
    old, new = split_mapping(text, "--map")
    return old.strip("/"), new.strip("/")


def add_arguments(parser) -> None:
    parser.add_argument("ckpt", help="the checkpoint to read (directory, prefix or file)")
    parser.add_argument("out", help="the checkpoint prefix to write")
    parser.add_argument("--map", type=scope_map, action="append", required=True, metavar="OLD=NEW",
                        dest="maps", help="rename scope OLD to NEW (repeatable)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print old -> new and write nothing")


def renamer(maps: list[tuple[str, str]]):
    """The ``key -> new key`` function of a list of scope maps (longest OLD first)."""
    ordered = sorted(maps, key=lambda m: len(m[0]), reverse=True)

    def new_name(name: str) -> str:
        for old, new in ordered:
            if name == old:
                return new
            if name.startswith(old + "/"):
                rest = name[len(old) + 1 :]
                return f"{new}/{rest}" if new else rest
        return name

    return new_name


def _check_maps_match(maps, names: list[str]) -> None:
    scopes = {"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 2)}
    for old, new in maps:
        if old not in scopes:
            close = difflib.get_close_matches(old, sorted(scopes), n=3, cutoff=0.5)
            hint = f"; closest scopes: {', '.join(close)}" if close else ""
            raise NotFoundError(f"--map {old}={new} matches no key of the checkpoint{hint}")


def run(args) -> int:
    if file_format(args.out) != CHECKPOINT:
        raise UsageError(f"OUT must be a checkpoint prefix, not {args.out} (use `nanotf convert` for other formats)")
    with CheckpointSource(args.ckpt) as source:
        if os.path.realpath(source.path) == os.path.realpath(args.out):
            raise UsageError(f"{args.out} is the source itself; write to another prefix")
        _check_maps_match(args.maps, source.names())
        plan = make_plan(source, renamer(args.maps))
        changes = [(p.source_name, p.name) for p in plan if p.source_name != p.name]
        total = sum(source.nbytes(p.source_name) for p in plan)
        if not args.dry_run:
            with Progress(total, "renaming") as progress:
                write_tensors(args.out, source, plan, progress.advance)
    if args.json:
        print_json({"source": source.path, "destination": None if args.dry_run else args.out,
                    "renamed": [{"from": a, "to": b} for a, b in changes],
                    "unchanged": [p.name for p in plan if p.source_name == p.name]})  # fmt: skip
        return EXIT_OK
    for old, new in changes:
        print(f"{old} -> {new}")
    summary = f"{len(changes)} of {len(plan)} keys renamed"
    if args.dry_run:
        print(f"{summary} (dry run: nothing written)")
    else:
        print(f"{summary}; wrote {args.out} ({format_bytes(total)})")
    return EXIT_OK

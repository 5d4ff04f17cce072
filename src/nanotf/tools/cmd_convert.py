"""``nanotf convert SRC DST``: tensors between TF checkpoints, ``.npz`` and ``.safetensors``.

The suffix names the format (``.npz``, ``.safetensors``; anything else is a
checkpoint: SRC a directory, prefix or file, DST a prefix). A checkpoint
written here is a V2 checkpoint TensorFlow's Saver restores, recorded in the
``checkpoint`` state file of its directory.

``--include`` / ``--exclude`` (regular expressions searched in the source
keys) choose the tensors, ``--rename REGEX=REPLACEMENT`` (repeatable, applied
in order, as ``re.sub``) renames them, ``--dtype`` casts floating-point
tensors. safetensors holds no strings: string tensors must be excluded.
"""

from __future__ import annotations

import os

from ..formats import dtypes
from .common import EXIT_OK, UsageError, print_json, regex, split_mapping
from .progress import Progress, format_bytes
from .tensor_io import file_format, open_tensors
from .tensor_write import is_float, make_plan, write_tensors

NAME = "convert"
HELP = "convert between TF checkpoints, .npz and .safetensors (rename, filter, cast)"
FLOAT_DTYPES = sorted(name for name, wire in dtypes.BY_NAME.items() if is_float(wire))


def rename_rule(text: str):
    """argparse type for ``REGEX=REPLACEMENT`` (split at the first ``=``)."""
    pattern, replacement = split_mapping(text, "--rename")
    return regex(pattern), replacement


def add_arguments(parser) -> None:
    parser.add_argument("src", help="a checkpoint (directory, prefix or file), .npz or .safetensors")
    parser.add_argument("dst", help="a checkpoint prefix, .npz or .safetensors to write")
    parser.add_argument("--rename", type=rename_rule, action="append", default=[], metavar="REGEX=REPLACEMENT",
                        help="rename keys with re.sub (repeatable, applied in order)")  # fmt: skip
    parser.add_argument("--include", type=regex, metavar="REGEX", help="keep only keys this matches (re.search)")
    parser.add_argument("--exclude", type=regex, metavar="REGEX", help="leave out keys this matches (re.search)")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, help="cast floating-point tensors to this dtype")


def run(args) -> int:
    def new_name(name: str) -> str:
        for pattern, replacement in args.rename:
            name = pattern.sub(replacement, name)
        return name

    def keep(name: str) -> bool:
        return (args.include is None or args.include.search(name) is not None) and (
            args.exclude is None or args.exclude.search(name) is None)  # fmt: skip

    with open_tensors(args.src) as source:
        if os.path.realpath(source.path) == os.path.realpath(args.dst):  # a file, or a checkpoint prefix
            raise UsageError(f"{args.dst} is the source itself; write to another path")
        cast = dtypes.BY_NAME[args.dtype] if args.dtype else None
        plan = make_plan(source, new_name, keep, cast)
        if not plan:
            raise UsageError(f"no tensor of {source.path} is left to write (check --include / --exclude)")
        total = sum(p.nbytes for p in plan)
        with Progress(total, "converting") as progress:
            write_tensors(args.dst, source, plan, progress.advance)
        report = {"source": source.path, "source_format": source.format, "destination": args.dst,
                  "format": file_format(args.dst), "bytes": total,
                  "tensors": [{"from": p.source_name, "to": p.name, "dtype": p.dtype.name, "shape": list(p.shape)}
                              for p in plan]}  # fmt: skip
    if args.json:
        print_json(report)
        return EXIT_OK
    renamed = sum(p.source_name != p.name for p in plan)
    print(f"wrote {report['format']} {args.dst}: {len(plan)} tensors, {format_bytes(total)}"
          f"{f', {renamed} renamed' if renamed else ''}{f', floats as {args.dtype}' if cast else ''}")  # fmt: skip
    return EXIT_OK


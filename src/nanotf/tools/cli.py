"""The ``nanotf`` command line (also ``python -m nanotf``).

Every subcommand is ``run(args) -> exit status``: 0 ok, 1 a problem with the
data (a missing, truncated or corrupted file), 2 a usage error. nanotf's typed
errors become one-line messages; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np

from nanotf import errors
from nanotf.train.checkpoint_reader import CheckpointReader

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


def _inspect(args) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reader = CheckpointReader(args.path)
    for w in caught:  # "you passed the .index file; the prefix is ..."
        print(f"note: {w.message}", file=sys.stderr)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    if args.tensor:
        return _show_tensor(reader, args.tensor, args.json)
    rows = [(name, dtypes[name].name, shapes[name], int(np.prod(shapes[name], dtype=np.int64)))
            for name in sorted(shapes)]
    if args.json:
        print(json.dumps({"prefix": reader.prefix,
                          "variables": [{"name": n, "dtype": d, "shape": s, "size": c} for n, d, s, c in rows]}))
        return EXIT_OK
    width = max([len(r[0]) for r in rows] + [8])
    print(f"checkpoint {reader.prefix}")
    print(f"{'variable':{width}}  {'dtype':10}  {'shape':18}  {'elements':>12}")
    for name, dtype, shape, count in rows:
        print(f"{name:{width}}  {dtype:10}  {str(shape):18}  {count:>12,}")
    print(f"{len(rows)} variables, {sum(r[3] for r in rows):,} elements")
    return EXIT_OK


def _show_tensor(reader: CheckpointReader, name: str, as_json: bool) -> int:
    value = reader.get_tensor(name)
    stats = {}
    if value.dtype.kind in "fiucb" and value.size:
        as_float = value.astype(np.float64)
        stats = {"min": float(as_float.min()), "max": float(as_float.max()), "mean": float(as_float.mean()),
                 "std": float(as_float.std()), "nan": int(np.isnan(as_float).sum()),
                 "inf": int(np.isinf(as_float).sum())}
    if as_json:
        print(json.dumps({"name": name, "dtype": str(value.dtype), "shape": list(value.shape), "stats": stats}))
        return EXIT_OK
    print(f"{name}: dtype {value.dtype}, shape {list(value.shape)}")
    print(np.array2string(value, threshold=200))
    if stats:
        print("  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in stats.items()))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanotf", description="TensorFlow checkpoints without TensorFlow.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser("inspect", help="list a checkpoint's variables, or show one tensor")
    inspect.add_argument("path", help="a checkpoint directory, prefix, or any of its files")
    inspect.add_argument("--tensor", help="show this tensor's values and statistics")
    inspect.add_argument("--json", action="store_true", help="machine-readable output")
    inspect.set_defaults(run=_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nanotf`` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE
    if args.debug:
        return args.run(args)
    try:
        return args.run(args)
    except errors.OpError as e:
        print(f"nanotf {args.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())

"""``nanotf inspect PATH``: what a checkpoint (or ``.npz`` / ``.safetensors`` file) holds.

Without ``--tensor``: one row per tensor (name, dtype, shape, elements, bytes)
and the totals. With ``--tensor NAME``: its values, printed with NumPy's print
options (``--full`` prints every value, ``--precision`` sets the digits), then
min / max / mean / std over its finite values and its NaN and Inf counts.
"""

from __future__ import annotations

import difflib
import math
import sys

import numpy as np

from ..errors import NotFoundError
from ..formats import dtypes
from .common import EXIT_OK, print_json
from .progress import Progress, format_bytes
from .tensor_io import CHECKPOINT, TensorSource, open_tensors

NAME = "inspect"
HELP = "list the tensors of a checkpoint, .npz or .safetensors file, or show one tensor"
JSON_VALUES_MAX = 1000  # --json includes the values of tensors up to this size (all with --full)
STATS_CHUNK = 1 << 22  # elements per step of the statistics


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a checkpoint directory, prefix or file; or a .npz / .safetensors file")
    parser.add_argument("--tensor", metavar="NAME", help="show this tensor's values and statistics")
    parser.add_argument("--full", action="store_true", help="print every value instead of a summary")
    parser.add_argument("--precision", type=int, metavar="N", help="digits printed after the decimal point")


def run(args) -> int:
    with open_tensors(args.path) as source:
        if args.tensor is not None:
            return _show_tensor(source, args)
        return _list(source, args.json)


def _list(source: TensorSource, as_json: bool) -> int:
    rows = []
    for name in source.names():
        shape = list(source.shape(name))
        rows.append({"name": name, "dtype": source.dtype(name).name, "shape": shape,
                     "size": int(np.prod(shape, dtype=np.int64)), "bytes": source.nbytes(name),
                     "slices": len(source.partitions(name))})  # fmt: skip
    elements, size = sum(r["size"] for r in rows), sum(r["bytes"] for r in rows)
    if as_json:
        print_json({"path": source.path, "format": source.format, "variables": rows,
                    "total_elements": elements, "total_bytes": size})  # fmt: skip
        return EXIT_OK
    labels = [r["name"] + (f" ({r['slices']} slices)" if r["slices"] else "") for r in rows]
    width = max([len(label) for label in labels] + [8])
    print(f"{source.format} {source.path}")
    print(f"{'name':{width}}  {'dtype':10}  {'shape':18}  {'elements':>12}  {'bytes':>10}")
    for label, r in zip(labels, rows, strict=True):
        print(f"{label:{width}}  {r['dtype']:10}  {r['shape']!s:18}  {r['size']:>12,}  {format_bytes(r['bytes']):>10}")
    noun = "variables" if source.format == CHECKPOINT else "tensors"
    print(f"{len(rows)} {noun}, {elements:,} elements, {format_bytes(size)}")
    return EXIT_OK


def tensor_stats(value: np.ndarray, wire: dtypes.WireDType, on_bytes=lambda n: None) -> dict | None:
    """min / max / mean / std over the finite values, and the NaN and Inf counts.

    Works through the tensor in chunks, so a tensor of many GB is never
    copied whole as float64; the chunks' means and squared deviations are
    combined pairwise (Chan et al.), which keeps the std accurate.

    Args:
        value: the tensor; wire: its dtype.
        on_bytes: called with the bytes of each chunk done (progress).

    Returns:
        None for strings, variants, complex and empty tensors; min..std are
        None if no value is finite.
    """
    if wire.numpy is None or wire.name.startswith("complex") or value.size == 0:
        return None
    flat = value.reshape(-1)
    count, mean, squares, low, high, nan, inf = 0, 0.0, 0.0, math.inf, -math.inf, 0, 0
    for start in range(0, flat.size, STATS_CHUNK):
        chunk = flat[start : start + STATS_CHUNK].astype(np.float64)
        finite_mask = np.isfinite(chunk)
        finite = chunk[finite_mask]
        chunk_nan = int(np.isnan(chunk).sum())
        nan, inf = nan + chunk_nan, inf + chunk.size - int(finite_mask.sum()) - chunk_nan
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
            chunk_mean = float(finite.mean())
            delta, total = chunk_mean - mean, count + finite.size
            mean += delta * finite.size / total
            squares += float(((finite - chunk_mean) ** 2).sum()) + delta * delta * count * finite.size / total
            count = total
        on_bytes(chunk.size * value.itemsize)
    stats = {"min": low, "max": high, "mean": mean, "std": math.sqrt(squares / count)} if count else (
        dict.fromkeys(("min", "max", "mean", "std")))  # fmt: skip
    return {**stats, "nan": nan, "inf": inf}


def _find(source: TensorSource, name: str) -> None:
    names = source.names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise NotFoundError(f"no tensor {name} in {source.path}{hint}")


def _show_tensor(source: TensorSource, args) -> int:
    _find(source, args.tensor)
    wire = source.dtype(args.tensor)
    value = source.read(args.tensor)
    with Progress(value.nbytes, "reading") as progress:
        stats = tensor_stats(value, wire, progress.advance)
    if args.json:
        document = {"path": source.path, "name": args.tensor, "dtype": wire.name, "shape": list(value.shape),
                    "stats": stats}  # fmt: skip
        if value.size <= JSON_VALUES_MAX or args.full:
            document["values"] = json_values(value, wire)
        print_json(document)
        return EXIT_OK
    print(f"{args.tensor}: {wire.name}, shape {list(value.shape)}, {value.size:,} elements")
    options = {"threshold": sys.maxsize} if args.full else {}
    if args.precision is not None:
        options["precision"] = args.precision
    with np.printoptions(**options):
        print(np.array2string(value))
    if stats:
        print("  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in stats.items()))
    return EXIT_OK


def json_values(value: np.ndarray, wire: dtypes.WireDType):
    """``value`` as nested JSON lists: bytes as text (undecodable bytes escaped),
    non-finite floats as the strings ``"nan"``, ``"inf"``, ``"-inf"``, complex as [re, im]."""
    if wire.numpy is None:
        flat = [x.decode("utf-8", "backslashreplace") if isinstance(x, bytes) else str(x) for x in value.ravel()]
        return np.array(flat, dtype=object).reshape(value.shape).tolist()
    if wire.name.startswith("complex"):
        value = np.stack([value.real, value.imag], axis=-1)
    elif value.dtype.kind in "biu":
        return value.tolist()
    elif wire.name.startswith(("int", "uint")):  # int4, int2: NumPy extension types
        return value.astype(np.int64).tolist()
    as_float = value.astype(np.float64)
    out = as_float.astype(object)
    bad = ~np.isfinite(as_float)
    out[bad] = [str(x) for x in as_float[bad]]
    return out.tolist()

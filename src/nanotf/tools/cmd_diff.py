"""``nanotf diff A B``: how two checkpoints (or ``.npz`` / ``.safetensors`` files) differ.

Reports the keys only in A, only in B, the common keys whose dtype or shape
changed, and for the other common tensors whether their values differ: the
maximum absolute difference and how many elements differ. NaNs in the same
places compare equal. Exit status 0 if A and B hold the same tensors with the
same values (within ``--atol``), 1 if they differ.
"""

from __future__ import annotations

import math

import numpy as np

from .common import EXIT_DATA, EXIT_OK, print_json
from .progress import Progress
from .tensor_io import TensorSource, open_tensors

NAME = "diff"
HELP = "compare two checkpoints / .npz / .safetensors files key by key"
CHUNK_ELEMENTS = 1 << 22  # compared per step, so a huge tensor is never copied whole as float64


def add_arguments(parser) -> None:
    parser.add_argument("a", help="a checkpoint (directory, prefix or file), .npz or .safetensors")
    parser.add_argument("b", help="the same kinds of things as A")
    parser.add_argument("--atol", type=float, default=0.0, help="values closer than this count as equal (default 0)")


def compare(x: np.ndarray, y: np.ndarray, atol: float = 0.0) -> dict | None:
    """Compare two arrays of the same shape (numeric ones may differ in dtype).

    Returns:
        None if equal, else ``{"differing": element count, "max_abs_diff":
        float or None}`` (None for strings; NaN where one side is NaN and
        the other is not).
    """
    if x.dtype.kind in "OSU" or y.dtype.kind in "OSU":
        differing = sum(p != q for p, q in zip(x.ravel(), y.ravel(), strict=True))
        return {"differing": int(differing), "max_abs_diff": None} if differing else None
    x, y = x.reshape(-1), y.reshape(-1)
    wide = np.complex128 if "c" in (x.dtype.kind, y.dtype.kind) else np.float64
    differing, max_diff, nan_mismatch = 0, 0.0, False
    for start in range(0, x.size, CHUNK_ELEMENTS):
        p = x[start : start + CHUNK_ELEMENTS].astype(wide)
        q = y[start : start + CHUNK_ELEMENTS].astype(wide)
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.where(p == q, 0.0, np.abs(p - q))  # p == q keeps equal infinities at 0
        diff[np.isnan(p) & np.isnan(q)] = 0.0
        mismatch = np.isnan(diff)
        nan_mismatch |= bool(mismatch.any())
        differing += int(((diff > atol) | mismatch).sum())
        finite = diff[~mismatch]
        if finite.size:
            max_diff = max(max_diff, float(finite.max()))
    if not differing:
        return None
    return {"differing": differing, "max_abs_diff": math.nan if nan_mismatch else max_diff}


def diff_sources(a: TensorSource, b: TensorSource, atol: float) -> dict:
    """The comparison ``nanotf diff`` reports, as a JSON-ready dict (NaN/Inf as strings)."""
    names_a, names_b = set(a.names()), set(b.names())
    common = sorted(names_a & names_b)
    changed, differ, same = [], [], []
    total = sum(a.nbytes(n) + b.nbytes(n) for n in common)
    with Progress(total, "comparing") as progress:
        for name in common:
            if (a.dtype(name), a.shape(name)) != (b.dtype(name), b.shape(name)):
                changed.append(_changed(a, b, name, atol))
                progress.advance(a.nbytes(name) + b.nbytes(name))
                continue
            result = compare(a.read(name), b.read(name), atol)
            progress.advance(a.nbytes(name) + b.nbytes(name))
            if result is None:
                same.append(name)
            else:
                size = int(np.prod(a.shape(name), dtype=np.int64))
                differ.append({"name": name, "elements": size, "differing": result["differing"],
                               "max_abs_diff": _json_float(result["max_abs_diff"])})  # fmt: skip
    return {"a": a.path, "b": b.path, "only_in_a": sorted(names_a - names_b), "only_in_b": sorted(names_b - names_a),
            "dtype_or_shape_changed": changed, "values_differ": differ, "identical": same,
            "same": not (names_a ^ names_b or changed or differ)}  # fmt: skip


def _changed(a: TensorSource, b: TensorSource, name: str, atol: float) -> dict:
    """A key whose dtype or shape changed; numeric values of one shape are compared across the cast."""
    row = {"name": name, "a": {"dtype": a.dtype(name).name, "shape": list(a.shape(name))},
           "b": {"dtype": b.dtype(name).name, "shape": list(b.shape(name))}}  # fmt: skip
    if a.shape(name) == b.shape(name) and a.dtype(name).numpy is not None and b.dtype(name).numpy is not None:
        result = compare(a.read(name), b.read(name), atol)
        row["max_abs_diff"] = 0.0 if result is None else _json_float(result["max_abs_diff"])
    return row


def _json_float(value):
    return value if value is None or math.isfinite(value) else str(value)


def run(args) -> int:
    with open_tensors(args.a) as a, open_tensors(args.b) as b:
        report = diff_sources(a, b, args.atol)
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return EXIT_OK if report["same"] else EXIT_DATA


def _print_report(r: dict) -> None:
    print(f"A: {r['a']}\nB: {r['b']}")
    for key, title in (("only_in_a", "only in A"), ("only_in_b", "only in B")):
        if r[key]:
            print(f"{title} ({len(r[key])}): {', '.join(r[key])}")
    if r["dtype_or_shape_changed"]:
        print(f"dtype or shape changed ({len(r['dtype_or_shape_changed'])}):")
        for c in r["dtype_or_shape_changed"]:
            values = f", max |a-b| {c['max_abs_diff']:.6g}" if isinstance(c.get("max_abs_diff"), float) else ""
            print(f"  {c['name']}: {c['a']['dtype']} {c['a']['shape']} -> {c['b']['dtype']} {c['b']['shape']}{values}")
    if r["values_differ"]:
        print(f"values differ ({len(r['values_differ'])}):")
        for d in r["values_differ"]:
            m = d["max_abs_diff"]
            amount = "" if m is None else f"max |a-b| {m:.6g}, " if isinstance(m, float) else f"max |a-b| {m}, "
            print(f"  {d['name']}: {amount}{d['differing']:,} of {d['elements']:,} elements differ")
    print(f"{len(r['identical'])} tensors identical")
    print("same" if r["same"] else "different")

"""Checkpoint I/O benchmark: nanotf's writer/reader vs TensorFlow's Saver vs raw file I/O.

Every measurement runs in a fresh process (so peak memory is that process's
own, and no run reuses another's warm heap). Runs alternate (nanotf, TF, raw,
nanotf, TF, raw, ...) and the table reports medians plus the median of the
per-round ratios. The data (float32, a fixed seed) is generated before the
clock starts.

    python bench/checkpoint_io.py --tf-python PATH [--mb 1024] [--rounds 3] [--write-md]

Layouts: ``many`` = 100 variables of equal size, ``one`` = a single variable.
"Load" means every tensor ends up as an array in memory that owns or maps its
bytes with every page touched; the reader's ``copy`` mode and zero-copy mmap
mode are both measured. Reads are from the page cache (the file was just
written); ``--cold`` drops the page cache before each read (needs root).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import write_section

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PAGE = 4096


def make_arrays(total_mb: int, layout: str) -> dict[str, np.ndarray]:
    n_vars = 100 if layout == "many" else 1
    per = total_mb * 2**20 // 4 // n_vars
    rng = np.random.default_rng(0)
    block = rng.standard_normal(1 << 20, dtype=np.float32)
    return {f"layer_{i:03d}/kernel": np.resize(block, per) + np.float32(i) for i in range(n_vars)}


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _touch(arr: np.ndarray) -> None:
    # One read per page forces every page in without the cost of a reduction.
    flat = arr.reshape(-1).view(np.uint8)
    int(flat[::PAGE].sum())


# ---- workers (each runs in its own process and prints one JSON line) ----

def worker_nanotf_save(prefix: str, mb: int, layout: str) -> dict:
    from nanotf.train import write_checkpoint

    arrays = make_arrays(mb, layout)
    rss0 = _peak_rss_bytes()
    t = time.perf_counter()
    write_checkpoint(prefix, arrays, write_state=False)
    return {"seconds": time.perf_counter() - t, "peak_extra": _peak_rss_bytes() - rss0}


def worker_nanotf_load(prefix: str, mode: str) -> dict:
    from nanotf.train import load_checkpoint

    rss0 = _peak_rss_bytes()
    t = time.perf_counter()
    reader = load_checkpoint(prefix)
    arrays = [reader.get_tensor(k, copy=(mode == "copy")) for k in reader.get_variable_to_shape_map()]
    for a in arrays:
        _touch(a)
    return {"seconds": time.perf_counter() - t, "peak_extra": _peak_rss_bytes() - rss0}


def worker_raw_write(path: str, mb: int, layout: str, fsync: str = "no") -> dict:
    arrays = make_arrays(mb, layout)
    rss0 = _peak_rss_bytes()
    t = time.perf_counter()
    with open(path, "wb") as f:
        for a in arrays.values():
            f.write(memoryview(a).cast("B"))
        if fsync == "fsync":
            f.flush()
            os.fsync(f.fileno())
    return {"seconds": time.perf_counter() - t, "peak_extra": _peak_rss_bytes() - rss0}


def worker_raw_read(path: str) -> dict:
    import mmap

    size = os.path.getsize(path)
    rss0 = _peak_rss_bytes()
    t = time.perf_counter()
    buf = mmap.mmap(-1, size)  # anonymous, page-aligned: the fastest read target here
    with open(path, "rb", buffering=0) as f:
        f.readinto(buf)
    return {"seconds": time.perf_counter() - t, "peak_extra": _peak_rss_bytes() - rss0}


TF_SAVE = """
import json, os, resource, sys, time
sys.path.insert(0, {bench!r})
from checkpoint_io import make_arrays
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
arrays = make_arrays({mb}, {layout!r})
vs = [tf.Variable(tf.zeros(a.shape), name=k) for k, a in arrays.items()]
saver = tf.train.Saver()
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for v, a in zip(vs, arrays.values()):
        v.load(a, sess)
    del arrays
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    saver.save(sess, {prefix!r}, write_meta_graph=False, write_state=False)
    dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "peak_extra": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0}}))
"""

TF_LOAD = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
reader = tf.train.load_checkpoint({prefix!r})
shapes = reader.get_variable_to_shape_map()
vs = [tf.Variable(tf.zeros(s), name=k) for k, s in sorted(shapes.items())]
saver = tf.train.Saver()
with tf.Session() as sess:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    saver.restore(sess, {prefix!r})
    dt = time.perf_counter() - t
print(json.dumps({{"seconds": dt, "peak_extra": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0}}))
"""


# ---- driver ----

def _run(cmd: list[str], env=None) -> dict:
    env = dict(os.environ, **(env or {}), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _self(*args: str) -> dict:
    return _run([sys.executable, __file__, "--worker", *args], env={"PYTHONPATH": str(ROOT / "src")})


def _drop_caches(cold: bool) -> None:
    if cold:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def run_layout(args, layout: str, work: Path) -> dict[str, list[dict]]:
    bench_dir = str(Path(__file__).parent)
    results: dict[str, list[dict]] = {}

    def record(name, value):
        results.setdefault(name, []).append(value)

    for _ in range(args.rounds):
        for d in work.iterdir():
            d.unlink() if d.is_file() else shutil.rmtree(d)
        nt, tfp, raw = str(work / "nanotf"), str(work / "tf"), str(work / "raw.bin")
        record("nanotf save", _self("nanotf-save", nt, str(args.mb), layout))
        if args.tf_python:
            record("TF Saver.save", _run([args.tf_python, "-c", TF_SAVE.format(
                bench=bench_dir, mb=args.mb, layout=layout, prefix=tfp)]))
        record("raw write", _self("raw-write", raw, str(args.mb), layout))
        record("raw write + fsync", _self("raw-write", raw, str(args.mb), layout, "fsync"))
        for mode in ("copy", "mmap"):
            _drop_caches(args.cold)
            record(f"nanotf load ({mode})", _self("nanotf-load", nt, mode))
        if args.tf_python:
            _drop_caches(args.cold)
            record("TF Saver.restore", _run([args.tf_python, "-c", TF_LOAD.format(bench=bench_dir, prefix=tfp)]))
        _drop_caches(args.cold)
        record("raw read", _self("raw-read", raw))
    return results


def _ratio_median(results, a: str, b: str) -> float | None:
    if a not in results or b not in results:
        return None
    return statistics.median(x["seconds"] / y["seconds"] for x, y in zip(results[a], results[b]))


def render(all_results: dict[str, dict], args) -> str:
    gb = args.mb / 1024
    lines = [
        f"Data: {args.mb} MiB of float32; {args.rounds} rounds, alternating; medians. "
        f"Reads {'cold (page cache dropped)' if args.cold else 'warm (page cache)'}. "
        f"Command: `python bench/checkpoint_io.py --tf-python PATH --mb {args.mb} --rounds {args.rounds}"
        f"{' --cold' if args.cold else ''} --write-md`",
        "",
        "| layout | operation | median s | GB/s | peak extra memory / data | time vs TF | time vs raw |",
        "|---|---|---|---|---|---|---|",
    ]
    for layout, results in all_results.items():
        for name, runs in results.items():
            sec = statistics.median(r["seconds"] for r in runs)
            mem = statistics.median(r["peak_extra"] for r in runs) / (args.mb * 2**20)
            is_save = "save" in name or "write" in name
            tf_name = "TF Saver.save" if is_save else "TF Saver.restore"
            raw_name = "raw write" if is_save else "raw read"
            vs_tf = _ratio_median(results, name, tf_name) if name.startswith("nanotf") else None
            vs_raw = _ratio_median(results, name, raw_name) if not name.startswith("raw") else None
            if name == "nanotf save":  # nanotf fsyncs before renaming; so does this baseline
                vs_raw_fsync = _ratio_median(results, name, "raw write + fsync")
                name += f" (vs raw write + fsync: {vs_raw_fsync:.2f}x)"
            fmt = lambda r: "" if r is None else f"{r:.2f}x"  # noqa: E731
            lines.append(f"| {layout} | {name} | {sec:.3f} | {gb / sec:.2f} | {mem:.2f} | {fmt(vs_tf)} | {fmt(vs_raw)} |")
    lines.append("")
    lines.append("Time ratios below 1.00x mean nanotf is faster. Peak extra memory is the growth of the "
                 "process's peak RSS during the operation, as a fraction of the checkpoint's data size. "
                 "nanotf's save fsyncs its files before renaming them into place (crash safety); "
                 "TensorFlow's Saver and the plain raw write do not.")
    return "\n".join(lines)




def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        kind, *rest = sys.argv[2:]
        workers = {"nanotf-save": worker_nanotf_save, "nanotf-load": worker_nanotf_load,
                   "raw-write": worker_raw_write, "raw-read": worker_raw_read}
        conv = [int(a) if a.isdigit() else a for a in rest]
        print(json.dumps(workers[kind](*conv)))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tf-python", help="interpreter with tensorflow-cpu installed (omit to skip TF)")
    p.add_argument("--mb", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--layouts", default="many,one")
    p.add_argument("--cold", action="store_true", help="drop the page cache before reads (root only)")
    p.add_argument("--write-md", action="store_true", help="update BENCHMARKS.md")
    args = p.parse_args()
    all_results = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("NANOTF_BENCH_DIR")) as tmp:
        for layout in args.layouts.split(","):
            work = Path(tmp) / layout
            work.mkdir()
            all_results[layout] = run_layout(args, layout, work)
    table = render(all_results, args)
    print(table)
    if args.write_md:
        write_section("checkpoint-io", "Checkpoint I/O", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Graph-runtime benchmark: nanotf vs TensorFlow (tf.compat.v1) on Python-side costs.

Three measurements, each in fresh processes that alternate (nanotf, TF, nanotf, TF, ...);
the table reports medians plus the median of the per-round ratios (nanotf / TF):

1. ``session.run`` latency of the seed graph (w1, w2 float placeholders, ``bias`` Variable(2.0),
   ``op_to_restore = (w1 + w2) * bias``) fed ``{w1: 4.0, w2: 8.0}``: median of per-call times
   after a warm-up, in each process.
2. ``tf.train.import_meta_graph`` of a ~10,000-node .meta (Variables + MatMul/Add/Mul layers and a
   Saver, written once by nanotf; the same file for both) into a fresh graph: the first import in
   the process, and the median of further imports (a fresh graph each time).
3. ``import nanotf`` vs ``import tensorflow`` wall time of ``python -c``, minus that interpreter's
   bare startup (``python -c pass``, measured in the same rounds); one discarded warm-up round, which
   also writes both libraries' .pyc files under a temporary PYTHONPYCACHEPREFIX.

    python bench/graph_runtime.py --tf-python PATH [--rounds 5] [--write-md]

The same file runs as the worker under both interpreters (``--worker nanotf|tf KIND ...``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks_md import write_section

ROOT = Path(__file__).resolve().parent.parent
LAYERS = 710  # ~14 nodes per layer -> ~9,950 nodes


def _lib(name: str):
    tf = importlib.import_module("nanotf" if name == "nanotf" else "tensorflow.compat.v1")
    tf.disable_v2_behavior()
    return tf


# ---- workers (each runs in its own process and prints one JSON line) ----

def worker_gen_meta(lib: str, path: str) -> dict:
    tf = _lib(lib)
    h = tf.placeholder(tf.float32, [1, 8], name="x")
    for i in range(LAYERS):
        with tf.name_scope(f"layer_{i}"):
            w = tf.Variable(tf.zeros([8, 8]), name="w")
            b = tf.Variable(tf.zeros([8]), name="b")
            h = tf.add(tf.matmul(h, w), b) * 0.5
    meta = tf.train.Saver().export_meta_graph(path)
    return {"nodes": len(meta.graph_def.node), "saver_def": meta.HasField("saver_def")}


def worker_session_run(lib: str, warmup: str, calls: str) -> dict:
    tf = _lib(lib)
    w1 = tf.placeholder("float", name="w1")
    w2 = tf.placeholder("float", name="w2")
    bias = tf.Variable(2.0, name="bias")
    op = tf.multiply(tf.add(w1, w2), bias, name="op_to_restore")
    clock = time.perf_counter
    times = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(int(warmup)):
            sess.run(op, {w1: 4.0, w2: 8.0})
        for _ in range(int(calls)):
            t = clock()
            sess.run(op, {w1: 4.0, w2: 8.0})
            times.append(clock() - t)
        assert float(sess.run(op, {w1: 4.0, w2: 8.0})) == 24.0
    return {"seconds": statistics.median(times), "mean": statistics.fmean(times)}


def worker_import_meta(lib: str, path: str, repeats: str) -> dict:
    tf = _lib(lib)
    times, nodes = [], 0
    for _ in range(1 + int(repeats)):
        g = tf.Graph()
        with g.as_default():
            t = time.perf_counter()
            assert tf.train.import_meta_graph(path) is not None
            times.append(time.perf_counter() - t)
            nodes = len(g.get_operations())
    return {"first": times[0], "seconds": statistics.median(times[1:]), "nodes": nodes}


# ---- driver ----

def _env(lib: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if lib == "nanotf":
        env["PYTHONPATH"] = str(ROOT / "src")
    return env


def _worker(args, lib: str, *argv: str) -> dict:
    py = sys.executable if lib == "nanotf" else args.tf_python
    cmd = [py, __file__, "--worker", lib, *argv]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=_env(lib)).stdout
    return json.loads(out.strip().splitlines()[-1])


def _wall(py: str, code: str, lib: str) -> float:
    t = time.perf_counter()
    subprocess.run([py, "-c", code], check=True, capture_output=True, env=_env(lib))
    return time.perf_counter() - t


def run_all(args, tmp: Path) -> dict[str, list[dict]]:
    libs = ["nanotf", "tf"] if args.tf_python else ["nanotf"]
    meta = str(tmp / "graph.meta")
    info = _worker(args, "nanotf", "gen-meta", meta)
    res: dict[str, list[dict]] = {"meta": [info]}
    for _ in range(args.rounds):
        for lib in libs:
            res.setdefault(f"run:{lib}", []).append(_worker(args, lib, "session-run", "500", str(args.calls)))
        for lib in libs:
            r = _worker(args, lib, "import-meta", meta, str(args.repeats))
            assert r["nodes"] == info["nodes"], (lib, r["nodes"], info["nodes"])
            res.setdefault(f"meta:{lib}", []).append(r)
    mods = {"nanotf": "import nanotf", "tf": "import tensorflow"}
    for i in range(args.import_rounds + 1):  # round 0 warms the page cache and .pyc files
        for lib in libs:
            py = sys.executable if lib == "nanotf" else args.tf_python
            bare = _wall(py, "pass", lib)
            full = _wall(py, mods[lib], lib)
            if i:
                res.setdefault(f"import:{lib}", []).append({"seconds": full - bare, "total": full, "bare": bare})
    return res


def _med(runs, key="seconds") -> float:
    return statistics.median(r[key] for r in runs)


def render(res: dict, args) -> str:
    have_tf = bool(args.tf_python)
    rows = [  # (label, result key, value key, unit scale, unit, target ratio)
        ("`sess.run(op_to_restore, feed)` per call (seed graph)", "run", "seconds", 1e6, "us", 1.0),
        (f"`import_meta_graph`, {res['meta'][0]['nodes']} nodes, first in process", "meta", "first", 1e3, "ms", 1.0),
        (f"`import_meta_graph`, {res['meta'][0]['nodes']} nodes, warm median of {args.repeats}",
         "meta", "seconds", 1e3, "ms", 1.0),
        ("`import` minus bare interpreter startup", "import", "seconds", 1e3, "ms", 0.1),
        ("`import` total wall time of `python -c`", "import", "total", 1e3, "ms", None),
    ]
    lines = [
        f"{args.rounds} rounds of fresh processes, alternating nanotf / TF; `sess.run`: median of {args.calls} "
        f"timed calls after 500 warm-up calls per process; `import_meta_graph`: a .meta written once by nanotf "
        f"({LAYERS} layers of Variables + MatMul/Add/Mul, with a SaverDef), read from the page cache; `import`: "
        f"{args.import_rounds} alternated rounds after one discarded warm-up round, both libraries loading "
        f".pyc files from a fresh `PYTHONPYCACHEPREFIX` (written by the warm-up round). Command: "
        f"`python bench/graph_runtime.py --tf-python PATH --rounds {args.rounds} --calls {args.calls} "
        f"--repeats {args.repeats} --import-rounds {args.import_rounds} --write-md`",
        "",
        "| measurement | nanotf | TF 2.21 (compat.v1) | nanotf / TF (median of per-round ratios) | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, vkey, scale, unit, target in rows:
        nt = res[f"{key}:nanotf"]
        cells = [f"{_med(nt, vkey) * scale:.1f} {unit}", "", "", "" if target is None else f"<= {target:.2f}x", ""]
        if have_tf:
            tfr = res[f"{key}:tf"]
            ratio = statistics.median(a[vkey] / b[vkey] for a, b in zip(nt, tfr))
            cells[1:3] = [f"{_med(tfr, vkey) * scale:.1f} {unit}", f"{ratio:.3f}x"]
            cells[4] = "" if target is None else ("yes" if ratio <= target else "**no**")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    bare = [f"{_med(res[f'import:{lib}'], 'bare') * 1e3:.0f} ms ({lib})" for lib in ("nanotf", "tf")
            if f"import:{lib}" in res]
    lines += ["", "Ratios below 1.00x mean nanotf is faster. Bare interpreter startup (`python -c pass`): "
              + ", ".join(bare) + ". The TF interpreter is a separate venv; each library's import time "
              "subtracts its own interpreter's startup."]
    return "\n".join(lines)




def main() -> int:
    if len(sys.argv) > 3 and sys.argv[1] == "--worker":
        lib, kind, *rest = sys.argv[2:]
        workers = {"gen-meta": worker_gen_meta, "session-run": worker_session_run, "import-meta": worker_import_meta}
        print(json.dumps(workers[kind](lib, *rest)))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tf-python", help="interpreter with tensorflow installed (omit to skip TF)")
    p.add_argument("--rounds", type=int, default=5, help="fresh-process rounds for sess.run / import_meta_graph")
    p.add_argument("--calls", type=int, default=5000, help="timed sess.run calls per process")
    p.add_argument("--repeats", type=int, default=5, help="warm import_meta_graph repeats per process")
    p.add_argument("--import-rounds", type=int, default=5)
    p.add_argument("--write-md", action="store_true", help="update BENCHMARKS.md")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("NANOTF_BENCH_DIR")) as tmp:
        # Byte-compiled modules as in an installed package, for both libraries alike (the warm-up round
        # writes them), kept out of the source trees.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        res = run_all(args, Path(tmp))
    table = render(res, args)
    print(table)
    if args.write_md:
        write_section("graph-runtime", "Graphs and sessions", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training benchmark: nanotf vs TensorFlow (tf.compat.v1) on a 784-256-256-10 ReLU MLP.

Measurements, each in fresh processes that alternate (nanotf, TF, nanotf, TF, ...); the table
reports medians plus the median of the per-round ratios (nanotf / TF):

1. one Adam training step (``sess.run(train_op, feed)``, softmax cross-entropy, batch 128): the median
   of per-step times after a warm-up, in each process; with each library's default threads, and with
   both limited to one thread (nanotf: ``OPENBLAS_NUM_THREADS=1`` for NumPy's BLAS; TF:
   ``intra_op_parallelism_threads=1, inter_op_parallelism_threads=1``);
2. batch-1 inference latency (``sess.run(logits, feed)``): the median of per-call times after a warm-up.

Both libraries build the same graph from the same code (ref variables, ``disable_v2_behavior()``),
seeded initializers, the same fixed batch. Each worker also reports the loss after its timed steps,
and the driver checks that nanotf and TF agree on it (same data, same initial values, same updates).

    python bench/training.py --tf-python PATH [--rounds 5] [--write-md]

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
import time
from pathlib import Path

import numpy as np

from benchmarks_md import write_section

ROOT = Path(__file__).resolve().parent.parent
LAYERS = (784, 256, 256, 10)
BATCH = 128


def _lib(name: str):
    tf = importlib.import_module("nanotf" if name == "nanotf" else "tensorflow.compat.v1")
    tf.disable_v2_behavior()
    return tf


def build_mlp(tf):
    """The benchmarked model; returns (x, labels, logits, loss, train_op)."""
    x = tf.placeholder(tf.float32, [None, LAYERS[0]], name="x")
    labels = tf.placeholder(tf.float32, [None, LAYERS[-1]], name="labels")
    h = x
    for i, (n_in, n_out) in enumerate(zip(LAYERS, LAYERS[1:])):
        w = tf.Variable(tf.truncated_normal([n_in, n_out], stddev=(2.0 / n_in) ** 0.5, seed=i + 1), name=f"w{i}")
        b = tf.Variable(tf.zeros([n_out]), name=f"b{i}")
        h = tf.matmul(h, w) + b
        if i < len(LAYERS) - 2:
            h = tf.nn.relu(h)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=h), name="loss")
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    return x, labels, h, loss, train_op


def _batch(n: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, LAYERS[0])).astype(np.float32)
    labels = np.eye(LAYERS[-1], dtype=np.float32)[rng.integers(0, LAYERS[-1], n)]
    return x, labels


# ---- workers (each runs in its own process and prints one JSON line) ----

def _session(tf, lib: str, threads: str):
    if threads == "default" or lib == "nanotf":  # nanotf's BLAS threads are set by the environment (_env)
        return tf.Session()
    n = int(threads)
    return tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=n, inter_op_parallelism_threads=n))


def worker_train(lib: str, threads: str, warmup: str, steps: str) -> dict:
    tf = _lib(lib)
    x, labels, _, loss, train_op = build_mlp(tf)
    xb, lb = _batch(BATCH)
    feed = {x: xb, labels: lb}
    clock = time.perf_counter
    times = []
    with _session(tf, lib, threads) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(int(warmup)):
            sess.run(train_op, feed)
        for _ in range(int(steps)):
            t = clock()
            sess.run(train_op, feed)
            times.append(clock() - t)
        final = float(sess.run(loss, feed))
    return {"seconds": statistics.median(times), "mean": statistics.fmean(times), "loss": final}


def worker_infer(lib: str, threads: str, warmup: str, calls: str) -> dict:
    tf = _lib(lib)
    x, _, logits, _, _ = build_mlp(tf)
    feed = {x: _batch(1)[0]}
    clock = time.perf_counter
    times = []
    with _session(tf, lib, threads) as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(int(warmup)):
            sess.run(logits, feed)
        for _ in range(int(calls)):
            t = clock()
            sess.run(logits, feed)
            times.append(clock() - t)
        out = sess.run(logits, feed)
    return {"seconds": statistics.median(times), "mean": statistics.fmean(times), "logit0": float(out[0, 0])}


# ---- driver ----

def _env(lib: str, threads: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if lib == "nanotf":
        env["PYTHONPATH"] = str(ROOT / "src")
        if threads != "default":
            env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = threads
    return env


def _worker(args, lib: str, kind: str, threads: str, *argv: str) -> dict:
    py = sys.executable if lib == "nanotf" else args.tf_python
    cmd = [py, __file__, "--worker", lib, kind, threads, *argv]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=_env(lib, threads)).stdout
    return json.loads(out.strip().splitlines()[-1])


# (result key, worker kind, threads, warm-up count, timed count attribute)
MEASUREMENTS = (("train", "train", "default", 30, "steps"), ("train1", "train", "1", 30, "steps"),
                ("infer", "infer", "default", 200, "calls"))  # fmt: skip


def run_all(args) -> dict[str, list[dict]]:
    libs = ["nanotf", "tf"] if args.tf_python else ["nanotf"]
    res: dict[str, list[dict]] = {"load": [{"start": os.getloadavg()[0]}]}
    for _ in range(args.rounds):
        for key, kind, threads, warmup, count in MEASUREMENTS:
            for lib in libs:
                run = _worker(args, lib, kind, threads, str(warmup), str(getattr(args, count)))
                res.setdefault(f"{key}:{lib}", []).append(run)
    if args.tf_python:
        # Same graph, same data, same initial values: both must have trained to the same loss.
        ours, theirs = res["train:nanotf"][0]["loss"], res["train:tf"][0]["loss"]
        assert abs(ours - theirs) <= 1e-3 * abs(theirs), (ours, theirs)
        ours, theirs = res["infer:nanotf"][0]["logit0"], res["infer:tf"][0]["logit0"]
        assert abs(ours - theirs) <= 1e-4 * max(1.0, abs(theirs)), (ours, theirs)
    res["load"][0]["end"] = os.getloadavg()[0]
    return res


def _med(runs, key="seconds") -> float:
    return statistics.median(r[key] for r in runs)


def render(res: dict, args) -> str:
    have_tf = bool(args.tf_python)
    rows = [  # (label, result key, unit scale, unit, target ratio)
        (f"Adam training step, batch {BATCH} (`sess.run(train_op)`), default threads", "train", 1e3, "ms", 1.5),
        (f"Adam training step, batch {BATCH}, one thread each", "train1", 1e3, "ms", 1.5),
        ("inference, batch 1 (`sess.run(logits)`), default threads", "infer", 1e6, "us", 1.0),
    ]
    lines = [
        f"MLP {'-'.join(map(str, LAYERS))} with ReLU, softmax cross-entropy and `tf.train.AdamOptimizer`, ref "
        f"variables, float32, built by the same code in both libraries. {args.rounds} rounds of fresh processes, "
        f"alternating nanotf / TF; training: median of {args.steps} timed steps after 30 warm-up steps per process; "
        f"inference: median of {args.calls} timed calls after 200 warm-up calls. Both trained to the same loss "
        f"(checked). Command: `python bench/training.py --tf-python PATH --rounds {args.rounds} --steps "
        f"{args.steps} --calls {args.calls} --write-md`",
        "",
        "| measurement | nanotf | TF 2.21 (compat.v1) | nanotf / TF (median of per-round ratios) | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for label, key, scale, unit, target in rows:
        nt = res[f"{key}:nanotf"]
        cells = [f"{_med(nt) * scale:.1f} {unit}", "", "", f"<= {target:.2f}x", ""]
        if have_tf:
            tfr = res[f"{key}:tf"]
            ratio = statistics.median(a["seconds"] / b["seconds"] for a, b in zip(nt, tfr))
            cells[1:3] = [f"{_med(tfr) * scale:.1f} {unit}", f"{ratio:.3f}x"]
            cells[4] = "yes" if ratio <= target else "**no**"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    load = res["load"][0]
    lines += ["", "Ratios below 1.00x mean nanotf is faster. nanotf's matrix products run in NumPy's BLAS "
              "(OpenBLAS); TensorFlow's in its own CPU kernels (oneDNN on, TF 2.21's default). 1-minute load "
              f"average of the machine at the start / end of the run: {load['start']:.2f} / {load['end']:.2f} "
              f"(on {os.cpu_count()} CPUs)."]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 3 and sys.argv[1] == "--worker":
        lib, kind, *rest = sys.argv[2:]
        workers = {"train": worker_train, "infer": worker_infer}
        print(json.dumps(workers[kind](lib, *rest)))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tf-python", default=os.environ.get("NANOTF_TF_PYTHON"),
                   help="interpreter with tensorflow installed (default $NANOTF_TF_PYTHON; omit to skip TF)")
    p.add_argument("--rounds", type=int, default=5, help="fresh-process rounds per measurement")
    p.add_argument("--steps", type=int, default=300, help="timed training steps per process")
    p.add_argument("--calls", type=int, default=3000, help="timed inference calls per process")
    p.add_argument("--write-md", action="store_true", help="update BENCHMARKS.md")
    args = p.parse_args()
    res = run_all(args)
    table = render(res, args)
    print(table)
    if args.write_md:
        write_section("training", "Training", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

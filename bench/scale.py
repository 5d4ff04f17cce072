"""Checkpoint I/O at scale: Saver save/restore from 100 MiB to 4 GiB vs the raw disk and TensorFlow.

For each size, rounds of fresh processes alternate: nanotf ``Saver.save``, TF
``Saver.save``, a raw write of the same bytes (without fsync, with fsync,
and with fsync and writeback started every 8 MiB as it goes; the faster of
the last two is the write limit for a save that fsyncs),
nanotf ``Saver.restore``, nanotf ``load_checkpoint`` (copy), TF
``Saver.restore``, raw reads into fresh page-aligned memory (one ``readinto``,
and two threads reading a half each; the faster is the read limit), and (at 1 GiB) the
time a training loop is blocked by ``Saver.save(blocking=False)`` against a
blocking save in the same process. The raw write writes the arrays of a
nanotf session prepared exactly as for nanotf's save (see
``worker_raw_write``). The model is 100 float32 variables (ref
variables, ``disable_v2_behavior()``), built by the same code for both
libraries; the timed save writes no meta graph and no state file (the async
comparison writes both, as a training loop would). Reads are from the page
cache (the driver reads the files once just before). Each timed read
starts right after its process faulted in and freed 1.25x the data, so that
none of them meets memory this machine's host has taken back
(``_recycle_memory``; ``--memory-as-found`` turns it off). Peak memory is the growth of the
process's resident set during the timed operation (its high-water mark is
reset just before, through ``/proc/self/clear_refs``), over the data size.

    python bench/scale.py --tf-python PATH [--sizes 100,1024] [--rounds 3] [--write-md]

``--sizes 100,1024,4096:1`` adds the 4 GiB point with one round (``SIZE:ROUNDS``).
The same file is the worker under both interpreters (``--worker LIB KIND ...``).
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
N_VARS = 100
PAGE = 4096
ASYNC_MB = 1024
POPULATE = getattr(mmap, "MAP_POPULATE", 0)
RAW_READ = "the faster raw read"  # the read limit: one readinto, or two threads each reading half
RAW_WRITE = "the faster raw write + fsync"  # the limit for a save that fsyncs: plain, or writeback as it goes


# ---- workers (fresh processes; each prints one JSON line) ----

def arrays_for(total_mb: int) -> list[np.ndarray]:
    per = total_mb * 2**20 // 4 // N_VARS
    block = np.random.default_rng(0).standard_normal(1 << 20, dtype=np.float32)
    return [np.resize(block, per) + np.float32(i) for i in range(N_VARS)]


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def _reset_peak() -> int:
    """Reset the resident-set high-water mark; returns the current resident set."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _rss()


def _peak_extra(rss0: int) -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0


def _recycle_memory(data_bytes: int) -> None:
    """Fault in and free 1.25x the data, so that the timed read runs on memory the machine already holds.

    This machine hands memory left free for about 2 s back to its host, and
    taking it back is slow: populating 2 GiB took 0.54 s right after freeing
    as much, and 2.3-3.2 s after a pause. Which reader met such memory
    depended on what ran before it and how long it took to start (TF's
    import takes 3 s), not on its own work. ``--memory-as-found`` skips this.

    Writes do not recycle: the disk, not memory, bounds them, and recycling
    5 GiB beside a 4 GiB model pushed the machine into reclaim (nanotf's save
    and a raw write + fsync took 5.3-7.4 s so, against 2.4-4.6 s without).
    """
    if os.environ.get("NANOTF_BENCH_RECYCLE", "1") == "1":
        mmap.mmap(-1, data_bytes * 5 // 4, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | POPULATE).close()


def _timed(fn, read_bytes: int = 0) -> dict:
    """Time ``fn``; a read of ``read_bytes`` first recycles memory for them (``_recycle_memory``)."""
    os.sync()  # no dirty pages of earlier runs for this one's fsync or writeback to wait for
    if read_bytes:
        _recycle_memory(read_bytes)
    rss0 = _reset_peak()
    t = time.perf_counter()
    fn()
    return {"seconds": time.perf_counter() - t, "peak_extra": _peak_extra(rss0)}


def _library(lib: str):
    if lib == "tf":
        import tensorflow.compat.v1 as tf
    else:
        import nanotf as tf
    tf.disable_v2_behavior()
    return tf


def _model(tf, total_mb: int):
    per = total_mb * 2**20 // 4 // N_VARS
    return [tf.Variable(tf.zeros([per]), name=f"layer_{i:03d}/kernel") for i in range(N_VARS)]


def _loaded_session(tf, total_mb: int):
    variables = _model(tf, total_mb)
    saver = tf.train.Saver()
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for v, a in zip(variables, arrays_for(total_mb)):
        v.load(a, sess)
    return saver, sess


def worker_save(lib: str, prefix: str, total_mb: int) -> dict:
    tf = _library(lib)
    saver, sess = _loaded_session(tf, total_mb)
    return _timed(lambda: saver.save(sess, prefix, write_meta_graph=False, write_state=False))


def worker_restore(lib: str, prefix: str, total_mb: int) -> dict:
    tf = _library(lib)
    _model(tf, total_mb)
    saver = tf.train.Saver()
    sess = tf.Session()
    return _timed(lambda: saver.restore(sess, prefix), total_mb << 20)


def worker_load(lib: str, prefix: str) -> dict:
    from nanotf.train import load_checkpoint

    arrays = []

    def load():
        reader = load_checkpoint(prefix)
        arrays.extend(reader.get_tensor(name, copy=True) for name in reader.get_variable_to_shape_map())

    size = os.path.getsize(f"{prefix}.data-00000-of-00001")
    result = _timed(load, size)
    # Copies are written by the read itself, so no pass over them is timed (the raw reads make none either).
    assert sum(a.nbytes for a in arrays) == size and all(a.flags.writeable for a in arrays)
    return result


def worker_async(lib: str, directory: str, total_mb: int) -> dict:
    """Blocked time of a blocking save and of ``blocking=False`` (plus its total), in one process."""
    tf = _library(lib)
    saver, sess = _loaded_session(tf, total_mb)
    os.sync()
    t = time.perf_counter()
    saver.save(sess, f"{directory}/blocking", global_step=1)
    blocking = time.perf_counter() - t
    os.sync()
    t = time.perf_counter()
    saver.save(sess, f"{directory}/async", global_step=1, blocking=False)
    blocked = time.perf_counter() - t
    saver.wait()
    return {"blocking": blocking, "blocked": blocked, "async_total": time.perf_counter() - t}


def worker_raw_write(lib: str, path: str, total_mb: int, fsync: str) -> dict:
    """Plain ``write()`` calls of the arrays nanotf's save writes, from a session prepared the same way.

    The same preparation matters here: how fast the page cache grows depends
    on how much memory the process freed just before (this machine returns
    free memory to its host, and taking it back is slow).
    """
    tf = _library("nanotf")
    _, sess = _loaded_session(tf, total_mb)
    arrays = [sess.variable_store.read_ref(f"layer_{i:03d}/kernel") for i in range(N_VARS)]
    from nanotf.formats.writeback import Writeback

    def write():
        with open(path, "wb") as f:
            # "streamed": writeback started as the bytes go, by the same hint nanotf's save gives.
            writeback = Writeback(f) if fsync == "streamed" else None
            for a in arrays:
                f.write(memoryview(a).cast("B"))
                if writeback:
                    writeback.wrote(a.nbytes)
            if fsync != "no":
                f.flush()
                os.fsync(f.fileno())

    return _timed(write)


def worker_raw_read(lib: str, path: str, threads: int) -> dict:
    """The file read into one fresh page-aligned buffer: one ``readinto``, or halves read on ``threads`` threads.

    Each way gets the faster kind of memory measured for it: populated when
    mapped for one thread, faulted in by the readers for two (see
    ``nanotf/formats/range_read.py``).
    """
    size = os.path.getsize(path)
    populate = POPULATE if threads == 1 else 0

    def read():
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
        view = memoryview(buf)
        fd = os.open(path, os.O_RDONLY)
        part = -(-size // threads // PAGE) * PAGE

        def read_part(start: int) -> None:
            end = min(start + part, size)
            while start < end:
                start += os.preadv(fd, [view[start:end]], start)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(read_part, range(0, size, part)))
        os.close(fd)

    return _timed(read, size)


WORKERS = {"save": worker_save, "restore": worker_restore, "load": worker_load, "async": worker_async,
           "raw-write": worker_raw_write, "raw-read": worker_raw_read}


# ---- driver ----

def _run(python: str, lib: str, kind: str, *args) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT / "src"))
    cmd = [python, __file__, "--worker", lib, kind, *map(str, args)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _warm(path: Path) -> None:
    """Read every file of ``path`` (a prefix or a file) once, so that the timed read finds them in the page cache."""
    buf = bytearray(8 << 20)
    for f in path.parent.glob(path.name + "*"):
        with open(f, "rb", buffering=0) as stream:
            while stream.readinto(buf):
                pass


def _clear(work: Path) -> None:
    for p in work.iterdir():
        p.unlink() if p.is_file() else shutil.rmtree(p)


def run_size(args, mb: int, rounds: int, work: Path) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {}
    me, tfpy = sys.executable, args.tf_python

    def record(name: str, value: dict) -> None:
        results.setdefault(name, []).append(value)

    for r in range(rounds):
        _clear(work)
        nt, tfp, raw = work / "nanotf", work / "tf", work / "raw.bin"
        writes = [("nanotf Saver.save", me, "nanotf", "save", nt, mb),
                  ("TF Saver.save", tfpy, "tf", "save", tfp, mb),
                  # Each write makes a new file, as a save does: truncating a file written before would hand
                  # the write that file's page cache pages, which this machine provides faster than fresh ones.
                  ("raw write + fsync", me, "raw", "raw-write", work / "raw-fsync.bin", mb, "fsync"),
                  ("raw write + fsync, writeback as it goes", me, "raw", "raw-write", work / "raw-streamed.bin", mb,
                   "streamed"),
                  ("raw write", me, "raw", "raw-write", raw, mb, "no")]
        reads = [("nanotf Saver.restore", me, "nanotf", "restore", nt, mb),
                 ("nanotf load_checkpoint (copy)", me, "nanotf", "load", nt),
                 ("TF Saver.restore", tfpy, "tf", "restore", tfp, mb),
                 ("raw read", me, "raw", "raw-read", raw, 1),
                 ("raw read, 2 threads", me, "raw", "raw-read", raw, 2)]
        # Each round starts the writes and the reads at another one, so that no operation is always first.
        for phase in (writes, reads):
            for name, python, *job in phase[r % len(phase):] + phase[: r % len(phase)]:
                if python:
                    if phase is reads:
                        _warm(job[2])  # the files may have left the cache while the others were written
                    record(name, _run(python, *job))
        if mb == ASYNC_MB:
            _clear(work)
            record("async", _run(me, "nanotf", "async", work, mb))
    return results


def _median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def _rounds(results, name: str) -> list[dict]:
    """The runs of ``name``; for ``RAW_READ`` and ``RAW_WRITE``, the faster of the two raw ways of each round."""
    pair = {RAW_READ: ("raw read", "raw read, 2 threads"),
            RAW_WRITE: ("raw write + fsync", "raw write + fsync, writeback as it goes")}.get(name)
    if pair is None:
        return results.get(name, [])
    return [min(x, y, key=lambda run: run["seconds"]) for x, y in zip(*(results.get(n, []) for n in pair))]


def _ratio(results, a: str, b: str) -> float | None:
    """Median over rounds of time(a) / time(b)."""
    firsts, seconds = _rounds(results, a), _rounds(results, b)
    if not firsts or not seconds:
        return None
    return statistics.median(x["seconds"] / y["seconds"] for x, y in zip(firsts, seconds))


def _best_ratio(results, a: str, b: str) -> float | None:
    """The best time of ``a`` over the best time of ``b``."""
    firsts, seconds = _rounds(results, a), _rounds(results, b)
    if not firsts or not seconds:
        return None
    return min(x["seconds"] for x in firsts) / min(x["seconds"] for x in seconds)


def _spread(results, limit: str) -> float:
    """Slowest over fastest round of a raw limit (``RAW_READ`` or ``RAW_WRITE``)."""
    rounds = [run["seconds"] for run in _rounds(results, limit)]
    return max(rounds) / min(rounds) if rounds else 1.0


def render(all_results: dict[int, dict], rounds: dict[int, int], args) -> str:
    fmt = lambda r: "" if r is None else f"{r:.2f}x"  # noqa: E731
    lines = [
        "Saver save/restore of 100 float32 variables; fresh processes, alternating; medians. Reads from the "
        "page cache (each read's files are read once just before). "
        + ("Memory as found (no recycling). " if args.memory_as_found else
           "Each timed read first faults in and frees 1.25x the data (memory recycled, see below). ")
        + "Command: `python bench/scale.py --tf-python PATH --sizes "
        + ",".join(f"{mb}" if rounds[mb] == args.rounds else f"{mb}:{rounds[mb]}" for mb in all_results)
        + f" --rounds {args.rounds}{' --memory-as-found' if args.memory_as_found else ''} --write-md`",
        "",
        "| data | rounds | operation | median s | GB/s | peak extra memory / data | throughput / raw limit | "
        "best / best raw | time vs TF |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for mb, results in all_results.items():
        gb = mb * 2**20 / 1e9
        for name, runs in results.items():
            if name == "async":
                continue
            sec = _median(runs)
            mem = _median(runs, "peak_extra") / (mb * 2**20)
            save = "save" in name or "write" in name
            raw = RAW_WRITE if save else RAW_READ
            vs_raw = _ratio(results, raw, name) if not name.startswith("raw") else None
            best = _best_ratio(results, raw, name) if name.startswith("nanotf") else None
            tf_name = "TF Saver.save" if save else "TF Saver.restore"
            vs_tf = _ratio(results, name, tf_name) if name.startswith("nanotf") else None
            if name.startswith("nanotf") and vs_raw is not None:
                verdicts.append((mb, name, vs_raw, best))
            if name == "TF Saver.save":
                vs_raw = _ratio(results, "raw write", name)
            lines.append(f"| {mb} MiB | {len(runs)} | {name} | {sec:.3f} | {gb / sec:.2f} | {mem:.2f} | "
                         f"{fmt(vs_raw)} | {fmt(best)} | {fmt(vs_tf)} |")
    lines += ["", "Throughput / raw limit: the median per-round ratio of the raw operation's time to this one's "
              "(1.00x = as fast as the raw disk). Reads are compared with the faster of the two raw reads in the same round (both "
              "into fresh page-aligned memory, as the loaders read). nanotf's save is compared with the faster of the two raw "
              "writes + fsync in the same round, as it fsyncs before renaming its files into place; TF's Saver does not fsync and is compared with a plain raw "
              "write. Time vs TF below 1.00x: nanotf is faster."]
    reads, writes = (max(_spread(results, limit) for results in all_results.values()) for limit in (RAW_READ, RAW_WRITE))
    lines += ["", "Best / best raw: the operation's fastest round against the fastest raw operation of the run. "
              f"In this run the raw read limit of one size varied by up to {reads:.1f}x between rounds, and the raw "
              f"write limit by up to {writes:.1f}x. This machine "
              "hands memory left free for about 2 s back to its host, and taking it back can be several times slower "
              "than reusing memory it holds: populating 2 GiB took 0.54 s right after freeing as much, and 2.3-3.2 s "
              "after a pause. Unless the run says memory as found, every timed read therefore first faults in and "
              "frees 1.25x the data, so that all of them, TF's and the raw ones included, start on memory the machine "
              "holds, as on a machine without such a host. Writes do not recycle (see `_recycle_memory`); each makes a new "
              "file, and their rounds vary with how fast the machine provides memory for the page cache and with the "
              "disk's own speed."]
    for label, k in (("median of rounds", 0), ("best of rounds", 1)):
        short = [f"{mb} MiB {name}: {ratios[k]:.2f}" for mb, name, *ratios in verdicts if ratios[k] < 0.8]
        lines += ["", f"Target save and load >= 0.80 of the raw limit, {label}: "
                  + ("met everywhere." if not short else "not met for " + "; ".join(short) + ".")]
    if ASYNC_MB in all_results and "async" in all_results[ASYNC_MB]:
        runs = all_results[ASYNC_MB]["async"]
        ratio = statistics.median(r["blocked"] / r["blocking"] for r in runs)
        lines += ["", f"Training loop blocked by a save of the {ASYNC_MB} MiB model (with meta graph and state file; "
                  f"{len(runs)} rounds): blocking `Saver.save` {_median(runs, 'blocking'):.3f} s; "
                  f"`Saver.save(blocking=False)` {_median(runs, 'blocked') * 1e3:.1f} ms "
                  f"(its background write took {_median(runs, 'async_total'):.3f} s): "
                  f"{ratio:.3f}x of the blocking time (target < 0.10x: {'met' if ratio < 0.1 else 'not met'})."]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        lib, kind, *rest = sys.argv[2:]
        print(json.dumps(WORKERS[kind](lib, *[int(a) if a.isdigit() else a for a in rest])))
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tf-python", help="interpreter with tensorflow-cpu installed (omit to skip TF)")
    p.add_argument("--sizes", default="100,1024", help="MiB per point, comma-separated; SIZE:ROUNDS overrides --rounds")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--write-md", action="store_true", help="update BENCHMARKS.md")
    p.add_argument("--memory-as-found", action="store_true",
                   help="time each operation on whatever memory it finds, without recycling some first")
    args = p.parse_args()
    if args.memory_as_found:
        os.environ["NANOTF_BENCH_RECYCLE"] = "0"  # read by the workers' _recycle_memory
    rounds = {}
    for item in args.sizes.split(","):
        mb, _, n = item.partition(":")
        rounds[int(mb)] = int(n) if n else args.rounds
    all_results = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("NANOTF_BENCH_DIR")) as tmp:
        for mb, n in rounds.items():
            work = Path(tmp) / f"{mb}"
            work.mkdir()
            all_results[mb] = run_size(args, mb, n, work)
            print(json.dumps({mb: all_results[mb]}), file=sys.stderr)
    table = render(all_results, rounds, args)
    print(table)
    if args.write_md:
        from benchmarks_md import write_section

        write_section("scale", "Checkpoints at scale", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running independent file operations on several threads.

Checkpoint I/O spends its time in system calls (``pread``/``write``), in
ranged GETs and uploads of an object store, in CRC-32C and in NumPy copies,
all of which release the GIL, so threads overlap them. Results keep the
order of the inputs; the first failure (in input order) is raised once the
operations already started have ended, and those not started are dropped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["io_threads", "map_ordered", "results_in_order", "submit_shared"]

T = TypeVar("T")
R = TypeVar("R")


def io_threads(remote: bool, writing: bool = False) -> int:
    """How many threads to use for independent reads or writes of whole files or tensors.

    An object store gets 8: its requests mostly wait on the network. Local
    reads get one per core. Local writes get one: on the project machine two
    shard files written and fsynced concurrently took 2.6x as long as one
    after the other (the disk, not the CPU, is the limit, and concurrent
    writers interleave on it).
    """
    if remote:
        return 8
    return 1 if writing else max(2, os.cpu_count() or 2)


def map_ordered(fn: Callable[[T], R], items: Sequence[T], threads: int = 0) -> list[R]:
    """``[fn(x) for x in items]``, computed on up to ``threads`` threads (default ``io_threads(False)``).

    Raises:
        Whatever ``fn`` raised first, in the order of ``items``.
    """
    threads = min(threads or io_threads(False), len(items))
    if threads < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nanotf-io") as pool:
        return list(results_in_order([pool.submit(fn, x) for x in items]))


_shared: ThreadPoolExecutor | None = None
_shared_lock = threading.Lock()


def submit_shared(fn: Callable[[T], R], items: Sequence[T]) -> list[Future]:
    """Start ``fn`` on each item on one long-lived pool of ``io_threads(False)`` threads, for many short jobs.

    Starting threads for each call would cost more than the chunk reads of
    one tensor take. ``fn`` must not itself wait on this pool.
    ``results_in_order`` waits for the results.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ThreadPoolExecutor(max_workers=io_threads(False), thread_name_prefix="nanotf-io-shared")
        pool = _shared
    return [pool.submit(fn, x) for x in items]


def results_in_order(futures: list[Future]) -> Iterator:
    """Each future's result in order, as soon as it is ready, so the caller can use one while later ones run.

    On the first failure, those not started are dropped and the running ones
    waited for before it is raised: they may be using a file the caller
    closes next.
    """
    try:
        for f in futures:
            yield f.result()
    except BaseException:
        for f in futures:
            f.cancel()
        wait(futures)
        raise

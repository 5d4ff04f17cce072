"""Reading ahead for a loop that copies a checkpoint's tensors one by one, in file order.

Converters and inspection scripts often do ``for name in names:
reader.get_tensor(name, copy=True)``. Alone, each such read uses the cores
poorly: a small tensor is read on the calling thread only, and a large one is
split across the I/O threads, which the calling thread then waits for and
wakes again for the next tensor. Once two copy reads in a row ask for
neighbours in the data file, the tensors after them are read on the I/O
threads, each whole on one thread, while the caller takes the ones already
read. 1 GiB in 100 tensors took 0.41 s so against 0.45 s, and 100 MiB in
tensors of 1 MiB 54 ms against 61 ms (in-process medians of 10 and 15,
alternated; a raw read on two threads took 0.33 s and 33 ms); 4 GiB in 100
tensors 1.43 s against 1.56 s (raw 1.30 s; medians of 5). Tensors larger
than ``LARGEST`` are read split across the threads, one at a time, as
without read-ahead: whole on one thread, the last of them would leave the
other cores idle for long.

At most ``WINDOW`` bytes are read ahead and not yet asked for (or a tensor
per I/O thread, if more), none beyond a tensor larger than ``LARGEST``, and
a read out of order that finds nothing read ahead drops what was. What is
read ahead goes into memory faulted in by the thread that reads it: memory
populated when mapped would make the I/O threads wait on each other (the
kernel maps one region at a time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, wait

from . import parallel

WINDOW = 16 << 20  # and at least a tensor per I/O thread
JOB = 8 << 20  # small tensors are read ahead several to a job: a job per tensor of 1 MiB cost more than the read
LARGEST = 64 << 20  # a larger tensor is read split (range_read.read_ranges), not ahead

__all__ = ["JOB", "LARGEST", "WINDOW", "ReadAhead"]


class ReadAhead:
    """Reads the tensors after a run of in-order requests before they are asked for.

    Args:
        order: returns the keys and entries of every tensor that may be read
            ahead, in data file order (called once, when needed).
        read: ``read(key, entry)`` reads an entry's bytes into memory of their
            own: ``(buffer, crc)``, as ``range_read.read_alone``. It runs on
            the I/O threads; ``stop`` waits for it.
    """

    def __init__(self, order: Callable[[], list[tuple[bytes, object]]], read: Callable[[bytes, object], tuple]):
        self._order_of = order
        self._read = read
        self._order: list[tuple[bytes, object]] | None = None
        self._position: dict[bytes, int] = {}
        self._lock = threading.Lock()
        self._last: bytes | None = None  # the key asked for before
        self._ahead: dict[bytes, tuple[Future, int]] = {}  # key -> its job, and its place in the job's results
        self._jobs: dict[Future, int] = {}  # job -> how many of its tensors are not yet taken
        self._ahead_bytes = 0
        self._next = 0  # the position in _order of the next tensor to read ahead
        self._threads = parallel.io_threads(remote=False)

    def take(self, key: bytes, entry) -> tuple | None:
        """The bytes of ``entry`` as ``read`` returns them, or None: read them yourself.

        Notes the request. Once requests follow file order, reads the
        following tensors ahead, and returns this one's bytes, read ahead or
        read here; otherwise None.

        Raises:
            Whatever ``read`` raised for this entry.
        """
        with self._lock:
            job = self._ahead.pop(key, None)
            if job is not None:
                self._ahead_bytes -= entry.size
                self._jobs[job[0]] -= 1
                if not self._jobs[job[0]]:
                    del self._jobs[job[0]]
            in_order = self._follows(key)
            if in_order:
                self._refill()
            elif job is None:
                self._drop()
            self._last = key
        if job is not None:
            read, value = job[0].result()[job[1]]
            if not read:
                raise value
            return value
        if not in_order or entry.size > LARGEST:
            return None
        # Whole, on this thread, while the I/O threads read the next ones: a split read would queue behind them.
        return self._read(key, entry)

    def _follows(self, key: bytes) -> bool:
        """Whether ``key`` comes right after the key asked for before, in file order."""
        if self._last is None:
            return False
        if self._order is None:
            self._order = self._order_of()
            self._position = {k: i for i, (k, _) in enumerate(self._order)}
        here, before = self._position.get(key), self._position.get(self._last)
        if here is None or before is None or here != before + 1:
            return False
        self._next = max(self._next, here + 1)
        return True

    def _refill(self) -> None:
        """Read ahead up to ``WINDOW`` bytes, in jobs of about ``JOB`` bytes (one or more whole tensors).

        At least a job per I/O thread, so that large tensors too are read two or more at a time.
        """
        while self._ahead_bytes < WINDOW or len(self._jobs) < self._threads:
            job, size = [], 0
            while self._next < len(self._order) and size < JOB and self._order[self._next][1].size <= LARGEST:
                job.append(self._order[self._next])
                size += job[-1][1].size
                self._next += 1
            if not job:
                return
            future = parallel.submit_shared(self._read_job, [job])[0]
            for place, (key, _) in enumerate(job):
                self._ahead[key] = (future, place)
            self._jobs[future] = len(job)
            self._ahead_bytes += size

    def _read_job(self, job: list[tuple[bytes, object]]) -> list[tuple[bool, object]]:
        """``(True, bytes read)`` or ``(False, the exception)`` per tensor: a failure is that tensor's alone."""
        out = []
        for key, entry in job:
            try:
                out.append((True, self._read(key, entry)))
            except Exception as exc:  # raised by take() for this tensor only
                out.append((False, exc))
        return out

    def _drop(self) -> None:
        for future in self._jobs:
            future.cancel()
        self._ahead.clear()
        self._jobs.clear()
        self._ahead_bytes = 0
        self._next = 0

    def stop(self) -> None:
        """Drop what was read ahead, once the reads under way have ended (they use files the caller closes next)."""
        with self._lock:
            futures = list(self._jobs)
            self._drop()
            self._last = None
        wait(futures)

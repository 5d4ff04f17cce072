"""Reading a byte range of a local file into fresh memory, checksummed as it arrives.

Restoring a checkpoint is mostly this: the bytes are usually in the page
cache already, and the time goes into the page faults of fresh memory (the
larger cost) and the copy into it. Both are CPU work in the kernel, so a
large range is read in chunks on the shared I/O threads
(``parallel.submit_shared``). Each chunk takes the CRC-32C of every piece it
reads while the piece is still in the CPU cache, and the chunk checksums are
joined in order (``crc32c.combine``): verifying costs no second pass over
memory.

``read_ranges`` reads many tensors at once (a restore): the chunks of all of
them share the threads, with no wait between one tensor and the next. Each
buffer starts where its file offset falls within a page, so that the copy
from every page of the page cache fills one page of memory
(``fresh_buffer``). Ranges under ``ALIGNED_MIN``, and reads of less than
``SPLIT_MIN`` bytes in all, stay on the calling thread.
"""

from __future__ import annotations

import mmap
import os
from typing import NamedTuple

from ..errors import DataLossError
from . import crc32c, parallel

# Below this size a plain bytearray, read on the calling thread: placing it in a page saves less
# than the bookkeeping costs.
ALIGNED_MIN = 1 << 20
# From this size a range is split across the I/O threads. 1 GiB read in ranges of 1, 2, 4 and 8 MiB
# took 0.44, 0.45, 0.46 and 0.49 s on one thread into populated memory, and 0.50, 0.40, 0.33 and
# 0.31 s split across 2 threads without populating (project machine, medians of 5 fresh processes).
SPLIT_MIN = 2 << 20
CHUNK = 8 << 20  # about this many bytes per thread job
PAGE = mmap.PAGESIZE  # the page cache's unit: where a buffer starts within one matters
# Bytes read, then checksummed while still in the CPU cache. Into warm memory, checksumming 1 GiB
# added 0.05 s this way against 0.09 s as a second pass.
PIECE = 256 << 10
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


def fresh_buffer(size: int, offset: int = 0, itemsize: int = 1, populate: bool = True):
    """Writable memory for ``size`` bytes about to be read from ``offset`` of a file.

    Under ``ALIGNED_MIN`` a bytearray. Larger, an anonymous mapping, sliced
    to start where ``offset`` falls within a page, so that every page of the
    page cache is copied into one page of memory rather than across two:
    1 GiB in 100 tensors read on 2 threads took 0.26 s placed so, against
    0.32 s with every tensor page-aligned (in-process medians of 8, project
    machine; a tensor's file offset is rarely page-aligned). Where that would
    misalign an array of ``itemsize`` (an offset that is no multiple of it),
    the memory is page-aligned instead.

    With ``populate`` the kernel provides every page when mapping
    (``MAP_POPULATE``): one call instead of a fault per page, the faster way
    for a read on one thread. A read split across threads leaves the pages
    to fault in as each thread writes them, so that every core takes part.
    """
    if size < ALIGNED_MIN:
        return bytearray(size)
    shift = offset % PAGE if offset % itemsize == 0 else 0
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | (_POPULATE if populate else 0)
    return memoryview(mmap.mmap(-1, shift + size, flags=flags))[shift : shift + size]


def _pread_into(fd: int, target, offset: int, path: str) -> None:
    """Fill ``target`` from ``fd`` at ``offset``.

    Raises:
        DataLossError: if the file ends first.
    """
    view = memoryview(target).cast("B")
    done = 0
    while done < len(view):
        n = os.preadv(fd, [view[done:]], offset + done)
        if n == 0:
            raise DataLossError(f"{path}: file ended at offset {offset + done} while reading a tensor (truncated?)")
        done += n


def _read_chunk(fd: int, buffer, start: int, length: int, offset: int, path: str, checksum: bool) -> int:
    """Read ``length`` bytes at file ``offset + start`` into ``buffer[start:]``; their CRC (0 if not asked)."""
    view = memoryview(buffer)
    crc = 0
    for piece_start in range(start, start + length, PIECE):
        piece = view[piece_start : min(piece_start + PIECE, start + length)]
        _pread_into(fd, piece, offset + piece_start, path)
        if checksum:
            crc = crc32c.extend(crc, piece)
    return crc


class Range(NamedTuple):
    """``size`` bytes at ``offset`` of the open file ``fd`` (named ``path`` in errors).

    ``itemsize`` is that of the array the bytes become: its buffer starts at an
    address that is a multiple of it.
    """

    fd: int
    offset: int
    size: int
    path: str
    itemsize: int = 1


def read_ranges(ranges: list[Range], checksum: bool) -> list[tuple[object, int]]:
    """Read byte ranges of open files, each into fresh memory of its own.

    Ranges of ``ALIGNED_MIN`` bytes or more get fresh mappings
    (``fresh_buffer``). Once they add up to ``SPLIT_MIN``, they are cut into
    chunks, and all the chunks of all of them go to the I/O threads at once, so no
    thread waits at the end of one range for the other to finish. Smaller
    ranges are read on the calling thread.

    Args:
        ranges: what to read (file descriptors are read with ``pread``, so
            several ranges may share one).
        checksum: compute the CRC-32C of each range.

    Returns:
        ``(buffer, crc)`` per range: a writable buffer that owns the bytes,
        and their unmasked CRC-32C (0 when ``checksum`` is False).

    Raises:
        DataLossError: if a file ends before its range does.
    """
    threads = parallel.io_threads(remote=False)
    # Ranges under ALIGNED_MIN are mostly Python overhead: threads would only contend for the GIL
    # (5000 ranges of 2 KiB: 58 ms handed to the threads, 18 ms on the calling thread).
    large = [i for i, r in enumerate(ranges) if r.size >= ALIGNED_MIN]
    split = threads >= 2 and sum(ranges[i].size for i in large) >= SPLIT_MIN
    buffers = [fresh_buffer(r.size, r.offset, r.itemsize, populate=not split) for r in ranges]
    out: list = [None] * len(ranges)
    for i, r in enumerate(ranges):
        if not split or r.size < ALIGNED_MIN:
            out[i] = (buffers[i], _read_chunk(r.fd, buffers[i], 0, r.size, r.offset, r.path, checksum))
    if not split:
        return out

    def read(job: list[tuple[int, int, int]]) -> list[int]:
        return [_read_chunk(ranges[i].fd, buffers[i], start, length, ranges[i].offset, ranges[i].path, checksum)
                for i, start, length in job]  # fmt: skip

    jobs = [[(large[k], start, length) for k, start, length in job] for job in _jobs([ranges[i] for i in large], threads)]
    crcs = dict.fromkeys(large, 0)
    # Joined as each job ends, while later ones are still read: the joins of 1 GiB take ~15 ms.
    for job, job_crcs in zip(jobs, parallel.results_in_order(parallel.submit_shared(read, jobs))):
        for (i, _, length), crc in zip(job, job_crcs):
            crcs[i] = crc32c.combine(crcs[i], crc, length)
    for i in large:
        out[i] = (buffers[i], crcs[i])
    return out


def read_alone(r: Range, checksum: bool) -> tuple[object, int]:
    """One range read whole on the calling thread: ``(buffer, crc)`` as ``read_ranges`` returns them.

    For reads that run on several threads at once, one range each
    (``read_ahead.py``): the memory is faulted in as it is written, since
    mapping it populated would make the threads wait on each other.
    """
    buffer = fresh_buffer(r.size, r.offset, r.itemsize, populate=False)
    return buffer, _read_chunk(r.fd, buffer, 0, r.size, r.offset, r.path, checksum)


def _jobs(ranges: list[Range], threads: int) -> list[list[tuple[int, int, int]]]:
    """The reads of ``ranges`` as jobs of about equal size: lists of ``(range number, start, length)``.

    About ``CHUNK`` bytes each, as many as a multiple of ``threads``, so that
    the threads finish together. The ranges are taken as one run of bytes:
    a job may cover the end of one range and the start of the next (100 MiB
    in tensors of 1 MiB: 34 ms so, 37 ms with each tensor's halves as jobs of
    their own, 26 ms for a raw read), and a range is cut only where a page of
    its file begins.
    """
    total = sum(r.size for r in ranges)
    count = threads * -(-total // (threads * CHUNK))
    cuts = [total * k // count for k in range(count - 1, 0, -1)]  # in the run of all bytes, last first
    jobs: list[list[tuple[int, int, int]]] = [[]]
    before = 0  # bytes of the ranges before this one
    for k, r in enumerate(ranges):
        start = 0
        while cuts and cuts[-1] - before < r.size:
            at = cuts.pop() - before
            at = min(r.size, at + -(r.offset + at) % PAGE)  # on to where a page of the file begins
            if at > start:
                jobs[-1].append((k, start, at - start))
                start = at
            jobs.append([])
        if start < r.size:
            jobs[-1].append((k, start, r.size - start))
        before += r.size
    return [job for job in jobs if job]

"""Crash-safe file writes, and the temp files a killed write leaves behind.

Every file nanotf writes goes to a temp name beside its target, is fsynced,
then renamed over the target. A reader therefore sees the old file or the
new one, never a mix, whenever a process dies. Against a power cut, a file
that names others (the ``checkpoint`` state file) is written with
``publish=True``: its directory is fsynced before the rename, so the renames
of the files it names are on disk before it is (one directory fsync per
save, not one per file). Temp names are::

    <target>.nanotf-tmp-<host>.<pid>-<16 hex digits>

Host and pid tell whose temp file it is: one of this host whose process no
longer exists is the leftover of a killed write and may be removed
(``remove_stale_temps``); one whose process lives, or of another host
sharing the directory over a network filesystem, may be in use and is never
touched. The random part keeps threads and processes writing the same
target apart.

Every file committed here is also recorded in ``journal``, so that deleting
code can check a file is one this process wrote.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
from typing import Callable, Iterable

from . import journal, storage
from .fileerrors import os_errors

__all__ = ["TEMP_MARK", "temp_name", "parse_temp_name", "commit", "fsync_dir", "atomic_file",
           "write_atomic_bytes", "remove_stale_temps", "remove_quietly"]  # fmt: skip

TEMP_MARK = ".nanotf-tmp-"
_TEMP_RE = re.compile(r"^(?P<target>.+)" + re.escape(TEMP_MARK) + r"(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)-[0-9a-f]{16}$")
_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:32] or "_"
# Filesystems that cannot fsync a directory say so with these; the rename is still done.
_NO_DIR_FSYNC = (errno.EINVAL, errno.ENOTSUP, errno.EBADF)


def temp_name(path: str) -> str:
    """A fresh temp name for writing ``path``: ``<path>.nanotf-tmp-<host>.<pid>-<random>``."""
    return f"{path}{TEMP_MARK}{_HOST}.{os.getpid()}-{secrets.token_hex(8)}"


def parse_temp_name(name: str) -> tuple[str, str, int] | None:
    """``(target name, host, pid)`` if ``name`` is a nanotf temp name, else None."""
    match = _TEMP_RE.match(name)
    return (match["target"], match["host"], int(match["pid"])) if match else None


def fsync_dir(directory: str) -> None:
    """Make renames in ``directory`` durable (a no-op where the filesystem cannot)."""
    fd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


def commit(renames: Iterable[tuple[str, str]]) -> None:
    """Rename each fsynced ``(temp, target)`` in order and record the targets in the journal.

    Raises:
        OpError: a typed error naming the file if a rename fails.
    """
    for temp, target in renames:
        with os_errors(target, "moving the finished file into place at"):
            os.replace(temp, target)
        journal.record(target)


def remove_quietly(path: str) -> None:
    """Remove ``path`` if it exists: cleanup after a failure must not hide the failure."""
    with contextlib.suppress(OSError):
        os.remove(path)


@contextlib.contextmanager
def atomic_file(path: str, temp: str | None = None, publish: bool = False):
    """Yields a binary file that replaces ``path`` only when the block succeeds.

    Args:
        path: the target file.
        temp: the temp file's name (default ``temp_name(path)``); removed if
            the block or the commit fails.
        publish: fsync the directory first, so that files renamed into it
            earlier are durable before this one names them.

    Raises:
        OpError: ResourceExhaustedError (disk full), PermissionDeniedError, ...
            naming the file, for any OSError while writing; ``path`` is
            then unchanged.
    """
    temp = temp or temp_name(path)
    committed = False
    try:
        with os_errors(path, "writing"):
            with open(temp, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            if publish:
                fsync_dir(os.path.dirname(path))
        commit([(temp, path)])
        committed = True
    finally:
        # A failed or interrupted write leaves the previous file as it was.
        if not committed:
            remove_quietly(temp)


def write_atomic_bytes(path: str, data: bytes, publish: bool = False) -> None:
    """Writes ``data`` to ``path`` through ``atomic_file`` (``publish`` as there).

    An object store URL is written with one request instead (``storage.put_bytes``),
    which the store publishes whole.
    """
    remote, path = storage.resolve(path)
    if remote:
        storage.put_bytes(path, data)
        return
    with atomic_file(path, publish=publish) as f:
        f.write(data)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of ours may be writing it right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours to signal
    return True


def remove_stale_temps(directory: str, belongs: Callable[[str], bool]) -> list[str]:
    """Delete the temp files of killed writes in ``directory``.

    Only names made by ``temp_name`` are considered, only those whose target
    name satisfies ``belongs``, and only those written on this host by a
    process that is gone (a zombie still counts as alive: reap children first).

    Args:
        directory: where to look ("" = the current directory); not recursive.
        belongs: ``belongs(target_name)`` says whether the caller owns that target.

    Returns:
        The paths removed.
    """
    removed = []
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return removed
    for name in names:
        parsed = parse_temp_name(name)
        if parsed is None or not belongs(parsed[0]) or parsed[1] != _HOST or _process_alive(parsed[2]):
            continue
        path = os.path.join(directory, name)
        try:
            os.remove(path)
        except FileNotFoundError:
            continue  # another process cleaned it first
        removed.append(path)
    return removed

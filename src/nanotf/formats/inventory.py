"""Which checkpoints a directory holds, and whether each one is complete.

Candidates:

* V2: every ``<prefix>.index``;
* V1: every other regular file ending in the table magic (one 8-byte read
  per file), shards ``<p>-00000-of-00002`` ... grouped as the pattern
  ``<p>-?????-of-00002`` that ``Saver.save`` returns for them.

In an object store (an fsspec URL) only V2 checkpoints are candidates: V1
files are read and written on local disks only.

Temp files of unfinished writes (``atomic.TEMP_MARK``) and ``.meta`` files
are never candidates. Complete means: the index or table parses with every
block checksum and entry valid, and (V2) every data file exists with exactly
the length its entries need. Tensor bytes are not read.

``remove_stale_temps`` clears what killed saves left beside a save path.

Newest: checkpoints are grouped by name without the ``-<global step>``
suffix; the group with the most recently modified member wins, and within
it the highest step (then the newest modification time).
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..errors import DataLossError, NotFoundError, OpError
from . import storage
from .atomic import TEMP_MARK
from .atomic import remove_stale_temps as remove_temps_of_dead
from .bundle import INDEX_SUFFIX
from .remote_bundle import reader_for
from .table import FOOTER_SIZE, TABLE_MAGIC
from .v1 import V1Reader, v1_files

_STEP = re.compile(r"-(\d+)$")
# A V1 shard file name, or the pattern naming all shards (what Saver.save returns for them).
_V1_SHARD = re.compile(r"^(?P<base>.+)-(?P<shard>\d{5}|\?{5})-of-(?P<count>\d{5})$")
_NOT_V1 = re.compile(r"(\.index|\.meta|\.data-\d{5}-of-\d{5})$")
_MAGIC = TABLE_MAGIC.to_bytes(8, "little")


class Candidate(NamedTuple):
    """A checkpoint found by name; ``check_complete`` says whether it is whole."""

    prefix: str
    step: int | None
    mtime: float

    @property
    def family(self) -> str:
        return _STEP.sub("", _V1_SHARD.sub(r"\g<base>", self.prefix))


def _has_table_magic(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < FOOTER_SIZE:
                return False
            f.seek(-len(_MAGIC), os.SEEK_END)
            return f.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def _candidate(prefix: str, stat_path: str) -> Candidate | None:
    try:
        mtime = os.stat(stat_path).st_mtime
    except OSError:
        return None  # removed while we looked
    return _named(prefix, mtime)


def _named(prefix: str, mtime: float) -> Candidate:
    base = _V1_SHARD.sub(r"\g<base>", os.path.basename(prefix))
    step = _STEP.search(base)
    return Candidate(prefix, int(step.group(1)) if step else None, mtime)


def find_checkpoints(directory: str) -> list[Candidate]:
    """All checkpoints in ``directory`` by name (not recursive; completeness unchecked).

    Returns:
        Candidates, newest first (see the module docstring).
    """
    found = _remote_candidates(directory) if storage.is_remote(directory) else _local_candidates(directory)
    newest_in_family: dict[str, float] = {}
    for c in found:
        newest_in_family[c.family] = max(newest_in_family.get(c.family, c.mtime), c.mtime)
    found.sort(key=lambda c: (newest_in_family[c.family], -1 if c.step is None else c.step, c.mtime), reverse=True)
    return found


def _remote_candidates(directory: str) -> list[Candidate]:
    """The V2 checkpoints of a remote directory (its objects' modification times are one request each)."""
    found = []
    for url, _ in storage.listdir(directory):
        if url.endswith(INDEX_SUFFIX) and TEMP_MARK not in url.rpartition("/")[2]:
            mtime = storage.getmtime(url)
            if mtime is not None:  # removed while we looked
                found.append(_named(url[: -len(INDEX_SUFFIX)], mtime))
    return found


def _local_candidates(directory: str) -> list[Candidate]:
    try:
        names = sorted(os.listdir(directory or "."))
    except OSError:
        return []
    found: list[Candidate] = []
    v1_shards: set[str] = set()
    for name in names:
        path = os.path.join(directory, name)
        if TEMP_MARK in name:
            continue
        if name.endswith(INDEX_SUFFIX):
            found.append(_candidate(path[: -len(INDEX_SUFFIX)], path))
        elif not _NOT_V1.search(name) and os.path.isfile(path) and _has_table_magic(path):
            shard = _V1_SHARD.match(name)
            if shard is None:
                found.append(_candidate(path, path))
            else:
                v1_shards.add(os.path.join(directory, f"{shard['base']}-?????-of-{shard['count']}"))
    for pattern in sorted(v1_shards):
        files = v1_files(pattern)
        if files:
            found.append(_candidate(pattern, files[-1]))
    return [c for c in found if c is not None]


def check_complete(prefix: str) -> None:
    """Raise unless the checkpoint ``prefix`` is complete (see the module docstring).

    Raises:
        NotFoundError: if it or one of its files is missing.
        DataLossError: if a file is truncated, corrupted or the wrong length.
    """
    if storage.exists(prefix + INDEX_SUFFIX):
        with reader_for(prefix) as reader:
            reader.check_data_files()
        return
    shard = _V1_SHARD.match(os.path.basename(prefix))
    if shard is not None and len(v1_files(prefix)) != int(shard["count"]):
        raise DataLossError(f"V1 checkpoint {prefix}: {len(v1_files(prefix))} of {int(shard['count'])} shard files exist")
    if not v1_files(prefix):
        raise NotFoundError(f"no checkpoint {prefix}: neither {prefix}{INDEX_SUFFIX} nor a V1 file exists")
    V1Reader(prefix).close()


def newest_complete(directory: str) -> tuple[str | None, list[tuple[str, str]]]:
    """The newest complete checkpoint of ``directory``.

    Returns:
        ``(prefix or None, [(prefix, why it was skipped)] for the newer incomplete ones)``.
    """
    skipped = []
    for candidate in find_checkpoints(directory):
        try:
            check_complete(candidate.prefix)
        except OpError as exc:
            skipped.append((candidate.prefix, str(exc)))
            continue
        return candidate.prefix, skipped
    return None, skipped


def remove_stale_temps(save_path: str, latest_filename: str = "checkpoint", meta_suffix: str = "meta") -> list[str]:
    """Delete temp files that killed saves to ``save_path[-<step>]`` left beside it.

    Targets that count: ``<save_path>[-<step>]`` plus ``.index``,
    ``.data-NNNNN-of-NNNNN``, ``.<meta_suffix>`` or a V1 shard suffix, and the
    state file ``latest_filename``. Only temps of processes that are gone are
    removed (``atomic.remove_stale_temps``). A sharded save's
    ``<prefix>_temp`` directory carries no owner and is left alone.

    Returns:
        The paths removed.
    """
    directory, base = os.path.split(save_path)
    ours = re.compile(re.escape(base) + r"(-\d+)?(\.index|\.data-\d{5}-of-\d{5}|-\d{5}-of-\d{5}|\."
                      + re.escape(meta_suffix) + ")?")  # fmt: skip
    return remove_temps_of_dead(directory, lambda target: target == latest_filename or bool(ours.fullmatch(target)))

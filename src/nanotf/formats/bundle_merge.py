"""MergeV2Checkpoints: combine the per-device bundles of a sharded save into one checkpoint.

A sharded Saver writes shard i of n as an ordinary bundle at a temporary
prefix (``<prefix>_temp/part-0000i-of-0000n``), then merges:

1. the input indexes are read in order; each input's data files are renamed to
   ``<prefix>.data-<id>-of-<total>``, ids counting up in order of appearance,
   ``total`` being the sum of the inputs' ``num_shards``;
2. entries get their new ``shard_id``; a partitioned tensor's data-less
   full-tensor entries from several inputs are combined by concatenating
   their ``slices`` (any other repeated key is an error);
3. ``<prefix>.index`` gets the first input's header fields and
   ``num_shards = total``. TensorFlow writes it in place; nanotf writes it to
   a temp file first and renames it last, after the data files, so the merged
   checkpoint appears whole or not at all (the bytes are the same);
4. the input index files are deleted, and their directories if empty.
"""

from __future__ import annotations

import os
from typing import Sequence

from ..errors import InvalidArgumentError, NotFoundError
from ..protos import checkpoint_pb2
from . import atomic, bundle, storage
from .bundle_reader import BundleReader
from .bundle_writer import write_index_temp
from .fileerrors import os_errors


def merge_bundles(shard_prefixes: Sequence[str], prefix: str, delete_old_dirs: bool = True,
                  allow_missing_files: bool = False) -> None:
    """Merge single-host bundles into the checkpoint ``prefix``.

    Args:
        shard_prefixes: the input bundles, in shard order.
        prefix: the output checkpoint prefix.
        delete_old_dirs: remove each input's directory once empty.
        allow_missing_files: skip inputs whose index does not exist instead of failing.

    Raises:
        NotFoundError: for a missing input (unless allowed) or when nothing is left to merge.
        InvalidArgumentError: for a key present in two inputs (other than
            full-tensor entries of one partitioned tensor with equal dtype and shape).
        DataLossError: for a malformed input.
    """
    remote, prefix = storage.resolve(prefix)
    if remote:
        from .remote_bundle import merge_remote  # it imports this module

        return merge_remote(shard_prefixes, prefix, allow_missing_files)
    readers = []
    for shard_prefix in (storage.local_path(os.fspath(p)) for p in shard_prefixes):
        if allow_missing_files and not os.path.exists(bundle.index_filename(shard_prefix)):
            continue
        readers.append(BundleReader(shard_prefix))
    header, merged, renames = plan_merge(readers, prefix, len(shard_prefixes))
    for reader in readers:
        reader.close()
    directory = os.path.dirname(prefix)
    if directory:
        with os_errors(directory, "creating the checkpoint directory"):
            os.makedirs(directory, exist_ok=True)
    index_temp = write_index_temp(prefix, merged, header)
    try:
        atomic.commit(renames + [(index_temp, bundle.index_filename(prefix))])
    except BaseException:
        atomic.remove_quietly(index_temp)
        raise
    for reader in readers:
        with os_errors(reader.index_path, "removing the merged input"):
            os.remove(reader.index_path)
        if delete_old_dirs:
            try:
                os.rmdir(os.path.dirname(reader.prefix) or ".")
            except OSError:
                pass  # not empty (or the current directory): TensorFlow leaves it too


def plan_merge(readers: list[BundleReader], prefix: str, inputs: int) -> tuple[
        checkpoint_pb2.BundleHeaderProto, dict[bytes, checkpoint_pb2.BundleEntryProto], list[tuple[str, str]]]:
    """What merging the open input bundles ``readers`` (in order) into ``prefix`` writes.

    Shared by the local merge and the object-store one (``remote_bundle``),
    which differ only in how the data files move.

    Returns:
        The merged header, the merged entries by key, and ``(input data
        file, output data file)`` pairs (steps 1-3 of the module docstring).

    Raises:
        NotFoundError: if ``readers`` is empty (none of the ``inputs`` exists).
        InvalidArgumentError: for a key present in two inputs.
    """
    if not readers:
        raise NotFoundError(f"MergeV2Checkpoints for {prefix}: none of the {inputs} input bundles exists")
    total = sum(r.header.num_shards for r in readers)
    header = checkpoint_pb2.BundleHeaderProto()
    header.CopyFrom(readers[0].header)
    header.num_shards = total
    merged: dict[bytes, checkpoint_pb2.BundleEntryProto] = {}
    moves: list[tuple[str, str]] = []
    for reader in readers:
        first_id = len(moves)
        for key in reader.keys():  # noqa: SIM118 - a BundleReader, not a dict
            entry = checkpoint_pb2.BundleEntryProto()
            entry.CopyFrom(reader.entry(key))
            entry.shard_id += first_id
            _combine(merged, key, entry, reader.prefix)
        moves += [(bundle.data_filename(reader.prefix, shard, reader.header.num_shards),
                   bundle.data_filename(prefix, first_id + shard, total))
                  for shard in range(reader.header.num_shards)]  # fmt: skip
    return header, merged, moves


def _combine(merged: dict, key: bytes, entry: checkpoint_pb2.BundleEntryProto, source: str) -> None:
    existing = merged.get(key)
    if existing is None:
        merged[key] = entry
        return
    if not (existing.slices and entry.slices and existing.dtype == entry.dtype and existing.shape == entry.shape):
        raise InvalidArgumentError(
            f"MergeV2Checkpoints: key {bundle.key_repr(key)} of {source} is already in an earlier input"
        )
    existing.slices.extend(entry.slices)

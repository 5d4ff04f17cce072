"""Writing checkpoints without a graph: the bytes ``tf.train.Saver.save`` writes.

The Saver sorts its saveables by key, so the data file holds tensors in key
order; a sharded save writes one bundle per shard under ``<prefix>_temp/``
and merges them (see formats/bundle_merge.py). As in the Saver, temp files of
killed writes to the same prefix are removed first, and the state file is
written only once the checkpoint is complete.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

from ..errors import InvalidArgumentError
from ..formats import parallel, storage
from ..formats.bundle_merge import merge_bundles
from ..formats.bundle_writer import write_bundle
from ..formats.inventory import remove_stale_temps
from .checkpoint_management import get_checkpoint_state, update_checkpoint_state

_TEMP_PART = "%s_temp/part-%05d-of-%05d"


def _flatten(tensors: Mapping) -> list[tuple[str, str, object]]:
    """``(key, shape_and_slice, value)`` per SaveV2 argument, sorted by key, slices in given order."""
    rows = []
    for name in sorted(tensors):
        value = tensors[name]
        if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            rows.extend((name, spec, part) for spec, part in value)
        else:
            rows.append((name, "", value))
    return rows


def write_checkpoint(prefix: str | os.PathLike, tensors: Mapping, num_shards: int = 1, write_state: bool = True,
                     latest_filename: str = "checkpoint", dtypes: Mapping | None = None) -> str:
    """Save ``tensors`` as a V2 checkpoint at ``prefix``, byte-identical to TF's Saver.

    Args:
        prefix: the checkpoint prefix (e.g. ``"train/model.ckpt-100"``).
        tensors: key -> array (strings as bytes/str/object arrays), or key ->
            list of ``(shape_and_slice, array)`` for a partitioned tensor,
            e.g. ``[("10 4 0,5:-", a), ("10 4 5,5:-", b)]``.
        num_shards: split the sorted keys into this many data files (a
            sharded save: per-shard bundles, then merged).
        write_state: record the checkpoint in ``<dir>/<latest_filename>``,
            keeping the paths already listed there.
        latest_filename: the state file's name.
        dtypes: optional key -> DataType (name, enum or WireDType), needed for
            quantized types, which NumPy cannot tell from plain integers.

    Returns:
        The prefix written.

    Raises:
        InvalidArgumentError: for bad values, specs or ``num_shards``.
    """
    prefix = storage.local_path(os.fspath(prefix))
    if os.path.isdir(os.path.dirname(prefix) or "."):
        # Leftovers of killed writes to any step of this prefix ("model.ckpt-100" -> "model.ckpt-*").
        remove_stale_temps(re.sub(r"-\d+$", "", prefix), latest_filename)
    rows = _flatten(tensors)
    dtypes = dtypes or {}
    if num_shards == 1:
        _write_rows(prefix, rows, dtypes)
    elif num_shards > 1:
        names = sorted(tensors)
        per_shard = -(-len(names) // num_shards)
        parts = []
        for shard in range(num_shards):
            keys = set(names[shard * per_shard : (shard + 1) * per_shard])
            parts.append((_TEMP_PART % (prefix, shard, num_shards), [r for r in rows if r[0] in keys]))
        # The shards are independent files: uploaded concurrently to an object store (see parallel.io_threads).
        threads = parallel.io_threads(storage.is_remote(prefix), writing=True)
        parallel.map_ordered(lambda part: _write_rows(*part, dtypes), parts, threads)
        merge_bundles([name for name, _ in parts], prefix)
    else:
        raise InvalidArgumentError(f"write_checkpoint {prefix}: num_shards must be >= 1, not {num_shards}")
    if write_state:
        save_dir = os.path.dirname(prefix)
        previous = get_checkpoint_state(save_dir, latest_filename) if storage.isdir(save_dir or ".") else None
        paths = [p for p in (previous.all_model_checkpoint_paths if previous else []) if p != prefix]
        update_checkpoint_state(save_dir, prefix, paths + [prefix], latest_filename)
    return prefix


def _write_rows(prefix: str, rows: list[tuple[str, str, object]], dtypes: Mapping) -> None:
    write_bundle(prefix, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                 [dtypes.get(r[0]) for r in rows])

"""``nanotf verify PATH``: check every byte of a checkpoint that can be checked.

For a V2 checkpoint: the ``.index`` table (footer, index and metaindex
blocks, every data block's CRC and entries), the bundle header and every
entry, that each data shard exists, every tensor's range and CRC, and how the
tensors cover each data file. For V1: every table file and tensor. Then the
checkpoint's ``.meta`` (it parses, and its restore op asks only for keys the
checkpoint has) and the ``checkpoint`` state file beside it, if present.

A checkpoint in an object store is downloaded to a temporary directory first
(verifying reads every byte anyway) and checked there; the report names the
objects.

Every problem is collected with its file (and offset where known) rather than
stopping at the first. Problems make the exit status 1; warnings (oddities TF
never writes but readers accept, such as bytes after the last tensor) do not.
"""

from __future__ import annotations

import glob
import os
import tempfile

from google.protobuf import text_format

from ..errors import DataLossError, NotFoundError, OpError
from ..formats import bundle, state, storage
from ..formats.bundle_reader import BundleReader
from ..formats.protoparse import parse_message, read_file
from ..formats.slices import TensorSlice, encode_tensor_name_slice
from ..formats.v1 import V1Reader, v1_files
from ..framework.tensor_util import make_ndarray
from ..protos import meta_graph_pb2
from ..train.checkpoint_management import MAX_STATE_BYTES, checkpoint_exists
from .common import EXIT_DATA, EXIT_OK, checkpoint_prefix, print_json
from .progress import Progress
from .verify_table import check_table

NAME = "verify"
HELP = "check every CRC and structure of a checkpoint, its .meta and its state file"


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a checkpoint directory, prefix or file")


class Findings:
    """Problems and warnings, each with the file, the offset if known, and a message."""

    def __init__(self):
        self.problems: list[dict] = []
        self.warnings: list[dict] = []
        self.checked: list[str] = []  # one line per file that was checked

    def _entry(self, path: str, message: str, offset: int | None) -> dict:
        if message.startswith(path + ": "):  # reader errors name the file first; say it once
            message = message[len(path) + 2 :]
        return {"file": path, "offset": offset, "message": message}

    def problem(self, path: str, message: str, offset: int | None = None) -> None:
        entry = self._entry(path, message, offset)
        if not any(p["file"] == path and p["message"] == entry["message"] for p in self.problems):
            self.problems.append(entry)  # the block check and the reader may both meet the same fault

    def warning(self, path: str, message: str, offset: int | None = None) -> None:
        self.warnings.append(self._entry(path, message, offset))


def verify(path: str) -> dict:
    """Verify the checkpoint at ``path``; returns the JSON-ready report.

    Raises:
        NotFoundError: if there is no checkpoint at ``path``.
    """
    if storage.is_remote(path):
        return _verify_remote(path)
    prefix = _prefix(path)
    found = Findings()
    v2 = os.path.exists(bundle.index_filename(prefix))
    files = [bundle.index_filename(prefix)] if v2 else v1_files(prefix)
    data = glob.glob(glob.escape(prefix) + ".data-*-of-*") if v2 else []
    total = sum(os.path.getsize(f) for f in files + data)
    with Progress(total, "verifying") as progress:
        keys = _verify_v2(prefix, found, progress) if v2 else _verify_v1(prefix, files, found, progress)
    if os.path.exists(prefix + ".meta"):
        _verify_meta(prefix + ".meta", keys, found)
    state_path = os.path.join(os.path.dirname(prefix), state.STATE_FILENAME)
    if os.path.exists(state_path):
        _verify_state(state_path, found)
    return {"prefix": prefix, "format": "V2" if v2 else "V1", "checked": found.checked, "tensors": len(keys),
            "problems": found.problems, "warnings": found.warnings, "ok": not found.problems}  # fmt: skip


def _verify_remote(url: str) -> dict:
    prefix = checkpoint_prefix(url)
    directory, _, base = prefix.rpartition("/")
    objects = storage.glob(f"{prefix}.data-*-of-*") + [f"{prefix}{suffix}" for suffix in (bundle.INDEX_SUFFIX, ".meta")]
    if not storage.exists(bundle.index_filename(prefix)):
        objects += v1_files(prefix)  # a V1 checkpoint: its table file(s)
    with tempfile.TemporaryDirectory(prefix="nanotf-verify-") as local_dir:
        for obj in objects:
            if storage.exists(obj):
                storage.download(obj, os.path.join(local_dir, obj.rpartition("/")[2]))
        report = _renamed(verify(os.path.join(local_dir, base)), local_dir, directory)
    found = Findings()
    state_url = f"{directory}/{state.STATE_FILENAME}"
    if storage.exists(state_url):
        _verify_state(state_url, found)
    report["checked"] += found.checked
    report["problems"] += found.problems
    report["warnings"] += found.warnings
    report["ok"] = not report["problems"]
    return report


def _renamed(value, local_dir: str, remote_dir: str):
    """``value`` (the report or a part of it) with the temporary directory's paths turned into object URLs."""
    if isinstance(value, str):
        return value.replace(local_dir + os.sep, remote_dir + "/")
    if isinstance(value, list):
        return [_renamed(v, local_dir, remote_dir) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, local_dir, remote_dir) for k, v in value.items()}
    return value


def _prefix(path: str) -> str:
    """The checkpoint to verify; in a directory whose state file is broken, its only checkpoint."""
    try:
        return checkpoint_prefix(path)
    except NotFoundError:
        indexes = glob.glob(os.path.join(glob.escape(path), "*" + bundle.INDEX_SUFFIX)) if os.path.isdir(path) else []
        if len(indexes) != 1:
            raise
        return indexes[0][: -len(bundle.INDEX_SUFFIX)]  # the state file's fault is reported by _verify_state


def _verify_v2(prefix: str, found: Findings, progress: Progress) -> list[str]:
    index_path = bundle.index_filename(prefix)
    blocks = check_table(index_path, found)
    progress.advance(os.path.getsize(index_path))
    try:
        reader = BundleReader(prefix)
    except OpError as err:
        found.problem(index_path, str(err))
        return []
    with reader:
        shards = {}
        for shard in range(reader.header.num_shards):
            path = bundle.data_filename(prefix, shard, reader.header.num_shards)
            if os.path.exists(path):
                shards[shard] = (path, os.path.getsize(path), [])
            else:
                found.problem(path, f"data file {shard} of {reader.header.num_shards} is missing")
        keys = reader.keys()
        labels, key_set = _slice_labels(reader, keys), set(keys)
        for key in keys:
            _verify_entry(reader, key, key_set, labels, shards, found, progress)
        found.checked.append(f"{index_path}: {blocks} data block(s), {len(keys)} entries")
        for _, (path, size, ranges) in sorted(shards.items()):
            _verify_coverage(path, size, ranges, found)
            found.checked.append(f"{path}: {size} bytes, {len(ranges)} tensors")
        return reader.variable_keys()


def _slice_labels(reader: BundleReader, keys: list[bytes]) -> dict[bytes, str]:
    """Readable names for the slice keys of partitioned tensors (``'emb' slice 4,3:-``)."""
    labels = {}
    for key in keys:
        try:
            slices = reader.entry(key).slices
        except OpError:
            continue  # reported when the entry itself is verified
        for proto in slices:
            slc = TensorSlice.from_proto(proto)
            labels[encode_tensor_name_slice(key, slc)] = f"{bundle.key_repr(key)} slice {slc}"
    return labels


def _verify_entry(reader: BundleReader, key: bytes, keys: set, labels: dict, shards: dict, found: Findings,
                  progress) -> None:  # fmt: skip
    try:
        entry = reader.entry(key)
    except OpError as err:
        found.problem(reader.index_path, str(err))
        return
    if entry.slices:  # a partitioned tensor's data-less entry: its slices must be listed
        for proto in entry.slices:
            if encode_tensor_name_slice(key, TensorSlice.from_proto(proto)) not in keys:
                found.problem(reader.index_path, f"tensor {bundle.key_repr(key)}: no entry for its slice "
                                                 f"{TensorSlice.from_proto(proto)}")  # fmt: skip
        return
    if entry.shard_id not in shards:
        return  # the missing data file is reported once
    path, _, ranges = shards[entry.shard_id]
    ranges.append((entry.offset, entry.offset + entry.size, key))
    try:
        reader.read(key)
    except OpError as err:
        message = str(err)
        if key in labels:  # a slice: name it by its tensor, not by its binary key
            message = message.replace(bundle.key_repr(key), labels[key])
        found.problem(path, message, entry.offset)
    progress.advance(entry.size)


def _verify_coverage(path: str, size: int, ranges: list, found: Findings) -> None:
    """TF writes a data file as its tensors back to back; say where this one is not."""
    end, previous = 0, None
    for start, stop, key in sorted(ranges):
        if start < end:
            found.problem(path, f"tensor {bundle.key_repr(key)} at offset {start} overlaps "
                                f"tensor {bundle.key_repr(previous)}", start)  # fmt: skip
        elif start > end:
            message = f"{start - end} unused bytes at offset {end}, before tensor {bundle.key_repr(key)}"
            found.warning(path, message, end)
        end, previous = max(end, stop), key
    if size > end:
        found.warning(path, f"{size - end} bytes at offset {end}, after the last tensor", end)


def _verify_v1(prefix: str, files: list[str], found: Findings, progress: Progress) -> list[str]:
    for path in files:
        blocks = check_table(path, found)
        found.checked.append(f"{path}: {blocks} data block(s)")
    try:
        reader = V1Reader(prefix)
    except OpError as err:
        found.problem(prefix, str(err))
        return []
    with reader:
        names = reader.variable_keys()
        for name in names:
            try:
                reader.read(name)
            except OpError as err:
                found.problem(prefix, str(err))
    progress.advance(sum(os.path.getsize(f) for f in files))
    return names


def _verify_meta(path: str, keys: list[str], found: Findings) -> None:
    with open(path, "rb") as f:
        data = f.read()
    try:
        meta = parse_message(meta_graph_pb2.MetaGraphDef(), data, path)
    except DataLossError:
        try:
            meta = text_format.Parse(data.decode("utf-8"), meta_graph_pb2.MetaGraphDef())
        except (text_format.ParseError, UnicodeDecodeError):
            found.problem(path, "not a valid MetaGraphDef (binary or text)")
            return
    wanted = _restore_keys(meta)
    missing = sorted(wanted - set(keys))
    if missing:
        found.problem(path, f"its restore op asks for {len(missing)} key(s) the checkpoint lacks: {', '.join(missing)}")
    found.checked.append(f"{path}: {len(meta.graph_def.node)} nodes, restore op asks for {len(wanted)} keys")


def _restore_keys(meta) -> set[str]:
    """The checkpoint keys the SaverDef's RestoreV2 ops read (their ``tensor_names`` constants)."""
    if not meta.HasField("saver_def"):
        return set()
    scope = meta.saver_def.restore_op_name.split("/", 1)[0] + "/"
    nodes = {n.name: n for n in meta.graph_def.node}
    keys = set()
    for node in meta.graph_def.node:
        if node.op == "RestoreV2" and node.name.startswith(scope) and len(node.input) > 1:
            names = nodes.get(node.input[1].split(":")[0])
            if names is not None and names.op == "Const":
                values = make_ndarray(names.attr["value"].tensor).ravel()
                keys.update(v.decode("utf-8", "surrogateescape") for v in values)
    return keys


def _verify_state(path: str, found: Findings) -> None:
    try:
        proto = state.parse_state(read_file(path, MAX_STATE_BYTES).decode("utf-8"))
    except OpError as err:
        found.problem(path, str(err))
        return
    except (UnicodeDecodeError, text_format.ParseError) as err:
        found.problem(path, f"not a valid checkpoint state file ({err})")
        return
    remote = storage.is_remote(path)
    directory = path.rpartition("/")[0] if remote else os.path.dirname(path)

    def exists(p: str) -> bool:
        if remote:
            return checkpoint_exists(p if storage.is_remote(p) else f"{directory}/{p}")
        return checkpoint_exists(p if os.path.isabs(p) else os.path.join(directory, p))

    if not proto.model_checkpoint_path:
        found.problem(path, "model_checkpoint_path is empty")
    elif not exists(proto.model_checkpoint_path):
        found.problem(path, f"model_checkpoint_path {proto.model_checkpoint_path!r} names no existing checkpoint")
    for p in proto.all_model_checkpoint_paths:
        if not exists(p):
            found.warning(path, f"all_model_checkpoint_paths lists {p!r}, which no longer exists")
    listed = len(proto.all_model_checkpoint_paths)
    found.checked.append(f"{path}: latest {proto.model_checkpoint_path!r}, {listed} listed")


def run(args) -> int:
    report = verify(args.path)
    if args.json:
        print_json(report)
    else:
        print(f"verifying {report['format']} checkpoint {report['prefix']}")
        for line in report["checked"]:
            print(f"  checked {line}")
        for kind in ("problems", "warnings"):
            for item in report[kind]:
                print(f"{kind[:-1]}: {item['file']}: {item['message']}")  # messages give the offset
        verdict = "OK" if report["ok"] else f"FAILED: {len(report['problems'])} problem(s)"
        print(f"{verdict} ({report['tensors']} tensors, {len(report['warnings'])} warning(s))")
    return EXIT_OK if report["ok"] else EXIT_DATA

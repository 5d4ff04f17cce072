"""``nanotf meta FILE.meta``: what a meta graph holds, read from the proto without importing it.

Shows the placeholders (name, dtype, shape), the likely outputs, the
variables, the collections, the SaverDef, the devices, the op types used and
those nanotf does not implement. Because the graph is never imported, op types
nanotf lacks are reported rather than fatal.

Likely outputs are a heuristic: ops whose outputs no model op consumes, leaving
out the save/restore, initialisation, gradient and optimizer machinery (those
scopes' consumers do not count either, so a loss feeding only the gradients
is still listed), constants, variables, their reads and their assignments.
"""

from __future__ import annotations

import re
from collections import Counter

from google.protobuf import json_format

from ..formats import dtypes
from ..formats.protoparse import parse_message
from ..framework import registry
from ..protos import meta_graph_pb2
from .common import EXIT_OK, print_json
from .graph_files import PLACEHOLDER_OPS, VARIABLE_OPS, load_graph, node_name

NAME = "meta"
HELP = "summarize a .meta graph: inputs, outputs, variables, collections, saver, op types"

SAVER_OPS = {"SaveV2", "RestoreV2", "Save", "SaveSlices", "Restore", "RestoreSlice", "MergeV2Checkpoints"}
# Never an output: inputs, state and its bookkeeping, and shape plumbing
# that only the gradients read.
NOT_OUTPUT_OPS = VARIABLE_OPS | PLACEHOLDER_OPS | {
    "Const", "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp",
    "AssignSubVariableOp", "VarIsInitializedOp", "IsVariableInitialized", "Shape", "ShapeN", "Size", "Rank",
}  # fmt: skip
_GRADIENTS_SCOPE = re.compile(r"gradients(_\d+)?$")
_INIT_OP = re.compile(r"init(_\d+)?$")
_OPTIMIZER_OP = re.compile(r"(Resource)?(Sparse)?Apply[A-Z]")
VARIABLE_COLLECTIONS = ("variables", "local_variables", "trainable_variables", "model_variables", "global_step")


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a .meta file (or a text .pbtxt, a GraphDef .pb, a checkpoint prefix)")


def _parent(name: str) -> str:
    return name.rsplit("/", 1)[0]


def implemented(op_type: str) -> bool:
    """Whether nanotf can run ops of this type: registered, with a kernel."""
    registration = registry.lookup(op_type)
    return registration is not None and registration.kernel is not None


def machinery_scopes(graph_def) -> set[str]:
    """Name scopes (and names) of the save/restore, init, gradient and optimizer ops.

    A saver's scope is the one holding its Save/Restore ops (``save``); an
    optimizer's is what precedes ``/update_`` in its Apply ops' names (``Adam``);
    gradients live under ``gradients`` (``gradients_1``, ...); init ops are
    NoOps named ``init`` (``init_1``, ...).
    """
    scopes = set()
    for node in graph_def.node:
        parts = node.name.split("/")
        if node.op in SAVER_OPS:
            scopes.add(_parent(node.name))
        elif _OPTIMIZER_OP.match(node.op):
            scopes.add(node.name.split("/update_")[0] if "/update_" in node.name else _parent(node.name))
        elif node.op == "NoOp" and _INIT_OP.match(parts[-1]):
            scopes.add(node.name)
        for i, part in enumerate(parts[:-1]):
            if _GRADIENTS_SCOPE.match(part):
                scopes.add("/".join(parts[: i + 1]))
                break
    return scopes


def in_scopes(name: str, scopes: set[str]) -> bool:
    """Whether ``name`` is one of ``scopes`` or lies inside one."""
    parts = name.split("/")
    return any("/".join(parts[:i]) in scopes for i in range(1, len(parts) + 1))


def likely_outputs(graph_def) -> list[dict]:
    """The model's terminal ops (see the module docstring), in graph order."""
    machinery = machinery_scopes(graph_def)
    by_name = {n.name: n for n in graph_def.node}
    model = [n for n in graph_def.node if not in_scopes(n.name, machinery)]
    consumed = {node_name(i) for n in model for i in n.input}
    outputs = []
    for node in model:
        if node.name in consumed or node.op in NOT_OUTPUT_OPS:
            continue
        source = by_name.get(node_name(node.input[0])) if node.input else None
        if node.op in ("Identity", "ReadVariableOp") and source is not None and source.op in VARIABLE_OPS:
            continue  # a variable's read
        outputs.append({"name": node.name, "op": node.op, "shape": _output_shape(node)})
    return outputs


def _dtype_name(node) -> str | None:
    for key in ("dtype", "T"):
        if key in node.attr and node.attr[key].WhichOneof("value") == "type":
            try:
                return dtypes.wire_dtype(node.attr[key].type).name
            except KeyError:
                return f"DataType {node.attr[key].type}"
    return None


def _shape(proto) -> list[int] | None:
    return None if proto.unknown_rank else [d.size for d in proto.dim]


def _output_shape(node) -> list[int] | None:
    if "_output_shapes" in node.attr and node.attr["_output_shapes"].list.shape:
        return _shape(node.attr["_output_shapes"].list.shape[0])
    return None


def _declared_shape(node) -> list[int] | None:
    if "shape" in node.attr and node.attr["shape"].WhichOneof("value") == "shape":
        return _shape(node.attr["shape"].shape)
    return _output_shape(node)


def _variable_def(raw: bytes, key: str) -> meta_graph_pb2.VariableDef:
    return parse_message(meta_graph_pb2.VariableDef(), raw, f"an item of collection {key}")


def _variables(meta, graph_def) -> list[dict]:
    by_name = {n.name: n for n in graph_def.node}
    found: dict[str, dict] = {}
    for key in VARIABLE_COLLECTIONS:
        collection = meta.collection_def.get(key) if meta is not None else None
        if collection is None or collection.WhichOneof("kind") != "bytes_list":
            continue
        for raw in collection.bytes_list.value:
            var = _variable_def(raw, key)
            name = node_name(var.variable_name)
            row = found.setdefault(name, {"name": name, "collections": []})
            row["collections"].append(key)
            if var.save_slice_info_def.full_name:
                row["partition_of"] = var.save_slice_info_def.full_name
    if not meta or not found:  # a bare GraphDef, or no variable collections: the variable ops
        found = {n.name: {"name": n.name, "collections": []} for n in graph_def.node if n.op in VARIABLE_OPS}
    for name, row in found.items():
        node = by_name.get(name)
        row.update(op=node.op if node else None, dtype=_dtype_name(node) if node else None,
                   shape=_declared_shape(node) if node else None)  # fmt: skip
    return list(found.values())


def _collections(meta) -> list[dict]:
    rows = []
    for key in sorted(meta.collection_def if meta is not None else ()):
        collection = meta.collection_def[key]
        kind = collection.WhichOneof("kind")
        values = list(getattr(collection, kind).value) if kind else []
        if key in VARIABLE_COLLECTIONS and kind == "bytes_list":
            shown = [node_name(_variable_def(v, key).variable_name) for v in values]
        elif kind == "bytes_list":
            shown = [v.decode("utf-8", "backslashreplace") for v in values]
        elif kind == "float_list":
            shown = [float(f"{v:.7g}") for v in values]  # float32 values, shown as written
        elif kind == "any_list":
            shown = [v.type_url for v in values]
        else:
            shown = values
        rows.append({"key": key, "kind": kind, "count": len(values), "values": shown})
    return rows


def summarize(meta, graph_def) -> dict:
    """Everything ``nanotf meta`` reports, as a JSON-ready dict."""
    ops = Counter(n.op for n in graph_def.node)
    machinery = machinery_scopes(graph_def)
    info = meta.meta_info_def if meta is not None else None
    placeholders = [n for n in graph_def.node if n.op in PLACEHOLDER_OPS and not in_scopes(n.name, machinery)]
    has_saver = meta is not None and meta.HasField("saver_def")
    return {
        "tensorflow_version": info.tensorflow_version if info else None,
        "tags": list(info.tags) if info else [],
        "nodes": len(graph_def.node),
        "placeholders": [
            {"name": n.name, "op": n.op, "dtype": _dtype_name(n), "shape": _declared_shape(n)} for n in placeholders
        ],
        "likely_outputs": likely_outputs(graph_def),
        "variables": _variables(meta, graph_def),
        "collections": _collections(meta),
        "saver": json_format.MessageToDict(meta.saver_def, preserving_proto_field_name=True) if has_saver else None,
        "devices": dict(sorted(Counter(n.device for n in graph_def.node if n.device).items())),
        "functions": [f.signature.name for f in graph_def.library.function],
        "op_types": dict(sorted(ops.items())),
        "unsupported_op_types": sorted(t for t in ops if not implemented(t)),
    }


def run(args) -> int:
    meta, graph_def = load_graph(args.path)
    summary = summarize(meta, graph_def)
    if args.json:
        print_json(summary)
        return EXIT_OK
    _print_summary(summary)
    return EXIT_OK


def _table(title: str, rows: list[list], empty: str = "(none)") -> None:
    print(f"\n{title} ({len(rows)})" if rows else f"\n{title}: {empty}")
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))] if rows else []
    for row in rows:
        print("  " + "  ".join(f"{v!s:{w}}" for v, w in zip(row, widths, strict=True)).rstrip())


def _print_summary(s: dict) -> None:
    version = f"TensorFlow {s['tensorflow_version']}, " if s["tensorflow_version"] else ""
    print(f"{version}{s['nodes']} nodes")
    _table("placeholders", [[p["name"], p["dtype"], _shape_text(p["shape"])] for p in s["placeholders"]])
    _table("likely outputs", [[o["name"], o["op"], "(no outputs: run it as a target)" if o["op"] == "NoOp"
                                else _shape_text(o["shape"])]
                               for o in s["likely_outputs"]])  # fmt: skip
    _table("variables", [[v["name"], v["dtype"], _shape_text(v["shape"]), ", ".join(v["collections"])]
                         for v in s["variables"]])  # fmt: skip
    _table("collections", [[c["key"], c["kind"], c["count"], _abbreviate(c["values"])] for c in s["collections"]])
    saver = s["saver"]
    print("\nsaver: " + (f"{saver.get('version', 'LEGACY')}, restore {saver.get('restore_op_name')}, "
                         f"filename {saver.get('filename_tensor_name')}, save {saver.get('save_tensor_name')}, "
                         f"max_to_keep {saver.get('max_to_keep', 0)}, sharded {saver.get('sharded', False)}"
                         if saver else "(none)"))  # fmt: skip
    print("devices: " + (", ".join(f"{d} ({n} ops)" for d, n in s["devices"].items()) or "(none: placed at run time)"))
    if s["functions"]:
        print("functions: " + ", ".join(s["functions"]))
    print(f"\nop types ({len(s['op_types'])}): " + ", ".join(f"{t} x{n}" for t, n in s["op_types"].items()))
    unsupported = s["unsupported_op_types"]
    print(f"not implemented in nanotf ({len(unsupported)}): {', '.join(unsupported)}" if unsupported
          else "every op type is implemented in nanotf")  # fmt: skip


def _shape_text(shape: list[int] | None) -> str:
    """``[-1, 4]`` as ``[?, 4]``; an unknown rank as ``<unknown>``."""
    return "<unknown>" if shape is None else "[" + ", ".join("?" if d < 0 else str(d) for d in shape) + "]"


def _abbreviate(values: list, limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"

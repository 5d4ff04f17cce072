"""``nanotf freeze META CKPT --outputs a,b -o frozen.pb``: a graph with its variables baked in.

What TensorFlow's ``freeze_graph`` does, without TensorFlow: import the meta
graph (devices cleared), restore the checkpoint into a session, keep only what
the outputs need with every variable turned into a constant holding its
restored value (``convert_variables_to_constants``), and write the GraphDef:
binary, or text if the output name ends in ``.pbtxt``. The frozen graph needs
no checkpoint; its remaining placeholders are its inputs.
"""

from __future__ import annotations

import difflib
import glob
import os

from google.protobuf import text_format

from ..errors import NotFoundError
from ..formats.atomic import write_atomic_bytes
from ..framework.graph import Graph
from ..runtime.session import Session
from ..train.graph_util import convert_variables_to_constants
from ..train.saver import import_meta_graph
from .cmd_meta import likely_outputs
from .common import EXIT_OK, UsageError, checkpoint_prefix, print_json
from .graph_files import PLACEHOLDER_OPS, VARIABLE_OPS, load_graph, node_name
from .progress import Progress, format_bytes

NAME = "freeze"
HELP = "freeze a meta graph and checkpoint into one GraphDef of constants"
TEXT_SUFFIX = ".pbtxt"


def add_arguments(parser) -> None:
    parser.add_argument("meta", help="the .meta file (or a checkpoint prefix whose .meta to use)")
    parser.add_argument("ckpt", help="the checkpoint to restore (directory, prefix or file)")
    parser.add_argument("--outputs", metavar="A,B", help="comma-separated names of the ops to keep (required)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the GraphDef to write (.pb, or .pbtxt for text)")  # fmt: skip


def _outputs(args, graph_def) -> list[str]:
    names = [node_name(o.strip()) for o in (args.outputs or "").split(",") if o.strip()]
    if not names:
        guesses = ", ".join(o["name"] for o in likely_outputs(graph_def)) or "none found"
        raise UsageError(f"--outputs is required (likely outputs of this graph: {guesses})")
    known = {n.name for n in graph_def.node}
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise NotFoundError(f"no op {name} in {args.meta}{hint}")
    return names


def freeze(meta, prefix: str, outputs: list[str]):
    """The frozen GraphDef of ``meta`` (a MetaGraphDef) with the values of checkpoint ``prefix``."""
    graph = Graph()
    with graph.as_default():
        saver = import_meta_graph(meta, clear_devices=True)
        with Session(graph=graph) as sess:
            if saver is not None:
                saver.restore(sess, prefix)
            return convert_variables_to_constants(sess, graph.as_graph_def(), outputs)


def run(args) -> int:
    meta, graph_def = load_graph(args.meta)
    if meta is None:
        raise UsageError(f"{args.meta} is a bare GraphDef; freezing needs the .meta (MetaGraphDef) with its saver")
    outputs = _outputs(args, graph_def)
    prefix = checkpoint_prefix(args.ckpt)
    files = glob.glob(glob.escape(prefix) + ".*") + glob.glob(glob.escape(prefix))  # V2 files, or V1's one file
    checkpoint_bytes = sum(os.path.getsize(f) for f in files if os.path.isfile(f))
    with Progress(checkpoint_bytes, "freezing") as progress:
        frozen = freeze(meta, prefix, outputs)
        progress.advance(checkpoint_bytes)
    data = (text_format.MessageToString(frozen).encode("utf-8") if args.output.endswith(TEXT_SUFFIX)
            else frozen.SerializeToString(deterministic=True))  # fmt: skip
    write_atomic_bytes(args.output, data)
    kept = {n.name for n in frozen.node}
    variables = [n.name for n in graph_def.node if n.op in VARIABLE_OPS and n.name in kept]
    inputs = [n.name for n in frozen.node if n.op in PLACEHOLDER_OPS]
    if args.json:
        print_json({"output": args.output, "bytes": len(data), "outputs": outputs, "inputs": inputs,
                    "frozen_variables": variables, "nodes": len(kept),
                    "nodes_before": len(graph_def.node)})  # fmt: skip
        return EXIT_OK
    print(f"froze {len(variables)} variables; kept {len(frozen.node)} of {len(graph_def.node)} nodes")
    print(f"inputs: {', '.join(inputs) or '(none)'}; outputs: {', '.join(outputs)}")
    print(f"wrote {args.output} ({format_bytes(len(data))})")
    return EXIT_OK

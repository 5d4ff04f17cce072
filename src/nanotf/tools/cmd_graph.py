"""``nanotf graph FILE -o graph.svg``: draw a graph with Graphviz, name scopes collapsed.

FILE is a ``.meta``, a GraphDef (``.pb`` / ``.pbtxt``) or a checkpoint whose
``.meta`` to draw. The output suffix picks the format: ``.dot`` is the DOT
text itself (no Graphviz needed); ``.svg``, ``.png`` and ``.pdf`` run
Graphviz's ``dot`` program, found on PATH at run time. Without ``-o`` the DOT
text goes to stdout. Scopes start collapsed into boxes; ``--depth N`` expands
scopes nested fewer than N levels deep and ``--expand SCOPE`` expands one.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ..errors import FailedPreconditionError, UnknownError
from ..formats.atomic import write_atomic_bytes
from .common import EXIT_OK, UsageError, print_json
from .graph_dot import to_dot
from .graph_files import graph_path, load_graph

NAME = "graph"
HELP = "draw a .meta / .pb graph as .svg, .png, .pdf or .dot, name scopes collapsed"
RENDERED_FORMATS = ("svg", "png", "pdf")
PNG_DPI = 110


def add_arguments(parser) -> None:
    parser.add_argument("path", help="a .meta, .pb or .pbtxt graph (or a checkpoint with a .meta)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write .svg, .png, .pdf or .dot (default: DOT text to stdout)")  # fmt: skip
    parser.add_argument("--depth", type=int, default=0, metavar="N",
                        help="expand scopes nested fewer than N levels deep (default 0: all collapsed)")  # fmt: skip
    parser.add_argument("--expand", action="append", default=[], metavar="SCOPE",
                        help="expand this scope (repeatable)")  # fmt: skip


def render(dot_text: str, fmt: str, output: str) -> None:
    """Run Graphviz's ``dot`` to write ``output`` in ``fmt``.

    Raises:
        FailedPreconditionError: if ``dot`` is not installed.
        UnknownError: if ``dot`` fails.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise FailedPreconditionError(
            f"writing .{fmt} needs Graphviz's `dot` program, which is not on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz, conda install graphviz) or write .dot"
        )
    options = [f"-Gdpi={PNG_DPI}"] if fmt == "png" else []
    proc = subprocess.run([dot, f"-T{fmt}", *options], input=dot_text.encode("utf-8"), capture_output=True,
                          check=False)  # fmt: skip
    if proc.returncode != 0:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
        raise UnknownError(f"Graphviz dot failed (exit {proc.returncode}): {first}")
    write_atomic_bytes(output, proc.stdout)


def run(args) -> int:
    fmt = None
    if args.output:
        fmt = os.path.splitext(args.output)[1].lower().lstrip(".")
        if fmt not in RENDERED_FORMATS + ("dot", "gv"):
            raise UsageError(f"cannot tell the format of {args.output}: use .svg, .png, .pdf or .dot")
    if args.depth < 0:
        raise UsageError("--depth must be 0 or more")
    path = graph_path(args.path)
    _, graph_def = load_graph(path)
    dot_text, counts = to_dot(graph_def, args.depth, args.expand, title=os.path.basename(path))
    if fmt in RENDERED_FORMATS:
        render(dot_text, fmt, args.output)
    elif fmt is not None:
        write_atomic_bytes(args.output, dot_text.encode("utf-8"))
    if args.json:
        print_json({"source": path, "output": args.output, "nodes": len(graph_def.node), **counts,
                    **({} if args.output else {"dot": dot_text})})  # fmt: skip
    elif args.output:
        print(f"wrote {args.output}: {counts['items']} items ({counts['collapsed_scopes']} collapsed scopes) "
              f"for {len(graph_def.node)} ops, {counts['edges']} edges")  # fmt: skip
    else:
        print(dot_text, end="")
    return EXIT_OK

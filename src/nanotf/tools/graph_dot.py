"""A GraphDef as Graphviz DOT text, name scopes collapsed into boxes.

Every name scope (``save``, ``gradients``, ``dense``) nested ``depth`` or more
levels deep and not named in ``expand`` is drawn as one box standing for all
its ops; expanded scopes become clusters holding their ops and sub-scopes. An
op named like a scope (the variable ``bias`` of ``bias/read``, ``bias/Assign``)
belongs to that scope, and a collapsed scope whose op is a variable or a
placeholder is drawn as one. Edges between the drawn items are deduplicated:
one arrow per pair, solid if any data flows, dashed if only control
dependencies do. Placeholders, variables, constants, ops and collapsed scopes
each have a shape and colour of their own.
"""

from __future__ import annotations

import difflib
from collections import defaultdict

from ..errors import NotFoundError
from .graph_files import PLACEHOLDER_OPS, VARIABLE_OPS, node_name

# DOT attributes per kind of drawn item.
STYLES = {
    "placeholder": 'shape=invhouse, style=filled, fillcolor="#b9e4b4", color="#3d8b37"',
    "variable": 'shape=cylinder, style=filled, fillcolor="#ffd59a", color="#c27c0e"',
    "const": 'shape=box, style=filled, fillcolor="#eeeeee", color="#999999", fontsize=8',
    "op": 'shape=ellipse, style=filled, fillcolor="#ffffff", color="#555555"',
    "scope": 'shape=box3d, style=filled, fillcolor="#cfe0f5", color="#3b6ea8"',
}
CLUSTER_STYLE = 'style="rounded,dashed"; color="#3b6ea8"; fontname=Helvetica; fontsize=10;'


def _quote(*lines: str) -> str:
    """A DOT string of ``lines`` joined by DOT's line break."""
    return '"' + "\\n".join(text.replace("\\", "\\\\").replace('"', '\\"') for text in lines) + '"'


def _kind(op: str) -> str:
    if op in PLACEHOLDER_OPS:
        return "placeholder"
    if op in VARIABLE_OPS:
        return "variable"
    return "const" if op == "Const" else "op"


def _prefixes(name: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b", "a/b/c"]``."""
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


class ScopeLayout:
    """Which drawn item, ``("op", name)`` or ``("scope", name)``, stands for each op of a GraphDef.

    Args:
        graph_def: the graph.
        depth: scopes nested fewer than ``depth`` levels deep are expanded
            (0: every top-level scope is collapsed).
        expand: scopes to expand as well (with their enclosing scopes).
    """

    def __init__(self, graph_def, depth: int = 0, expand=()):
        self.ops = {n.name: n.op for n in graph_def.node}
        self.scopes = {scope for name in self.ops for scope in _prefixes(name)[:-1]}
        wanted = set()
        for scope in (e.strip("/") for e in expand):
            if scope not in self.scopes:
                close = difflib.get_close_matches(scope, sorted(self.scopes), n=3, cutoff=0.5)
                hint = f"; closest: {', '.join(close)}" if close else ""
                raise NotFoundError(f"--expand {scope}: no such name scope{hint}")
            wanted.update(_prefixes(scope))
        self.expanded = {s for s in self.scopes if s.count("/") < depth or s in wanted}
        self.owner = {name: self._owner(name) for name in self.ops}
        self.members: dict[tuple[str, str], list[str]] = defaultdict(list)
        for name, owner in self.owner.items():
            self.members[owner].append(name)

    def enclosing(self, name: str) -> list[str]:
        """The scopes ``name`` belongs to, outermost first (itself too if it is a scope)."""
        return [p for p in _prefixes(name) if p in self.scopes]

    def _owner(self, name: str) -> tuple[str, str]:
        for scope in self.enclosing(name):
            if scope not in self.expanded:
                return ("scope", scope)
        return ("op", name)

    def container(self, kind: str, name: str) -> str | None:
        """The innermost expanded scope an item is drawn in; None for the top level."""
        inside = [s for s in self.enclosing(name) if s in self.expanded and (kind == "op" or s != name)]
        return inside[-1] if inside else None


def to_dot(graph_def, depth: int = 0, expand=(), title: str | None = None) -> tuple[str, dict]:
    """DOT text drawing ``graph_def`` (see the module docstring).

    Returns:
        ``(dot_text, counts)``: counts of the drawn items, edges and collapsed scopes.
    """
    layout = ScopeLayout(graph_def, depth, expand)
    items = sorted(set(layout.owner.values()), key=lambda item: item[1])
    ids = {item: f"n{i}" for i, item in enumerate(items)}
    edges: dict[tuple, bool] = {}  # (src item, dst item) -> whether data flows
    for node in graph_def.node:
        dst = layout.owner[node.name]
        for text in node.input:
            src = layout.owner.get(node_name(text))
            if src is not None and src != dst:
                edges[(src, dst)] = edges.get((src, dst), False) or not text.startswith("^")
    contents: dict[str | None, list] = defaultdict(list)  # container -> items and sub-clusters
    for item in items:
        contents[layout.container(*item)].append(("item", item))
    for scope in sorted(layout.expanded):
        contents[layout.container("scope", scope)].append(("cluster", scope))
    lines = ["digraph nanotf {", "  rankdir=TB; nodesep=0.25; ranksep=0.35;",
             "  node [fontname=Helvetica, fontsize=10, height=0.3];",
             '  edge [color="#555555", arrowsize=0.6];']  # fmt: skip
    if title:
        lines.append(f"  labelloc=t; fontname=Helvetica; fontsize=12; label={_quote(title)};")
    _emit(None, layout, contents, ids, lines, "  ")
    for (src, dst), data in sorted(edges.items(), key=lambda e: (e[0][0][1], e[0][1][1])):
        lines.append(f"  {ids[src]} -> {ids[dst]}" + ("" if data else " [style=dashed]") + ";")
    lines.append("}")
    counts = {"items": len(items), "edges": len(edges), "collapsed_scopes": sum(k == "scope" for k, _ in items)}
    return "\n".join(lines) + "\n", counts


def _emit(scope, layout: ScopeLayout, contents, ids, lines: list[str], indent: str) -> None:
    for kind, value in contents.get(scope, []):
        if kind == "item":
            lines.append(f"{indent}{ids[value]} [{_attributes(value, layout)}];")
            continue
        lines.append(f"{indent}subgraph {_quote('cluster_' + value)} {{")
        lines.append(f"{indent}  label={_quote(value.rsplit('/', 1)[-1])}; {CLUSTER_STYLE}")
        _emit(value, layout, contents, ids, lines, indent + "  ")
        lines.append(f"{indent}}}")


def _attributes(item: tuple[str, str], layout: ScopeLayout) -> str:
    kind, name = item
    short = name.rsplit("/", 1)[-1]
    if kind == "op":
        op = layout.ops[name]
        label = _quote(short) if short == op else _quote(short, op)
        return f"label={label}, tooltip={_quote(name)}, {STYLES[_kind(op)]}"
    members = layout.members[item]
    anchor = layout.ops.get(name)
    if anchor in VARIABLE_OPS or anchor in PLACEHOLDER_OPS:  # e.g. a variable with its read and assign ops
        detail, style = f"{anchor}, {len(members)} ops", STYLES[_kind(anchor)]
    else:
        variables = sum(layout.ops[m] in VARIABLE_OPS for m in members)
        detail = f"{len(members)} ops" + (f", {variables} variables" if variables else "")
        style = STYLES["scope"]
    return f"label={_quote(short, detail)}, tooltip={_quote(name)}, {style}"

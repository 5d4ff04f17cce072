"""`nanotf graph`: DOT text with collapsed scopes, rendered by Graphviz when it is installed."""

import re
import shutil

import pytest

from cli_helpers import CNN_META, SEED_META, nanotf, run, run_json

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)")


def _items(dot_text):
    """Drawn item id -> its label lines."""
    return {m[0]: m[1].split("\\n") for m in re.findall(r'^\s*(n\d+) \[label="([^"]*)"', dot_text, re.MULTILINE)}


def test_seed_graph_collapses_scopes_and_marks_inputs_and_variables(capsys):
    status, dot_text, _ = run(capsys, "graph", SEED_META)
    assert status == 0 and dot_text.startswith("digraph nanotf {")
    labels = {tuple(v) for v in _items(dot_text).values()}
    assert labels == {("w1", "Placeholder"), ("w2", "Placeholder"), ("Add", "AddV2"), ("op_to_restore", "Mul"),
                      ("init", "NoOp"), ("bias", "VariableV2, 4 ops"), ("save", "12 ops")}  # fmt: skip
    lines = dot_text.splitlines()
    assert any('label="w1\\nPlaceholder"' in line and "shape=invhouse" in line for line in lines)
    assert any('label="bias\\nVariableV2, 4 ops"' in line and "shape=cylinder" in line for line in lines)
    assert any('label="save\\n12 ops"' in line and "shape=box3d" in line for line in lines)
    edges = [line.strip() for line in lines if "->" in line]
    assert len(edges) == len(set(edges)) == 6  # bias feeds 6 save ops: one arrow
    assert sum("style=dashed" in e for e in edges) == 1  # init only waits for bias/Assign


def test_expanding_a_scope_and_depth(capsys):
    dot_text = run_json(capsys, "graph", CNN_META, "--expand", "conv1")["dot"]
    assert 'subgraph "cluster_conv1"' in dot_text and 'label="Conv2D"' in dot_text
    assert 'label="conv2\\n38 ops, 6 variables"' in dot_text
    collapsed = run_json(capsys, "graph", CNN_META)
    deeper = run_json(capsys, "graph", CNN_META, "--depth", "1")
    assert collapsed["collapsed_scopes"] == 11 and deeper["items"] > collapsed["items"]
    status, _, err = run(capsys, "graph", CNN_META, "--expand", "conv3")
    assert status == 1 and "--expand conv3: no such name scope; closest:" in err


@needs_dot
def test_renders_svg_and_png(tmp_path, capsys):
    proc = nanotf("graph", SEED_META, "-o", tmp_path / "seed.svg")
    assert proc.returncode == 0, proc.stderr
    assert "<svg" in (tmp_path / "seed.svg").read_text() and "op_to_restore" in (tmp_path / "seed.svg").read_text()
    status, out, _ = run(capsys, "graph", CNN_META, "-o", tmp_path / "cnn.png", "--expand", "conv1")
    assert status == 0 and out.startswith(f"wrote {tmp_path / 'cnn.png'}: 20 items (12 collapsed scopes) for 235 ops")
    assert (tmp_path / "cnn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_graphviz_svg_fails_clearly_and_dot_still_works(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` anywhere
    status, _, err = run(capsys, "graph", SEED_META, "-o", tmp_path / "seed.svg")
    assert status == 1 and not (tmp_path / "seed.svg").exists()
    assert err.count("\n") == 1 and "FailedPreconditionError" in err and "install Graphviz" in err and "write .dot" in err
    assert run(capsys, "graph", SEED_META, "-o", tmp_path / "seed.dot")[0] == 0
    assert (tmp_path / "seed.dot").read_text().startswith("digraph")


def test_unknown_output_format_is_a_usage_error(tmp_path, capsys):
    status, _, err = run(capsys, "graph", SEED_META, "-o", tmp_path / "seed.jpeg2000")
    assert status == 2 and ".svg, .png, .pdf or .dot" in err

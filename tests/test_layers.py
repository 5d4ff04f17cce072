"""No module imports a higher layer (STYLE.md: dependencies point down).

Checked on the source (every ``import``, including function-level ones),
because importing ``nanotf.<layer>`` runs ``nanotf/__init__.py``, which
re-exports everything.
"""

import ast
from pathlib import Path

import pytest

import nanotf

ROOT = Path(nanotf.__file__).parent
LAYERS = ["formats", "framework", "ops", "runtime", "train", "tools"]


def _imported_modules(path: Path):
    package = "nanotf." + ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # ``from nanotf import errors`` imports nanotf.errors, not the nanotf namespace.
            yield from (f"{module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_does_not_import_higher_layers(layer):
    higher = LAYERS[LAYERS.index(layer) + 1 :] + ["__init__"]
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for module in _imported_modules(path):
            if module == "nanotf" or any(module == f"nanotf.{h}" or module.startswith(f"nanotf.{h}.") for h in higher):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_check_catches_an_upward_import(tmp_path):
    fake = ROOT / "framework" / "graph.py"
    modules = set(_imported_modules(fake))
    assert "nanotf.framework.registry" in modules
    assert not any(m.startswith("nanotf.ops") for m in modules)

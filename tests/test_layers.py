"""Layers point down: no library module imports the CLI; the old engine re-export is gone."""

from __future__ import annotations

import ast
from pathlib import Path

import bsx

SRC = Path(bsx.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_library_module_imports_the_cli() -> None:
    library = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts]
    assert len(library) > 50  # the walk found the package
    offenders = {
        str(p.relative_to(SRC)): sorted(
            n for n in _imports(p) if n == "bsx.cli" or n.startswith("bsx.cli.")
        )
        for p in library
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_engine_module_is_gone() -> None:
    assert not (SRC / "engine.py").exists()
    users = [p for p in SRC.rglob("*.py") if "bsx.engine" in _imports(p)]
    assert users == []

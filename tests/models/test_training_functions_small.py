"""The training modules stay in named steps: no function over 10 parameters or 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import bsx.models.crossval
import bsx.models.recipe
import bsx.models.train


def test_no_training_function_over_10_parameters_or_80_lines() -> None:
    big = []
    for mod in (bsx.models.train, bsx.models.crossval, bsx.models.recipe):
        tree = ast.parse(Path(str(mod.__file__)).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                n += (a.vararg is not None) + (a.kwarg is not None)
                lines = int(node.end_lineno or node.lineno) - node.lineno + 1
                if n > 10 or lines > 80:
                    big.append(f"{mod.__name__}.{node.name}: {n} parameters, {lines} lines")
    assert big == []

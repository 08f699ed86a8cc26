"""House rule (docs/STYLE): no function outside bsx.cli runs over 80 lines or takes more than
10 parameters. Walked with ast, so a new offender fails here with its name and size."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "bsx"
MAX_LINES, MAX_PARAMS = 80, 10

# Being split by other work in progress; each entry is removed when its split lands.
ALLOWED: set[str] = set()


def n_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Named, *args and **kwargs parameters; a method's self or cls does not count."""
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names) + (a.vararg is not None) + (a.kwarg is not None)


def offenders(root: Path = SRC) -> dict[str, tuple[int, int]]:
    """'module:function' -> (lines, parameters) for every function over either limit."""
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("cli/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                params = n_params(node)
                if lines > MAX_LINES or params > MAX_PARAMS:
                    found[f"{rel}:{node.name}"] = (lines, params)
    return found


def test_no_function_outside_cli_is_too_long_or_takes_too_many_parameters() -> None:
    new = {k: v for k, v in offenders().items() if k not in ALLOWED}
    assert not new, "over 80 lines or 10 parameters (lines, params): " + ", ".join(
        f"{k} {v}" for k, v in sorted(new.items()))


def test_the_walker_finds_a_planted_offender(tmp_path: Path) -> None:
    args = ", ".join(f"a{i}" for i in range(11))
    body = "".join(f"    x = {i}\n" for i in range(85))
    (tmp_path / "m.py").write_text(
        f"def wide({args}):\n    pass\n\n"
        f"def long():\n{body}\n"
        "class C:\n    def ok(self, a, b, c, d, e, f, g, h, i, j):\n        pass\n"
    )
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "c.py").write_text(f"def wide({args}):\n    pass\n")
    assert offenders(tmp_path) == {"m.py:wide": (2, 11), "m.py:long": (86, 0)}


if __name__ == "__main__":
    for name, (lines, params) in sorted(offenders().items()):
        print(f"{name}: {lines} lines, {params} parameters")

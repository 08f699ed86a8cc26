"""`bsx plugins list`: every registered unit, built-ins included, and the broken plugins."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from bsx.cli.console import out
from bsx.errors import BsxError
from bsx.plugins import KINDS, get_registry

app = typer.Typer(help="Inspect plugins (datasets, models, methods, cue extractors, metrics).")


@app.command("list")
def list_plugins(
    kind: Annotated[str | None, typer.Option(help=f"Only this kind: {', '.join(KINDS)}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON")] = False,
    show_traceback: Annotated[bool, typer.Option(
        "--traceback", help="Show each broken plugin's traceback (for a report to its "
        "author)")] = False,
) -> None:
    """List registered plugins: name, kind, description, package, version."""
    if kind is not None and kind.lower() not in KINDS:
        raise BsxError(f"no plugin kind '{kind}'; kinds: {', '.join(KINDS)}")
    reg = get_registry()
    specs = reg.all(kind.lower() if kind else None)  # type: ignore[arg-type]
    rows = [
        {"name": s.name, "kind": s.kind, "description": s.description,
         "package": s.dist, "version": s.version}
        for s in specs
    ]
    broken = [{"package": b.dist, "entry_point": b.entry_point, "error": b.error,
               "traceback": b.traceback} for b in reg.broken]
    clashes = [{"kind": k, "name": n, "packages": d} for (k, n), d in reg.clashes.items()]
    if as_json:
        print(json.dumps({"plugins": rows, "broken": broken, "clashes": clashes}, indent=2))
        return
    table = Table(title="bsx plugins")
    for col in ("name", "kind", "description", "package", "version"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], r["description"], r["package"], r["version"])
    out.print(table)
    for b in broken:
        out.print(f"[red]broken plugin {b['package']} ({b['entry_point']}): {b['error']}[/red]",
                  highlight=False)
        if show_traceback and b["traceback"]:
            out.print(b["traceback"].rstrip(), markup=False, highlight=False)
    for (k, n) in reg.clashes:
        out.print(f"[red]name clash: {reg.clash_error(k, n)}[/red]", highlight=False)

"""`bsx data ...`: list, prepare (and synth, attached by bsx.cli.synth)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Datasets: list plugins, prepare spectrogram caches, make the synth corpus.")


def attach(root: typer.Typer) -> None:
    root.add_typer(app, name="data")


@app.command("list")
def list_datasets() -> None:
    """List the dataset plugins: name, description, package."""
    from rich.table import Table

    from bsx.cli.console import out
    from bsx.plugins import get_registry

    table = Table(title="bsx datasets")
    for col in ("name", "description", "package"):
        table.add_column(col)
    for spec in get_registry().all("dataset"):
        table.add_row(spec.name, spec.description, spec.dist)
    out.print(table)


@app.command("prepare")
def prepare(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset plugin name (bsx data list)")],
    data_root: Annotated[
        Path | None, typer.Option("--data-root", help="Folder holding the corpus as downloaded")
    ] = None,
    frontend: Annotated[
        str, typer.Option("--frontend", help="Front-end preset (paper, paper-tess-train, ...)")
    ] = "paper",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes")] = 2,
    emotions: Annotated[
        str | None, typer.Option("--emotions", help="Comma-separated subset, e.g. angry,sad")
    ] = None,
    cache: Annotated[
        Path | None, typer.Option("--cache", help="Cache folder (default: the bsx cache)")
    ] = None,
) -> None:
    """Compute every clip's spectrogram once into the cache (reused while nothing changed)."""
    from rich.table import Table

    from bsx.audio import get_frontend
    from bsx.cli.console import err, out
    from bsx.datasets.cache import prepare_many
    from bsx.paths import cache_dir
    from bsx.plugins import build

    fe = get_frontend(frontend)
    options: dict[str, Any] = {}
    if data_root is not None:
        options["data_root"] = data_root
    if emotions is not None:
        options["emotions"] = emotions
    ds = build("dataset", dataset, options=options)
    clips = ds.clips()
    for _path, why in getattr(ds, "skipped", []):
        err.print(f"[yellow]skipped[/yellow] {why}", highlight=False, soft_wrap=True)
    ignored = getattr(ds, "ignored", [])
    if ignored:
        kinds = sorted({why for _, why in ignored})
        err.print(f"left out {len(ignored)} file(s) on purpose: {'; '.join(kinds)}",
                  highlight=False, soft_wrap=True)
    where = cache if cache is not None else cache_dir("prepared", fe.digest())
    results, skipped = prepare_many(clips, fe, workers=workers, cache=where)
    for s in skipped:
        err.print(f"[yellow]skipped[/yellow] {s.reason}", highlight=False, soft_wrap=True)
    table = Table(title=f"{dataset}: prepared through '{fe.name}' ({fe.digest()})")
    for col in ("clips", "prepared", "skipped (audio)", "skipped (name)", "cache"):
        table.add_column(col)
    table.add_row(
        str(len(clips)), str(sum(r is not None for r in results)), str(len(skipped)),
        str(len(getattr(ds, "skipped", []))), str(where),
    )
    out.print(table)

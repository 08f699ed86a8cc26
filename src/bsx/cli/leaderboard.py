"""`bsx leaderboard {run,show,check}`: grids of evaluate runs, ranked tables, CI checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bsx.cli.console import err, out
from bsx.errors import BsxError

app = typer.Typer(help="Compare explanation methods across datasets and models; check in CI.",
                  no_args_is_help=True)


@app.command("run")
def run(
    config: Annotated[Path, typer.Argument(help="Leaderboard TOML file")],
    out_dir: Annotated[Path, typer.Option("--out", help="Leaderboard folder (store, cells)")]
    = Path("bsx-leaderboard"),
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    workers: Annotated[int, typer.Option(help="Cells at once (processes or Ray CPUs)")] = 2,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Evaluate every cell of the grid; cells done before with the same inputs are reused."""
    from bsx.leaderboard.run import run_leaderboard
    from bsx.leaderboard.show import from_store, to_rich

    report = run_leaderboard(config, out_dir, executor=executor, workers=workers,
                             progress=progress)
    from bsx.leaderboard.store import Store

    with Store(report.store) as store:
        table = from_store(store, report.run_id)
    if not table.empty:
        out.print(to_rich(table))
    out.print(f"run {report.run_id}: {len(report.computed)} cells computed, "
              f"{len(report.cached)} reused; store {report.store}")
    for line in dict.fromkeys(f"{c.dataset} / {c.model} / {c.method}: {w}"
                              for c, w in report.warnings):
        err.print(f"[yellow]warning:[/yellow] {line}", highlight=False, soft_wrap=True)
    for cell, msg in report.failed:
        err.print(f"[red]failed[/red] {cell.dataset} / {cell.model} / {cell.method} "
                  f"({cell.hash}): {msg}", highlight=False, soft_wrap=True)
    if report.failed:
        err.print("run the same command again to retry the failed cells")
        raise typer.Exit(1)


def _store_path(out_dir: Path | None, store: Path | None) -> Path:
    from bsx.leaderboard.config import STORE_NAME

    path = store if store is not None else (out_dir or Path("bsx-leaderboard")) / STORE_NAME
    if path.is_dir() and store is not None:
        raise BsxError(f"{path}: is a folder, not a leaderboard store; pass --out {path} or "
                       f"--store {path / STORE_NAME}")
    if not path.is_file():
        raise BsxError(f"{path}: no leaderboard store; run `bsx leaderboard run CONFIG --out "
                       "DIR` first, or pass --store FILE")
    return path


@app.command("show")
def show(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Leaderboard folder")] = None,
    store: Annotated[Path | None, typer.Option(help="A leaderboard.sqlite store")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: newest)")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="rich | markdown | html | csv | json")]
    = "rich",
    output: Annotated[Path | None, typer.Option(help="Write the table to this file")] = None,
    figure: Annotated[Path | None, typer.Option(help="Heatmap PNG (default: beside store)")]
    = None,
) -> None:
    """Methods ranked per metric (direction honoured), mean and 95% CI, random baseline shown."""
    from bsx.leaderboard.show import FORMATS, from_store, heatmap, render, to_rich
    from bsx.leaderboard.store import Store

    if fmt not in FORMATS:
        raise BsxError(f"--format '{fmt}' is not one of: {', '.join(FORMATS)}")
    path = _store_path(out_dir, store)
    with Store(path) as st:
        if st.latest_run() is None:
            raise BsxError(f"{path}: holds no leaderboard run yet; run `bsx leaderboard run "
                           "CONFIG --out DIR` first")
        if run_id is not None and run_id not in set(st.runs()["run_id"]):
            raise BsxError(f"{path}: no run '{run_id}'")
        table = from_store(st, run_id)
    if table.empty:
        raise BsxError(f"{path}: the run holds no finished cells yet")
    if fmt == "rich":
        out.print(to_rich(table))
    else:
        text = render(table, fmt)
        if output is None:
            print(text, end="")
    if output is not None:
        output.write_text(render(table, "markdown" if fmt == "rich" else fmt))
        err.print(f"table written to {output}")
    png = heatmap(table, figure or path.parent / "leaderboard.png")
    err.print(f"figure written to {png}")


@app.command("check")
def check(
    baseline: Annotated[Path, typer.Option(help="Baseline: CSV/JSON from `show`, or a store")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Leaderboard folder")] = None,
    store: Annotated[Path | None, typer.Option(help="A leaderboard.sqlite store")] = None,
    tolerance: Annotated[list[str] | None, typer.Option(
        help="Allowed worsening: a number (all metrics) or METRIC=NUMBER; repeatable")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every score, not only failures")]
    = False,
) -> None:
    """Exit 1 with a table when a score got worse than the baseline beyond its tolerance."""
    from bsx.leaderboard.check import compare, failures, load_table, parse_tolerances, to_rich

    default, overrides = parse_tolerances(tolerance)
    current = load_table(_store_path(out_dir, store))
    diff = compare(current, load_table(baseline), default, overrides)
    bad = failures(diff)
    if show_all:
        out.print(to_rich(diff, "all scores against the baseline"))
    if not bad.empty:
        out.print(to_rich(bad, f"{len(bad)} score(s) regressed beyond tolerance "
                               f"(default {default})"))
        raise typer.Exit(1)
    n_new = int((diff["status"] == "new").sum()) if not diff.empty else 0
    out.print(f"no regressions: {len(diff) - n_new} scores within tolerance of the baseline"
              + (f", {n_new} new" if n_new else ""))


def attach(parent: typer.Typer) -> None:
    parent.add_typer(app, name="leaderboard")

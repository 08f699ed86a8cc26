"""`bsx data ...`: list, prepare (and synth, attached by bsx.cli.synth)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Datasets: list plugins, prepare spectrogram caches, make the synth corpus.")


def attach(root: typer.Typer) -> None:
    root.add_typer(app, name="data")

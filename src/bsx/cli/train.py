"""`bsx train`: the paper's recipe on a dataset plugin, with a report on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bsx.cli.common import parse_options


def train(
    dataset: Annotated[str, typer.Option(help="Dataset plugin (bsx plugins list --kind dataset)")]
    = "synth",
    data_root: Annotated[Path | None, typer.Option(help="The corpus folder")] = None,
    model: Annotated[str, typer.Option(help="Model plugin: resnet-small, crnn, ...")]
    = "resnet-small",
    model_option: Annotated[list[str] | None, typer.Option(
        "--model-option", help="Model option KEY=VALUE (repeatable)")] = None,
    dataset_option: Annotated[list[str] | None, typer.Option(
        "--dataset-option", help="Dataset option KEY=VALUE (repeatable)")] = None,
    frontend: Annotated[str, typer.Option(help="Front-end preset (stored with the model)")]
    = "paper",
    split_mode: Annotated[str, typer.Option(help="speaker (no speaker in two splits) or random")]
    = "speaker",
    split_seed: Annotated[int, typer.Option(help="Seed of the split")] = 42,
    epochs: Annotated[int, typer.Option(help="Most epochs")] = 50,
    batch_size: Annotated[int, typer.Option(help="Batch size")] = 32,
    lr: Annotated[float, typer.Option(help="AdamW learning rate")] = 3e-4,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay")] = 1e-4,
    patience: Annotated[int, typer.Option(help="Early stopping on val accuracy")] = 7,
    seed: Annotated[int, typer.Option(help="Training seed (deterministic on the CPU)")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder [runs/train-DATASET-MODEL]")]
    = None,
    resume: Annotated[bool, typer.Option(help="Continue from out/last.pt")] = False,
    workers: Annotated[int, typer.Option(help="Processes preparing spectrograms")] = 2,
    quiet: Annotated[bool, typer.Option(help="No progress bars")] = False,
) -> None:
    """Train a model; write model.pt + model.json, report.json and confusion.png under --out."""
    from bsx.cli.console import err
    from bsx.cli.console import out as console
    from bsx.models.train import report_table, train_dataset

    folder = out or Path("runs") / f"train-{dataset}-{model}"
    run = train_dataset(
        dataset, out=folder, data_root=data_root,
        dataset_options=parse_options(dataset_option, "dataset option"),
        model=model, model_options=parse_options(model_option, "model option"),
        frontend=frontend, split_mode=split_mode, split_seed=split_seed, epochs=epochs,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience, seed=seed,
        device=device, resume=resume, workers=workers, progress=not quiet,
    )
    rep = run.report
    if rep["skipped"]:
        err.print(f"skipped {len(rep['skipped'])} unreadable clip(s); see report.json")
    console.print(report_table(rep["test"], title=f"{dataset} test split, {model}"))
    console.print(
        f"best epoch {rep['train']['best_epoch']} of {rep['train']['epochs_run']}; "
        f"checkpoint {run.checkpoint}; report {folder / 'report.json'}"
    )


def attach(app: typer.Typer) -> None:
    app.command("train")(train)

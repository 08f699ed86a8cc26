"""`bsx train`: the paper's recipe on a dataset plugin, with a report on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bsx.cli.common import parse_options

if TYPE_CHECKING:
    from bsx.models.recipe import TrainConfig
    from bsx.models.train import Corpus


def train(
    dataset: Annotated[str, typer.Option(help="Dataset plugin (bsx plugins list --kind dataset)")]
    = "synth",
    data_root: Annotated[Path | None, typer.Option(help="The corpus folder")] = None,
    model: Annotated[str | None, typer.Option(
        help="Model plugin: resnet-small, cnn, crnn, hf-probe, ... [resnet-small; cnn with --cv]")]
    = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="With --model hf-probe: the encoder's save_pretrained directory")] = None,
    model_option: Annotated[list[str] | None, typer.Option(
        "--model-option", help="Model option KEY=VALUE (repeatable)")] = None,
    dataset_option: Annotated[list[str] | None, typer.Option(
        "--dataset-option", help="Dataset option KEY=VALUE (repeatable)")] = None,
    frontend: Annotated[str | None, typer.Option(
        help="Front-end preset (stored with the model) [paper; paper-whole with --cv]")] = None,
    split_mode: Annotated[str, typer.Option(help="speaker (no speaker in two splits) or random")]
    = "speaker",
    split_seed: Annotated[int, typer.Option(help="Seed of the split")] = 42,
    epochs: Annotated[int | None, typer.Option(
        help="Epochs (the most, with --select best) [50; 60 with --cv]")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size")] = 32,
    lr: Annotated[float | None, typer.Option(
        help="AdamW learning rate [3e-4; 1e-3 with --cv]")] = None,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay")] = 1e-4,
    patience: Annotated[int | None, typer.Option(
        help="Early stopping patience in epochs [7; 10 with --cv]")] = None,
    seed: Annotated[int, typer.Option(help="Training seed (deterministic on the CPU)")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    out: Annotated[Path | None, typer.Option(help="Output folder [runs/train-DATASET-MODEL]")]
    = None,
    resume: Annotated[bool, typer.Option(help="Continue from out/last.pt")] = False,
    workers: Annotated[int, typer.Option(help="Processes preparing spectrograms")] = 2,
    quiet: Annotated[bool, typer.Option(help="No progress bars")] = False,
    cv: Annotated[str | None, typer.Option(
        help="Cross-validation: loso (leave one speaker out; val = the next speaker)")] = None,
    folds: Annotated[str | None, typer.Option(
        help="With --cv: only these test speakers (comma-separated)")] = None,
    class_weight: Annotated[str | None, typer.Option(
        help="none or balanced (loss weights n/(C*n_c)) [none; balanced with --cv]")] = None,
    augment: Annotated[bool | None, typer.Option(
        "--augment/--no-augment",
        help="Noise, time shift, SpecAugment masks [off; on with --cv]")] = None,
    monitor: Annotated[str | None, typer.Option(
        help="Best epoch by val accuracy or uar [accuracy; uar with --cv]")] = None,
    select: Annotated[str | None, typer.Option(
        help="best (the best --monitor epoch on the val clips, early stopping) or last (all "
             "--epochs, the final weights; with --cv the val speaker trains too) "
             "[best; last with --cv]")] = None,
    augment_option: Annotated[list[str] | None, typer.Option(
        "--augment-option", help="Augmentation setting KEY=VALUE, e.g. mixup=0.4, warp=0.1 "
        "(repeatable; on top of the recipe's augmentation, which it turns on)")] = None,
    lr_schedule: Annotated[str | None, typer.Option(
        help="constant or cosine (decay to 0 over --epochs) [constant; cosine with --cv]")]
    = None,
    ema: Annotated[float | None, typer.Option(
        help="Validate and keep an EMA of the weights (decay per step; 0 turns it off) "
             "[off; 0.98 with --cv]")] = None,
    seeds: Annotated[str | None, typer.Option(
        help="Train once per seed (e.g. 0,1,2) into --out/seed-<s>/ (overrides --seed)")] = None,
) -> None:
    """Train a model; write model.pt + model.json, report.json and confusion.png under --out.

    --cv loso: leave-one-speaker-out cross-validation; one model per fold under
    --out/fold-<speaker>/, the report in cv.json, cv.csv and a table (UAR per fold, mean, 95% CI).
    """
    from bsx.models.recipe import TrainConfig

    model_options = parse_options(model_option, "model option")
    if checkpoint is not None:
        if (model or "").strip().lower() != "hf-probe":
            from bsx.errors import BsxError

            raise BsxError(f"--checkpoint {checkpoint}: only --model hf-probe takes an encoder "
                           "directory; continue a run with --resume")
        model_options["checkpoint"] = str(checkpoint)
    given: dict[str, Any] = {
        "model": model, "model_options": model_options,
        "frontend": frontend, "split_mode": split_mode, "split_seed": split_seed,
        "epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
        "patience": patience, "seed": seed, "device": device, "class_weight": class_weight,
        "monitor": monitor, "select": select, "lr_schedule": lr_schedule,
        "ema": None if ema is None else ema or "off",
        "cv": cv.strip().lower() if cv is not None else None,
        "folds": tuple(f.strip() for f in folds.split(",") if f.strip()) if folds else None,
    }
    given = {k: v for k, v in given.items() if v is not None}  # None: the recipe's default
    if given.get("ema") == "off":
        given["ema"] = None
    if augment is not None:
        from bsx.models.augment import AugmentOptions

        given["augment"] = AugmentOptions() if augment else None
    config = TrainConfig.loso(**given) if cv is not None else TrainConfig(**given)
    if augment_option:
        config = _with_augment(config, parse_options(augment_option, "augment option"))
    seed_list = _seeds(seeds) if seeds else [config.seed]
    base = out or Path("runs") / f"train-{dataset}-{config.model}{'-loso' if config.cv else ''}"
    from bsx.models.train import Corpus

    corpus = Corpus(dataset, data_root=data_root, workers=workers,
                    options=parse_options(dataset_option, "dataset option"))
    run = {"resume": resume, "progress": not quiet}
    for s in seed_list:
        folder = base / f"seed-{s}" if seeds else base
        if config.cv:
            _train_cv(corpus, config.replace(seed=s), folder, run)
        else:
            _train_one(corpus, config.replace(seed=s), folder, run)


def _with_augment(config: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    """The recipe with these augmentation settings over its own (or the defaults)."""
    from bsx.models.augment import AugmentOptions

    base = config.augment.model_dump() if config.augment is not None else {}
    return config.replace(augment={**AugmentOptions().model_dump(), **base, **changes})


def _seeds(text: str) -> list[int]:
    from bsx.errors import BsxError

    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BsxError(f"--seeds '{text}': give comma-separated integers, e.g. 0,1,2") from None
    if not out or len(set(out)) < len(out):
        raise BsxError(f"--seeds '{text}': give distinct comma-separated integers, e.g. 0,1,2")
    return out


def _train_cv(corpus: Corpus, config: TrainConfig, folder: Path, run: dict[str, bool]) -> None:
    from bsx.cli.console import out as console
    from bsx.models.crossval import cross_validate, cv_table

    rep = cross_validate(corpus, config, out=folder, **run)
    console.print(cv_table(rep))
    console.print(f"report {folder / 'cv.json'}, {folder / 'cv.csv'}; "
                  f"one model per fold under {folder}/fold-<speaker>/")


def _train_one(corpus: Corpus, config: TrainConfig, folder: Path, opts: dict[str, bool]) -> None:
    from bsx.cli.console import err
    from bsx.cli.console import out as console
    from bsx.models.train import report_table, train_dataset

    run = train_dataset(corpus, config, out=folder, **opts)
    rep = run.report
    if rep["skipped"]:
        err.print(f"skipped {len(rep['skipped'])} unreadable clip(s); see report.json")
    console.print(report_table(rep["test"], title=f"{corpus.dataset} test split, {config.model}"))
    console.print(
        f"best epoch {rep['train']['best_epoch']} of {rep['train']['epochs_run']}; "
        f"checkpoint {run.checkpoint}; report {folder / 'report.json'}"
    )


def attach(app: typer.Typer) -> None:
    app.command("train")(train)

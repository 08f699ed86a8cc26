"""Seed reliability in the evaluate pass: the same model trained with other seeds explains the
same clips, and each clip's maps and salient windows are compared with the main model's.

The other models are loaded once per run (on the run's device) and each method is built on
each of them with the run's method options. They are fed the main model's input units and
explain the main model's target class, so every map of a clip explains one class of one
input; maps are stitched and windowed exactly as the main model's (evaluation/attribute.py,
evaluation/salient.py, the method's sign rule). Per clip, bsx.scoring.reliability
.seed_agreement gives the mean over all model pairs (main included) of the maps' rank
correlation (over the clip's content frames, not the padding) and of the window IoU
(seconds on the original file).

One exception to "the same options": a method whose options carry a `seed` (random) draws
with seed + k on the k-th other model. Its noise ignores the model, so with one seed every
model would get the same map and random would score a perfect 1; drawn independently, it is
the chance floor of both scores (rank correlation ~0; the IoU of unrelated windows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bsx.errors import BsxError
from bsx.evaluation.config import EvalConfig

SEED_METRICS = ("seed-rank-correlation", "seed-window-iou")


def _main_checkpoint(cfg: EvalConfig) -> Path:
    from bsx.paths import DEFAULT_MODEL_FILE

    return Path(cfg.checkpoint).expanduser() if cfg.checkpoint is not None else DEFAULT_MODEL_FILE


def _seed_number(folder: Path) -> tuple[int, str]:
    tail = folder.name.removeprefix("seed-")
    return (int(tail), "") if tail.lstrip("-").isdigit() else (1 << 62, tail)


def seed_paths(cfg: EvalConfig) -> list[Path]:
    """The other seeds' checkpoints of a run, main checkpoint left out (torch-free, so a bad
    path fails before anything starts). A folder holding seed-*/model.pt (the --out of
    `bsx train --seeds`) stands for every seed in it; any other folder is one checkpoint (a
    save_pretrained directory, as --checkpoint reads it). [] without seed checkpoints."""
    if cfg.seed_checkpoints is None:
        return []
    found: list[Path] = []
    for given in cfg.seed_checkpoints:
        p = Path(given).expanduser()
        if p.is_dir():
            seeds = sorted((d for d in p.glob("seed-*") if (d / "model.pt").is_file()),
                           key=_seed_number)
            found += [d / "model.pt" for d in seeds] if seeds else [p]
        elif p.is_file():
            found.append(p)
        else:
            raise BsxError(f"--seed-checkpoints: {p}: no such checkpoint file or folder; give "
                           "checkpoint files or the --out folder of `bsx train --seeds`")
    main = _main_checkpoint(cfg).resolve()
    others = list(dict.fromkeys(p for p in found if p.resolve() != main))
    if not others:
        raise BsxError(f"--seed-checkpoints names only the main checkpoint ({main}); give at "
                       "least one checkpoint of the same model trained with another seed")
    return others


def with_seed_metrics(cfg: EvalConfig, metrics: list[str]) -> list[str]:
    """The run's metrics with the seed metrics added when seed checkpoints are given; a seed
    metric asked for without them is refused (there is nothing to compare)."""
    if cfg.seed_checkpoints is None:
        wanted = [m for m in metrics if m in SEED_METRICS]
        if wanted:
            raise BsxError(f"metric '{wanted[0]}' compares models trained with other seeds; "
                           "give them with --seed-checkpoints")
        return metrics
    return [*metrics, *(m for m in SEED_METRICS if m not in metrics)]


@dataclass
class SeedModels:
    """The other seeds' networks and, per method name, the method built on each of them."""

    paths: list[Path]
    nets: list[Any]
    methods: dict[str, list[Any]] = field(default_factory=dict)


def _own_frontend(loaded: Any) -> Any:
    """The front-end a model was trained through (its sidecar's), else the one it runs with."""
    from bsx.audio import get_frontend

    fe = loaded.meta.get("frontend") if isinstance(loaded.meta, dict) else None
    return get_frontend(dict(fe)) if isinstance(fe, dict) else loaded.frontend


def _frontend_difference(a: Any, b: Any) -> str | None:
    """The first parameter in which two front-ends differ, as words; None when equal (the
    name alone does not count)."""
    da, db = a.model_dump(exclude={"name"}), b.model_dump(exclude={"name"})
    for key in sorted(set(da) | set(db)):
        if da.get(key) != db.get(key):
            return f"{key} {da.get(key)!r} where the main model has {db.get(key)!r}"
    return None


def check_seed_model(path: Path, seed: Any, main: Any) -> None:
    """A seed model must read the same input, predict the same labels and have been trained
    through the same front-end as the main one: one sentence naming what differs."""
    kind, main_kind = (getattr(m.net, "input_kind", "logmel") for m in (seed, main))
    if kind != main_kind:
        raise BsxError(f"--seed-checkpoints: {path}: its model consumes {kind} input but the "
                       f"main model consumes {main_kind}; give checkpoints of the same model "
                       "trained with other seeds")
    if tuple(seed.labels) != tuple(main.labels):
        raise BsxError(f"--seed-checkpoints: {path}: its labels ({', '.join(seed.labels)}) "
                       f"differ from the main model's ({', '.join(main.labels)}); give "
                       "checkpoints of the same model trained with other seeds")
    differs = _frontend_difference(_own_frontend(seed), _own_frontend(main))
    if differs:
        raise BsxError(f"--seed-checkpoints: {path}: was trained through another front-end "
                       f"({differs}); give checkpoints of the same model trained with other "
                       "seeds")


def _seeded_options(method: str, options: dict[str, Any] | None, k: int) -> dict[str, Any] | None:
    """The run's options of a method for the k-th other model (k >= 1): unchanged, except a
    `seed` option, which becomes seed + k (see the module docstring)."""
    from bsx.plugins import lookup

    fields = lookup("method", method).options.model_fields
    if "seed" not in fields:
        return options
    out = dict(options or {})
    out["seed"] = int(out.get("seed", fields["seed"].default)) + k
    return out


def load_seed_models(cfg: EvalConfig, main: Any, device: Any, *,
                     channels_last: bool = False) -> SeedModels | None:
    """Load the other seeds' models as the main one is loaded (same --model, --labels,
    --label-preset, --frontend), check them against it and build every method on each."""
    paths = seed_paths(cfg)
    if not paths:
        return None
    from bsx.models.checkpoint import load_model
    from bsx.plugins import build

    nets = []
    for path in paths:
        seed = load_model(path, model=cfg.model, labels=cfg.labels,
                          label_preset=cfg.label_preset, frontend=cfg.frontend, device=device)
        check_seed_model(path, seed, main)
        if channels_last:
            import torch

            seed.net.to(memory_format=torch.channels_last)
        nets.append(seed.net)
    methods = {m: [build("method", m, net,
                         options=_seeded_options(m, cfg.method_options.get(m), k))
                   for k, net in enumerate(nets, start=1)]
               for m in cfg.methods}
    return SeedModels(paths=paths, nets=nets, methods=methods)


def score_seeds(rec: Any, method: str, seeds: SeedModels, units: Any, target: np.ndarray,
                prepared: list[Any], main_maps: list[np.ndarray], main_windows: list[list[Any]],
                opts: Any) -> None:
    """Emit seed-rank-correlation and seed-window-iou of each clip of a batch for one method.

    units, target: the main model's inputs and explained classes; main_maps: its (F, T) clip
    maps; main_windows: its salient windows on the original timeline; opts: the window
    options the main maps were windowed with (the method's sign rule applied)."""
    from bsx.evaluation.attribute import attribute
    from bsx.evaluation.salient import salient_windows
    from bsx.scoring.reliability import seed_agreement

    wanted = [m for m in SEED_METRICS if rec.wants(m)]
    if not wanted:
        return
    t0 = time.perf_counter()
    frame_s = prepared[0].frontend.frame_s
    maps, windows = [main_maps], [main_windows]
    for built in seeds.methods[method]:
        clips = attribute(built, units, target, prepared).clips
        maps.append(clips)
        windows.append(salient_windows(clips, prepared, frame_s, opts)[1])
    seconds = (time.perf_counter() - t0) / len(prepared)
    for i, p in enumerate(prepared):
        spans = [[(w.start_s, w.end_s) for w in ws[i]] for ws in windows]
        # maps compared over the content frames only: zeros shared in the padding would
        # correlate any two maps (the fair random control, docs/controls.md)
        lo, hi = p.content_frames()
        scores = seed_agreement([m[i][..., lo:hi] if hi > lo else m[i] for m in maps], spans)
        for metric in wanted:
            rec.emit(i, method, "", metric, scores[metric], seconds)

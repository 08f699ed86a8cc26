"""The evaluate run: plan, the batch loop (prepare ahead, attribute and score behind), then
the tail (bsx.evaluation.tail: dataset-level tables, statistics, figures and report)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bsx.evaluation.config import EvalConfig, stated_split, window_options
from bsx.evaluation.dimensional import dimensions_of, run_dimensions
from bsx.evaluation.plan import Plan, make_plan, split_meta
from bsx.evaluation.tail import RunParts, run_specs, run_tail
from bsx.locks import hold_folder
from bsx.progress import status as progress_status

if TYPE_CHECKING:
    import torch

    from bsx.cues.base import CueExtractor
    from bsx.evaluation.batch import BatchContext
    from bsx.evaluation.placement import PlacementFactory
    from bsx.models.checkpoint import LoadedModel
    from bsx.scoring.specs import MetricSpec

OnBatch = Callable[[int, int], None]


def run_evaluation(cfg: EvalConfig, out: Path, *, resume: bool = True, progress: bool = True,
                   on_batch: OnBatch | None = None, record: dict[str, Any] | None = None,
                   loaded: LoadedModel | None = None,
                   placement: PlacementFactory | None = None) -> dict[str, Any]:
    """Evaluate cfg.methods x cfg.cues on a dataset; write results under `out`; return summary.

    A `bsx train --cv` folder as cfg.checkpoint evaluates each fold's model on its held-out
    speakers and merges them (bsx.evaluation.folds). `record`: entries config.json holds
    instead of this run's own. `loaded`: a model already in memory (the Python API's
    bsx.Model), used instead of loading cfg.model / cfg.checkpoint; it runs on its own
    device. `placement`: where attribution and cues run (bsx.evaluation.placement; this
    process and the local cue pool when None)."""
    from bsx.evaluation.folds import cv_folds, run_folds

    folds = cv_folds(cfg.checkpoint) if loaded is None else None
    if folds is not None:
        return run_folds(cfg, out, folds, resume=resume, progress=progress, on_batch=on_batch,
                         placement=placement)
    out = Path(out)
    with _running(cfg, out, loaded) as run:
        model = run.model(loaded)
        dims = dimensions_of(cfg, model)  # a regression model: one run per dimension
        if len(dims) > 1:
            return run_dimensions(cfg, out, dims, lambda c, o: run_evaluation(
                c, o, resume=resume, progress=progress, on_batch=on_batch, record=record,
                loaded=model, placement=placement))
        if dims and cfg.dimension != dims[0]:
            cfg = cfg.model_copy(update={"dimension": dims[0]})
            run = replace(run, cfg=cfg, specs=run_specs(cfg, warn=True))
        parts = run.evaluate(resume=resume, progress=progress, on_batch=on_batch,
                             record=record, loaded=model, placement=placement)
        progress_status("dataset statistics, figures and report.html")
        return run_tail(out, cfg, parts)


def run_batches(cfg: EvalConfig, out: Path, *, resume: bool = True, progress: bool = True,
                on_batch: OnBatch | None = None,
                placement: PlacementFactory | None = None) -> RunParts:
    """The batch half of a run, without its tail: what a part of a merged run (a shard, a
    fold) does. Writes the batch parts, config.json and batches.json under `out` (resumable)
    and returns what the tail needs (bsx.evaluation.tail.merge_runs reads it back)."""
    out = Path(out)
    with _running(cfg, out, None) as run:
        return run.evaluate(resume=resume, progress=progress, on_batch=on_batch, record=None,
                            loaded=run.model(None), placement=placement)


@contextmanager
def _running(cfg: EvalConfig, out: Path, loaded: LoadedModel | None) -> Iterator[Batches]:
    """A run's set-up: the checks, the cue workers, the folder's lock, the device and the
    thread counts; yields its batch loop."""
    specs, extractors = _start(cfg)
    out.mkdir(parents=True, exist_ok=True)
    with hold_folder(out, "bsx evaluate"):  # before any part is read, written or deleted
        progress_status("importing torch and loading the model")
        from bsx.device import device_of, resolve_device  # imports torch: only now

        device = resolve_device(cfg.device) if loaded is None else device_of(loaded.net)
        with _torch_threads(device, cfg.workers):
            yield Batches(cfg=cfg, out=out, device=device, specs=specs, extractors=extractors)


def _start(cfg: EvalConfig) -> tuple[dict[str, MetricSpec], dict[str, CueExtractor]]:
    """Cheap checks first, so a typo fails before anything starts; then the cue workers,
    which import openSMILE & co. while this process imports torch."""
    from bsx.cues.parallel import start_workers
    from bsx.evaluation.seeds import seed_paths
    from bsx.plugins import build, lookup

    specs = run_specs(cfg, warn=True)
    seed_paths(cfg)
    window_options(cfg)
    stated_split(cfg)  # a bad --trained-on-split file fails before anything starts
    for m in cfg.methods:
        lookup("method", m)
    progress_status(f"starting the cue workers ({', '.join(cfg.cues)})")
    extractors = {c: build("cue", c) for c in cfg.cues}
    for ext in extractors.values():
        start_workers(ext, workers=cfg.workers)
    return specs, extractors


@contextmanager
def _torch_threads(device: torch.device, workers: int) -> Iterator[None]:
    """On the CPU, leave the cue workers their cores: torch threads fighting them made
    predict + Grad-CAM 3-4x slower per clip on a 2-core machine. numpy's BLAS gets one thread
    (its products here are small: the log-mels of cue ablation, statistics); with its default
    threads beside torch's on a busy CPU a 128 x 513 x 134 mel product took 12-23 ms instead
    of 0.2-0.5 ms, and cue ablation was most of a whole-EmoDB run. Restored afterwards."""
    import os

    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Batches:
    """The batch loop of one run: load the model, plan, write config.json, evaluate every
    batch not yet written; what it leaves for the tail is its RunParts (out/batches.json)."""

    cfg: EvalConfig
    out: Path
    device: torch.device
    specs: dict[str, MetricSpec]
    extractors: dict[str, CueExtractor]

    def evaluate(self, *, resume: bool, progress: bool, on_batch: OnBatch | None,
                 record: dict[str, Any] | None, loaded: LoadedModel,
                 placement: PlacementFactory | None = None) -> RunParts:
        """The batch loop on `loaded` (a model self.model made ready), its attribution and
        cues where `placement` puts them."""
        from bsx.evaluation.batch import BatchContext, channels_last
        from bsx.evaluation.meta import pick_clips
        from bsx.evaluation.placement import local_placement
        from bsx.evaluation.seeds import load_seed_models
        from bsx.expert import load_expert
        from bsx.plugins import build

        cfg = self.cfg
        stated = stated_split(cfg)
        training = training_data(loaded.meta, cfg)
        if training["warning"]:
            warnings.warn(training["warning"], stacklevel=2)
        plan = make_plan(cfg, self.out, tuple(loaded.labels), loaded.frontend,
                         stated if stated is not None else split_meta(loaded.meta),
                         resume=resume)
        self.write_config(loaded, plan, record)
        meta_clips = pick_clips([c.id for c in plan.clips],
                                cfg.meta_clips if cfg.meta_eval else 0)
        # the placement first: a Ray actor gets its copy of the model before any method
        # built here has patched or hooked this one
        place = (placement or local_placement)(cfg, loaded)
        try:
            ctx = BatchContext(
                cfg=cfg, loaded=loaded, device=self.device,
                methods={m: build("method", m, loaded.net, options=cfg.method_options.get(m))
                         for m in cfg.methods},
                extractors=self.extractors, expert=load_expert(cfg.expert),
                metrics=self.specs,
                seeds=load_seed_models(cfg, loaded, self.device,
                                       channels_last=channels_last(self.device, loaded.net)),
                meta_clips=meta_clips, placement=place)
            skipped = batch_loop(ctx, plan, progress=progress, on_batch=on_batch)
        finally:
            place.close()
        parts = RunParts(n_clips=len(plan.clips), skipped=plan.skipped + skipped,
                         training=training, meta_clips=len(meta_clips))
        parts.save(self.out)
        return parts

    def model(self, loaded: LoadedModel | None) -> LoadedModel:
        """The run's model (loaded unless given), on the run's layout and --keep, with the
        warnings a run gives about it once."""
        from bsx.audio import with_keep
        from bsx.evaluation.batch import channels_last
        from bsx.evaluation.computes import warn_unsupported
        from bsx.honesty import domain_warning
        from bsx.models.checkpoint import load_model

        cfg = self.cfg
        if loaded is None:
            loaded = load_model(cfg.checkpoint, model=cfg.model, labels=cfg.labels,
                                label_preset=cfg.label_preset, frontend=cfg.frontend,
                                device=self.device)
        if channels_last(self.device, loaded.net):
            import torch

            loaded.net.to(memory_format=torch.channels_last)
        loaded.frontend = with_keep(loaded.frontend, cfg.keep)
        warn_unsupported(self.specs, loaded.frontend.input)
        mismatch = domain_warning(loaded.meta, cfg.dataset)
        if mismatch:
            warnings.warn(mismatch, stacklevel=3)
        return loaded

    def write_config(self, loaded: LoadedModel, plan: Plan,
                     record: dict[str, Any] | None) -> None:
        """out/config.json: the settings, the model and where its results' paths start."""
        import json

        from bsx import __version__
        from bsx.report.provenance import run_provenance
        from bsx.report.strict_json import write_json

        root = plan.writer.corpus_root
        write_json(self.out / "config.json", {
            "config": json.loads(self.cfg.model_dump_json()),
            "frontend": loaded.frontend.model_dump(), "labels": list(loaded.labels),
            "model": loaded.model_name, "bsx_version": __version__,
            "metrics": list(self.specs), "device": str(self.device),
            **run_provenance(self.cfg.checkpoint),
            # results.csv and clips.csv name each clip's file relative to this folder
            "corpus_root": None if root is None else str(root),
            **(record or {}),
        })


def batch_loop(ctx: BatchContext, plan: Plan, *, progress: bool,
               on_batch: OnBatch | None) -> tuple[tuple[str, str], ...]:
    """Evaluate and write every batch of plan.todo; return the clips it could not use, as
    (clip id, reason). The newest batch stays in flight: its cues are measured in the
    workers while this process prepares the next batch and attributes the older ones, so
    the workers never idle."""
    from bsx.evaluation.batch import evaluate_batch
    from bsx.evaluation.prepare import Submitted, submit

    size = ctx.cfg.batch_size
    todo = plan.todo
    skipped: list[tuple[str, str]] = []
    with _progress(progress) as bar:
        task = bar.add_task("evaluate", total=len(plan.clips),
                            completed=len(plan.clips) - len(todo))
        n_done = 0

        def finish(item: Submitted) -> None:
            nonlocal n_done
            skipped.extend(item.skipped)
            if item.clips:
                plan.writer.write_batch(evaluate_batch(ctx, item).tables())
            n_done += item.size
            bar.advance(task, item.size)
            if on_batch is not None:
                on_batch(n_done, len(todo))

        pending: list[Submitted] = []
        for start in range(0, len(todo), size):
            pending.append(submit(plan.frontend, todo[start:start + size], ctx.extractors,
                                  ctx.cfg.workers, ctx.placement))
            while len(pending) > 1:
                finish(pending.pop(0))
        while pending:
            finish(pending.pop(0))
    return tuple(skipped)


def training_data(meta: dict[str, Any], cfg: EvalConfig) -> dict[str, Any]:
    """summary["training_data"]: where the run's knowledge of the checkpoint's training
    clips comes from ("sidecar", "stated" by --trained-on-split, or "unknown") and the
    warning line when unknown (bsx.honesty.training_data_warning)."""
    from bsx.honesty import knows_split, training_data_warning

    stated = None if cfg.trained_on_split is None else str(cfg.trained_on_split)
    source = "stated" if stated is not None else "sidecar" if knows_split(meta) else "unknown"
    where = f"'{cfg.checkpoint}'" if cfg.checkpoint else ""
    return {"split_from": source, "stated": stated,
            "warning": training_data_warning(meta, cfg.dataset, stated, source=where)}


def _progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from bsx.progress import active, stderr

    if active() is not None:  # the CLI's display is live: add the bar to it
        return active().borrowed()  # type: ignore[union-attr]
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=stderr(),
                    disable=not enabled, transient=False)

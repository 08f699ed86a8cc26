"""The evaluate run: plan, the batch loop (prepare ahead, attribute and score behind), then
the dataset-level tables, statistics, figures and report."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.audio import KEPT_SHARE_WARNING
from bsx.evaluation.config import EvalConfig, stated_split, window_options
from bsx.evaluation.plan import Plan, early_start, make_plan, split_meta
from bsx.locks import hold_folder
from bsx.progress import status as progress_status

if TYPE_CHECKING:
    from bsx.models.checkpoint import LoadedModel


def run_evaluation(cfg: EvalConfig, out: Path, *, resume: bool = True, progress: bool = True,
                   on_batch: Callable[[int, int], None] | None = None,
                   record: dict[str, Any] | None = None,
                   loaded: LoadedModel | None = None) -> dict[str, Any]:
    """Evaluate cfg.methods x cfg.cues on a dataset; write results under `out`; return summary.

    A `bsx train --cv` folder as cfg.checkpoint evaluates each fold's model on its held-out
    speakers and merges them (bsx.evaluation.folds). `record`: entries config.json holds
    instead of this run's own (the cross-validated run records its folder and folds).
    `loaded`: a model already in memory (the Python API's bsx.Model), used instead of
    loading cfg.model / cfg.checkpoint; it runs on its own device."""
    from bsx.cues.parallel import start_workers
    from bsx.evaluation.folds import cv_folds, run_folds

    folds = cv_folds(cfg.checkpoint) if loaded is None else None
    if folds is not None:
        return run_folds(cfg, out, folds, resume=resume, progress=progress, on_batch=on_batch)
    from bsx.evaluation.seeds import seed_paths, with_seed_metrics
    from bsx.plugins import build, lookup
    from bsx.scoring.specs import DEFAULT_METRICS, get_metric

    # Cheap checks first, so a typo fails before anything starts.
    metrics = list(cfg.metrics) if cfg.metrics is not None else list(DEFAULT_METRICS)
    metrics = with_seed_metrics(cfg, metrics)
    seed_paths(cfg)
    specs = {s.name: s for s in map(get_metric, metrics)}  # canonical names, as emitted
    window_options(cfg)
    stated_split(cfg)  # a bad --trained-on-split file fails before anything starts
    for m in cfg.methods:
        lookup("method", m)
    # Cue workers next: they import openSMILE & co. while this process imports torch.
    progress_status(f"starting the cue workers ({', '.join(cfg.cues)})")
    extractors = {c: build("cue", c) for c in cfg.cues}
    for ext in extractors.values():
        start_workers(ext, workers=cfg.workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with hold_folder(out, "bsx evaluate"):  # before any part is read, written or deleted
        progress_status(f"reading the dataset '{cfg.dataset}'")
        early = early_start(cfg, out, extractors, resume=resume) if loaded is None else None
        progress_status("importing torch and loading the model")
        from bsx.device import device_of, resolve_device  # imports torch: only now

        device = resolve_device(cfg.device) if loaded is None else device_of(loaded.net)
        with _torch_threads(device, cfg.workers):
            return _run(cfg, out, device, specs, extractors, early, resume=resume,
                        progress=progress, on_batch=on_batch, record=record, loaded=loaded)


@contextmanager
def _torch_threads(device: Any, workers: int) -> Iterator[None]:
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


def _run(cfg: EvalConfig, out: Path, device: Any, specs: dict[str, Any],
         extractors: dict[str, Any], early: Plan | None, *, resume: bool, progress: bool,
         on_batch: Callable[[int, int], None] | None,
         record: dict[str, Any] | None = None,
         loaded: LoadedModel | None = None) -> dict[str, Any]:
    """The run itself: set-up, the batch loop, then dataset-level tables and reports."""
    import json

    from bsx import __version__
    from bsx.audio import with_keep
    from bsx.evaluation.batch import BatchContext, channels_last, evaluate_batch
    from bsx.evaluation.computes import warn_unsupported
    from bsx.evaluation.prepare import submit
    from bsx.evaluation.seeds import load_seed_models
    from bsx.expert import load_expert
    from bsx.honesty import domain_warning
    from bsx.models.checkpoint import load_model
    from bsx.plugins import build
    from bsx.report.provenance import run_provenance
    from bsx.report.strict_json import write_json
    from bsx.report.summary import summarise

    metrics = list(specs)
    if loaded is None:
        loaded = load_model(cfg.checkpoint, model=cfg.model, labels=cfg.labels,
                            label_preset=cfg.label_preset, frontend=cfg.frontend, device=device)
    from bsx.evaluation import dimensional as dims_

    dims = dims_.dimensions_of(cfg, loaded)  # a regression model: one run per dimension
    if len(dims) > 1:
        return dims_.run_dimensions(cfg, out, dims, lambda c, o: _run(
            c, o, device, specs, extractors, None, resume=resume, progress=progress,
            on_batch=on_batch, record=record, loaded=loaded))
    skipped_metrics: dict[str, str] = {}
    if dims:
        cfg = cfg.model_copy(update={"dimension": dims[0]})
        specs, skipped_metrics = dims_.regression_specs(cfg, specs)
        metrics = list(specs)
    seeds = load_seed_models(cfg, loaded, device, channels_last=channels_last(device, loaded.net))
    if channels_last(device, loaded.net):
        import torch

        loaded.net.to(memory_format=torch.channels_last)
    loaded.frontend = fe = with_keep(loaded.frontend, cfg.keep)
    warn_unsupported(specs, fe.input)
    mismatch = domain_warning(loaded.meta, cfg.dataset)
    if mismatch:
        warnings.warn(mismatch, stacklevel=2)
    stated = stated_split(cfg)
    training = training_data(loaded.meta, cfg)
    if training["warning"]:
        warnings.warn(training["warning"], stacklevel=2)
    smeta = stated if stated is not None else split_meta(loaded.meta)
    plan = early
    if plan is None or (plan.labels, plan.frontend, plan.split_meta) != (
            tuple(loaded.labels), fe, smeta):
        plan = make_plan(cfg, out, tuple(loaded.labels), fe, smeta, resume=resume)
    clips, writer, todo = plan.clips, plan.writer, plan.todo
    expert = load_expert(cfg.expert)
    run_config = {
        "config": json.loads(cfg.model_dump_json()), "frontend": fe.model_dump(),
        "labels": list(loaded.labels), "model": loaded.model_name, "bsx_version": __version__,
        "metrics": metrics, "device": str(device), **run_provenance(cfg.checkpoint),
        # results.csv and clips.csv name each clip's file relative to this folder
        "corpus_root": None if writer.corpus_root is None else str(writer.corpus_root),
        **(record or {}),
    }
    write_json(out / "config.json", run_config)
    methods = {m: build("method", m, loaded.net, options=cfg.method_options.get(m))
               for m in cfg.methods}
    from bsx.evaluation.meta import pick_clips

    meta_clips = pick_clips([c.id for c in clips], cfg.meta_clips if cfg.meta_eval else 0)
    ctx = BatchContext(cfg=cfg, loaded=loaded, device=device, methods=methods,
                       extractors=extractors, expert=expert, metrics=specs, seeds=seeds,
                       meta_clips=meta_clips)
    with _progress(progress) as bar:
        task = bar.add_task("evaluate", total=len(clips), completed=len(clips) - len(todo))
        n_done = 0

        def finish(item: tuple[list[Any], list[Any], Any, int]) -> None:
            nonlocal n_done
            ok_clips, ok_prep, cues, size = item
            if ok_clips:
                writer.write_batch(evaluate_batch(ctx, ok_clips, ok_prep, cues=cues))
            n_done += size
            bar.advance(task, size)
            if on_batch is not None:
                on_batch(n_done, len(todo))

        # The newest batch stays in flight: its cues are measured in the workers while this
        # process prepares the next batch and attributes the older ones, so workers never idle.
        for start in range(plan.next_start, len(todo), cfg.batch_size):
            submit(plan, todo[start:start + cfg.batch_size], extractors, cfg.workers)
            while len(plan.pending) > 1:
                finish(plan.pending.popleft())
        while plan.pending:
            finish(plan.pending.popleft())
    skipped = plan.skipped
    progress_status("dataset statistics, figures and report.html")
    from bsx.report.posthoc import AGREEMENT_METRICS, agreement_tables
    from bsx.report.summary import agreement_summary
    from bsx.scoring.claims import claims_summary

    # The tail: the cue workers are idle now, so the figures and the dataset-level statistics
    # go to them while this process merges the tables.
    parts = {"profiles": writer.read("profiles"), "clips": writer.read("clips")}
    if parts["clips"].empty:
        raise_no_usable_clips(len(clips), skipped)
    warn_kept_share(parts["clips"], fe)
    profile_figures = start_profile_figures(out, parts["profiles"])
    agree, extra = agreement_tables(parts["profiles"], parts["clips"], expert,
                                    metrics=[m for m in AGREEMENT_METRICS if m in specs])
    agreement_rows = tail_task(agreement_summary, agree)
    claim_rows = tail_task(claims_summary, agree)
    dim_rows, dim_summary = dims_.dimension_results(cfg, parts["profiles"], parts["clips"],
                                                    specs)
    tables = writer.finalize([r for r in [*extra, *dim_rows] if r["metric"] in specs],
                             tables=parts)
    # the report's example clips read only the files finalize wrote: a worker renders them
    # while this process computes the summary
    from bsx.report.html import examples_section

    examples = tail_task(examples_section, out)
    tables["agreement"] = agree
    if not agree.empty:
        agree.to_parquet(out / "agreement.parquet", index=False)
    summary = summarise(tables, cfg=cfg, metrics=specs, skipped=skipped, expert=expert,
                        agreement_rows=agreement_rows.result(), claim_rows=claim_rows.result(),
                        training=training)
    if dims:
        summary.update(task="regression", dimension=cfg.dimension, dimensional=dim_summary,
                       skipped_metrics=skipped_metrics,
                       model=dims_.regression_model_scores(parts["clips"], dims[0]))
    if cfg.meta_eval:
        from bsx.evaluation.meta import meta_evaluation

        progress_status("meta-evaluation of the metrics")
        summary["meta_evaluation"] = meta_evaluation(
            writer.read("meta"), writer.read("meta_profiles"), parts["profiles"],
            parts["clips"], expert, specs, len(meta_clips))
    write_json(out / "summary.json", summary)
    write_figures_and_report(out, summary, profile_figures, examples)
    return summary


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


def raise_no_usable_clips(n_clips: int, skipped: list[tuple[str, str]]) -> None:
    """Every clip was skipped: say why (the first reason) instead of writing empty results."""
    from bsx.errors import BsxError

    why = f"; the first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
    raise BsxError(f"no usable clips: {len(skipped) or n_clips} of {n_clips} clips could not be "
                   f"used{why}")


def tail_task(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in an idle cue worker (a future), or here when the trick is off."""
    from concurrent.futures import Future

    from bsx.cues.parallel import beside
    from bsx.evaluation.tricks import enabled

    if enabled("beside"):
        return beside(fn, *args)
    done: Future[Any] = Future()
    done.set_result(fn(*args))
    return done


def start_profile_figures(out: Path, profiles: Any) -> list[Any]:
    """Render each method's cue-profile figure in the (now idle) cue workers while this
    process writes the summary: matplotlib needs ~0.5 s per figure. Futures of their paths."""
    from bsx.report.figures import cue_profile_bars

    if profiles.empty:
        return []
    pairs = profiles[["method", "cues"]].drop_duplicates().itertuples(index=False)
    return [tail_task(cue_profile_bars, profiles[(profiles["method"] == method)
                                                 & (profiles["cues"] == cues)],
                      out / f"cue_profile_{method}_{cues}.png", method, cues)
            for method, cues in pairs]


def write_figures_and_report(out: Path, summary: dict[str, Any],
                             profile_figures: list[Any], examples: Any = None) -> None:
    """The metric figure, the cue-profile figures (futures of start_profile_figures) and the
    self-contained report.html beside the result files."""
    import json

    import pandas as pd

    from bsx.report.figures import metric_comparison
    from bsx.report.html import examples_section, write_report

    table = pd.DataFrame(summary.get("metrics", []))
    # the metric figure (~4 s for 30 panels) is drawn in a worker
    metric_figure = tail_task(metric_comparison, table, out / "metrics.png")
    examples = examples.result() if examples is not None else examples_section(out)
    figures = [metric_figure.result(), *[f.result() for f in profile_figures]]
    config = json.loads((out / "config.json").read_text())
    write_report(out, summary, table, figures, config, examples=examples)


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




def warn_kept_share(clips: Any, fe: Any) -> None:
    """One warning line when the front-end kept less than KEPT_SHARE_WARNING of the speech
    of some clips (the paper presets keep the first non-silent interval, at most 2 s)."""
    if clips.empty or "kept_share" not in clips:
        return
    share = clips["kept_share"].to_numpy(dtype=float)
    short = share < KEPT_SHARE_WARNING
    if short.any():
        warnings.warn(
            f"front-end '{fe.name}' kept less than {KEPT_SHARE_WARNING:.0%} of the speech of "
            f"{int(short.sum())} of {len(share)} clips (median kept {np.median(share):.0%}); "
            "--keep whole explains whole utterances", stacklevel=2)

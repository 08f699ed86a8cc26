"""The evaluate engine: one pass per batch, each thing computed once and shared by all metrics.

prepare -> predict -> attribute (per method) -> salient windows (model timeline, mapped back to
the original file) -> cue tracks (per clip and extractor, ONCE, shared by every method) ->
cue profiles and expert agreement -> localisation against planted and expert-cue masks ->
Quantus metrics -> cue ablation. Rows are written per batch (bsx.results), so a long run can
be interrupted and resumed; dataset-level statistics come afterwards from the rows.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bsx.errors import BsxError

Split = Literal["train", "val", "test", "all"]


class EvalConfig(BaseModel):
    """Everything that defines an evaluation run; stored with its results."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = "synth"
    data_root: Path | None = None
    dataset_options: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None
    checkpoint: Path | None = None
    label_preset: str | None = None
    labels: list[str] | None = None
    frontend: str | None = None
    methods: list[str] = Field(default_factory=lambda: ["crp"])
    method_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cues: list[str] = Field(default_factory=lambda: ["egemaps"])
    metrics: list[str] | None = None
    split: Split = "test"
    split_mode: Literal["speaker", "random"] | None = None
    emotions: list[str] | None = None
    limit: int | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 16
    workers: int = 2
    target: Literal["predicted", "true"] = "predicted"
    window_options: dict[str, Any] = Field(default_factory=dict)
    ablation_cue: str = "loudness"
    expert: Path | None = None


def select_clips(clips: list[Any], cfg: EvalConfig, labels: tuple[str, ...],
                 split_meta: dict[str, Any]) -> list[Any]:
    """Split (on the whole corpus, as training did, so no training clip leaks in), then the
    emotion and model-label filters, then a seeded stratified --limit."""
    from bsx.datasets.splits import make_split

    if cfg.split != "all":
        same = split_meta.get("dataset", "").lower() == cfg.dataset.lower()
        mode = cfg.split_mode or (split_meta.get("mode") if same else None) or "speaker"
        seed = int(split_meta.get("seed", 42)) if same else 42
        try:
            clips = make_split(clips, mode=mode, seed=seed)[cfg.split]
        except BsxError as exc:
            raise BsxError(f"{exc}; or evaluate every clip with --split all") from None
    if cfg.emotions:
        wanted = {e.strip().lower() for e in cfg.emotions}
        unknown = wanted - {c.label for c in clips}
        if unknown:
            raise BsxError(
                f"--emotions: {', '.join(sorted(unknown))} not in dataset '{cfg.dataset}'; "
                f"it has: {', '.join(sorted({c.label for c in clips}))}"
            )
        clips = [c for c in clips if c.label in wanted]
    known = [c for c in clips if c.label in labels]
    if len(known) < len(clips):
        dropped = sorted({c.label for c in clips} - set(labels))
        warnings.warn(f"{len(clips) - len(known)} clips with labels the model does not know "
                      f"({', '.join(dropped)}) are left out", stacklevel=2)
    clips = known
    if not clips:
        raise BsxError(f"dataset '{cfg.dataset}' has no clips with the model's labels "
                       f"({', '.join(labels)})")
    if cfg.limit is not None and cfg.limit < len(clips):
        rng = np.random.default_rng(cfg.seed)
        by_label: dict[str, list[Any]] = {}
        for c in clips:
            by_label.setdefault(c.label, []).append(c)
        for group in by_label.values():
            rng.shuffle(group)  # type: ignore[arg-type]
        picked: list[Any] = []
        while len(picked) < cfg.limit:
            for group in by_label.values():
                if group and len(picked) < cfg.limit:
                    picked.append(group.pop())
        order = {c.id: i for i, c in enumerate(clips)}
        clips = sorted(picked, key=lambda c: order[c.id])
    return clips


def run_evaluation(cfg: EvalConfig, out: Path, *, resume: bool = True, progress: bool = True,
                   on_batch: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Evaluate cfg.methods x cfg.cues on a dataset; write results under `out`; return summary."""
    from bsx.cues.parallel import start_workers
    from bsx.plugins import build, lookup
    from bsx.scoring.specs import DEFAULT_METRICS, get_metric

    # Cheap checks first, so a typo fails before anything starts.
    metrics = list(cfg.metrics) if cfg.metrics is not None else list(DEFAULT_METRICS)
    specs = {m: get_metric(m) for m in metrics}
    window_options(cfg)
    for m in cfg.methods:
        lookup("method", m)
    # Cue workers next: they import openSMILE & co. while this process imports torch.
    extractors = {c: build("cue", c) for c in cfg.cues}
    for ext in extractors.values():
        start_workers(ext, workers=cfg.workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    early = _early_start(cfg, out, extractors, resume=resume)
    from bsx.device import resolve_device  # imports torch: only now

    device = resolve_device(cfg.device)
    with _torch_threads(device, cfg.workers):
        return _run(cfg, out, device, specs, extractors, early, resume=resume,
                    progress=progress, on_batch=on_batch)


# Clips whose cues are submitted before torch is imported: ~3 s of work for two workers, about
# what importing torch + captum and loading the model take.
EARLY_CLIPS_PER_WORKER = 64


class _Plan:
    """The clips a run evaluates, its results writer and the batches already submitted."""

    def __init__(self, *, labels: tuple[str, ...], frontend: Any, split_meta: dict[str, Any],
                 clips: list[Any], writer: Any, todo: list[Any]) -> None:
        self.labels, self.frontend, self.split_meta = labels, frontend, split_meta
        self.clips, self.writer, self.todo = clips, writer, todo
        self.pending: deque[tuple[list[Any], list[Any], Any, int]] = deque()
        self.next_start = 0
        self.skipped: list[tuple[str, str]] = []


def _plan(cfg: EvalConfig, out: Path, labels: tuple[str, ...], frontend: Any,
          split_meta: dict[str, Any], *, resume: bool) -> _Plan:
    """Select the clips, check a resumed run's settings, open the writer (torch-free)."""
    import json

    from bsx.plugins import build
    from bsx.results import ResultWriter

    ds_options = dict(cfg.dataset_options)
    if cfg.data_root is not None:
        ds_options["data_root"] = cfg.data_root
    dataset = build("dataset", cfg.dataset, options=ds_options)
    clips = select_clips(dataset.clips(), cfg, labels, split_meta)
    previous = out / "config.json"
    if resume and previous.is_file():
        old = json.loads(previous.read_text())
        if old.get("config") != json.loads(cfg.model_dump_json()):
            raise BsxError(f"{previous}: was written by a run with other settings; resume it "
                           "with the same options or choose another --out")
    writer = ResultWriter(out, resume=resume)
    done = writer.done_clips() if resume else set()
    return _Plan(labels=labels, frontend=frontend, split_meta=split_meta, clips=clips,
                 writer=writer, todo=[c for c in clips if c.id not in done])


def _split_meta(meta: dict[str, Any]) -> dict[str, Any]:
    split_meta = dict(meta.get("split") or {})
    split_meta.setdefault("dataset", str(meta.get("dataset", "")))
    return split_meta


def _early_start(cfg: EvalConfig, out: Path, extractors: dict[str, Any], *,
                 resume: bool) -> _Plan | None:
    """Plan the run and submit its first batches' cues from the checkpoint's JSON sidecar,
    before torch is imported, so the cue workers start measuring at once (a fresh run used to
    give them their first clip ~4 s in). None where only load_model can tell the labels and
    front-end (no sidecar; labels, front-end or model given); the run checks the plan
    against the loaded model and discards it if they differ."""
    import json

    from bsx.audio import get_frontend
    from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path

    if cfg.workers <= 1 or cfg.model or cfg.labels or cfg.label_preset or cfg.frontend:
        return None
    path = Path(cfg.checkpoint).expanduser() if cfg.checkpoint else DEFAULT_MODEL_FILE
    try:
        meta = json.loads(sidecar_path(path).read_text())
        labels, fe = tuple(meta["labels"]), get_frontend(dict(meta["frontend"]))
    except Exception:  # load_model will say what is wrong, if anything
        return None
    plan = _plan(cfg, out, labels, fe, _split_meta(meta), resume=resume)
    n = min(len(plan.todo), EARLY_CLIPS_PER_WORKER * cfg.workers)
    for start in range(0, n, cfg.batch_size):
        _submit(plan, plan.todo[start:start + cfg.batch_size], extractors, cfg.workers)
    plan.next_start = -(-n // cfg.batch_size) * cfg.batch_size
    return plan


def _submit(plan: _Plan, batch: list[Any], extractors: dict[str, Any], workers: int) -> None:
    """Prepare a batch (cache misses in-process unless cores are left beyond the cue workers
    and this one: on 2 cores a prepare pool's IPC doubled the CPU per clip, 13.7 vs 7.4 ms)
    and submit its cues; the batch joins plan.pending."""
    import os

    from bsx.datasets.cache import prepare_many

    prep_workers = workers if (os.cpu_count() or 1) > workers + 1 else 1
    prepared, bad = prepare_many(batch, plan.frontend, workers=prep_workers, progress=False)
    plan.skipped += [(s.clip.id, s.reason) for s in bad]
    ok = [(c, p) for c, p in zip(batch, prepared, strict=True) if p is not None]
    ok_prep = [p for _, p in ok]
    cues = (submit_cues(extractors, ok_prep, plan.frontend.sample_rate, workers)
            if ok else None)
    plan.pending.append(([c for c, _ in ok], ok_prep, cues, len(batch)))


@contextmanager
def _torch_threads(device: Any, workers: int) -> Iterator[None]:
    """On the CPU, leave the cue workers their cores: torch threads fighting them made
    predict + Grad-CAM 3-4x slower per clip on a 2-core machine. Restored afterwards."""
    import os

    import torch

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) - workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(cfg: EvalConfig, out: Path, device: Any, specs: dict[str, Any],
         extractors: dict[str, Any], early: _Plan | None, *, resume: bool, progress: bool,
         on_batch: Callable[[int, int], None] | None) -> dict[str, Any]:
    """The run itself: set-up, the batch loop, then dataset-level tables and reports."""
    import json

    from bsx import __version__
    from bsx.expert import load_expert
    from bsx.models.checkpoint import load_model
    from bsx.plugins import build
    from bsx.report.summary import summarise

    metrics = list(specs)
    loaded = load_model(cfg.checkpoint, model=cfg.model, labels=cfg.labels,
                        label_preset=cfg.label_preset, frontend=cfg.frontend, device=device)
    if _channels_last(device, loaded.net):
        import torch

        loaded.net.to(memory_format=torch.channels_last)
    fe = loaded.frontend
    split_meta = _split_meta(loaded.meta)
    plan = early
    if plan is None or (plan.labels, plan.frontend, plan.split_meta) != (
            tuple(loaded.labels), fe, split_meta):
        plan = _plan(cfg, out, tuple(loaded.labels), fe, split_meta, resume=resume)
    clips, writer, todo = plan.clips, plan.writer, plan.todo
    expert = load_expert(cfg.expert)
    run_config = {
        "config": json.loads(cfg.model_dump_json()), "frontend": fe.model_dump(),
        "labels": list(loaded.labels), "model": loaded.model_name, "bsx_version": __version__,
        "metrics": metrics, "device": str(device),
    }
    (out / "config.json").write_text(json.dumps(run_config, indent=2))
    methods = {m: build("method", m, loaded.net, options=cfg.method_options.get(m))
               for m in cfg.methods}
    ctx = BatchContext(cfg=cfg, loaded=loaded, device=device, methods=methods,
                       extractors=extractors, expert=expert, metrics=specs)
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
            _submit(plan, todo[start:start + cfg.batch_size], extractors, cfg.workers)
            while len(plan.pending) > 1:
                finish(plan.pending.popleft())
        while plan.pending:
            finish(plan.pending.popleft())
    skipped = plan.skipped
    from bsx.cues.parallel import beside
    from bsx.report.posthoc import agreement_tables
    from bsx.report.summary import agreement_summary

    # The tail: the cue workers are idle now, so the figures and the dataset-level statistics
    # go to them while this process merges the tables.
    parts = {"profiles": writer.read("profiles"), "clips": writer.read("clips")}
    profile_figures = start_profile_figures(out, parts["profiles"])
    agree, extra = agreement_tables(parts["profiles"], parts["clips"], expert)
    agreement_rows = beside(agreement_summary, agree)
    tables = writer.finalize([r for r in extra if r["metric"] in specs], tables=parts)
    tables["agreement"] = agree
    if not agree.empty:
        agree.to_parquet(out / "agreement.parquet", index=False)
    summary = summarise(tables, cfg=cfg, metrics=specs, skipped=skipped, expert=expert,
                        agreement_rows=agreement_rows.result())
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    write_figures_and_report(out, summary, profile_figures)
    return summary


def _channels_last(device: Any, net: Any) -> bool:
    """NHWC convolutions are ~25% faster (forward + backward) on the CPU, but a model that
    flattens with .view() fails on them: only for models that declare `channels_last_ok`."""
    return device.type == "cpu" and bool(getattr(net, "channels_last_ok", False))


def start_profile_figures(out: Path, profiles: Any) -> list[Any]:
    """Render each method's cue-profile figure in the (now idle) cue workers while this
    process writes the summary: matplotlib needs ~0.5 s per figure. Futures of their paths."""
    from bsx.cues.parallel import beside
    from bsx.report.figures import cue_profile_bars

    if profiles.empty:
        return []
    return [beside(cue_profile_bars, profiles[profiles["method"] == method],
                   out / f"cue_profile_{method}.png", method)
            for method in dict.fromkeys(profiles["method"])]


def write_figures_and_report(out: Path, summary: dict[str, Any],
                             profile_figures: list[Any]) -> None:
    """The metric figure, the cue-profile figures (futures of start_profile_figures) and the
    self-contained report.html beside the result files."""
    import json

    import pandas as pd

    from bsx.report.figures import metric_comparison
    from bsx.report.html import write_report

    table = pd.DataFrame(summary.get("metrics", []))
    figures = [metric_comparison(table, out / "metrics.png")]
    figures += [f.result() for f in profile_figures]
    config = json.loads((out / "config.json").read_text())
    write_report(out, summary, table, figures, config)


def window_options(cfg: EvalConfig) -> Any:
    """The validated salient-window options of a run (BadOptions naming the bad key)."""
    from pydantic import ValidationError

    from bsx.errors import BadOptions, first_problem
    from bsx.windows import WindowOptions

    try:
        return WindowOptions(**cfg.window_options)
    except ValidationError as exc:
        where, msg = first_problem(exc)
        raise BadOptions(f"window option '{where}': {msg}; accepted: "
                         f"{', '.join(WindowOptions.model_fields)}") from None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj).__name__)


def _progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from bsx.cli.console import err

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err,
                    disable=not enabled, transient=False)


class BatchContext:
    """What stays fixed across batches: config, model, built methods and extractors."""

    def __init__(self, *, cfg: EvalConfig, loaded: Any, device: Any, methods: dict[str, Any],
                 extractors: dict[str, Any], expert: Any, metrics: dict[str, Any]) -> None:
        self.cfg, self.loaded, self.device = cfg, loaded, device
        self.methods, self.extractors, self.expert, self.metrics = (
            methods, extractors, expert, metrics)


def submit_cues(extractors: dict[str, Any], prepared: list[Any], sample_rate: int,
                workers: int) -> tuple[dict[str, Any], float]:
    """Submit cue extraction for a batch to the worker pool; returns handles and start time.

    Tracks are measured once per clip and extractor, on the content the model saw: track time
    0 is the first content sample = the trim offset on the original file = the pad offset on
    the model's waveform."""
    from bsx.cues.parallel import extract_many_async

    sr = sample_rate
    contents = [p.waveform[int(round(p.pad_offset_s * sr)):
                           int(round(p.pad_offset_s * sr)) + int(round(p.content_s * sr))]
                for p in prepared]
    t0 = time.perf_counter()
    return {name: extract_many_async(ext, contents, sr, workers=workers)
            for name, ext in extractors.items()}, t0


def evaluate_batch(ctx: BatchContext, clips: list[Any], prepared: list[Any],
                   cues: tuple[dict[str, Any], float] | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """One batch through the whole chain; returns the rows of each results table.

    `cues` are the handles of submit_cues when the caller submitted them ahead."""
    import torch

    from bsx.methods.base import SharesForward
    from bsx.windows import find_windows_batch, padding_share, to_original

    cfg, loaded = ctx.cfg, ctx.loaded
    fe = loaded.frontend
    n = len(clips)
    pending, t_cues = cues if cues is not None else submit_cues(
        ctx.extractors, prepared, fe.sample_rate, cfg.workers)
    x = torch.from_numpy(np.stack([p.logmel for p in prepared]))[:, None].to(ctx.device)
    if _channels_last(ctx.device, loaded.net):
        x = x.contiguous(memory_format=torch.channels_last)
    maps: dict[str, np.ndarray] = {}
    attr_seconds: dict[str, float] = {}
    # Explaining the predicted class: a method that can, predicts and explains in one pass.
    shared = next((m for m, meth in ctx.methods.items() if isinstance(meth, SharesForward)),
                  None) if cfg.target == "predicted" else None
    if shared is not None:
        t0 = time.perf_counter()
        cam, logits = ctx.methods[shared].attribute_predicted(x)
        maps[shared] = cam.detach().float().cpu().numpy()
        attr_seconds[shared] = (time.perf_counter() - t0) / n
    else:
        with torch.no_grad():
            logits = loaded.net(x)
    probs = torch.softmax(logits.float(), dim=1).cpu().numpy()
    pred = probs.argmax(1)
    truth = np.array([loaded.labels.index(c.label) for c in clips])
    target = pred if cfg.target == "predicted" else truth
    target_t = torch.from_numpy(target).to(ctx.device)
    base = [{
        "clip_id": c.id, "path": str(c.path), "label": c.label, "speaker": c.speaker,
        "pred": loaded.labels[pred[i]], "target": loaded.labels[target[i]],
        "correct": bool(pred[i] == truth[i]),
    } for i, c in enumerate(clips)]

    for mname, method in ctx.methods.items():
        if mname == shared:
            continue
        t0 = time.perf_counter()
        maps[mname] = method.attribute(x, target_t).detach().float().cpu().numpy()
        attr_seconds[mname] = (time.perf_counter() - t0) / n
    tracks: dict[str, list[Any]] = {}
    cue_seconds: dict[str, float] = {}
    for name, wait in pending.items():
        tracks[name] = wait()
        # wall time per clip since submission: overlapped with other work, an upper bound
        cue_seconds[name] = (time.perf_counter() - t_cues) / n

    planted = _planted_masks(clips, prepared, fe)
    wopts = window_options(cfg)
    rows: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    windows_rows: list[dict[str, Any]] = []
    clip_rows = [{**b, **{f"p_{lab}": float(probs[i, j]) for j, lab in enumerate(loaded.labels)},
                  "trim_offset_s": p.trim_offset_s, "content_s": p.content_s}
                 for i, (b, p) in enumerate(zip(base, prepared, strict=True))]

    def emit(i: int, method: str, cues: str, metric: str, value: float, seconds: float,
             against: str = "") -> None:
        spec = ctx.metrics.get(metric)
        rows.append({**base[i], "method": method, "cues": cues, "metric": metric,
                     "against": against, "value": float(value),
                     "direction": spec.direction if spec else "",
                     "category": spec.category if spec else "", "seconds": seconds})

    for mname in ctx.methods:
        attr_s = attr_seconds[mname]
        wins = find_windows_batch(maps[mname], fe.frame_s, wopts)
        wins_orig = [to_original(w, p) for w, p in zip(wins, prepared, strict=True)]
        for i in range(n):
            emit(i, mname, "", "time-attribution", attr_s, attr_s)
            for rank, (w, wo) in enumerate(zip(wins[i], wins_orig[i], strict=True)):
                windows_rows.append({"clip_id": clips[i].id, "method": mname, "rank": rank,
                                     "start_s": wo.start_s, "end_s": wo.end_s,
                                     "model_start_s": w.start_s, "model_end_s": w.end_s,
                                     "share": w.share, "padding_share": padding_share(w, wo)})
        _score_method(ctx, emit, profiles, mname, clips, prepared, x, maps[mname], target, wins,
                      wins_orig, tracks, cue_seconds, planted)
    return {"results": rows, "profiles": profiles, "windows": windows_rows, "clips": clip_rows}


def _planted_masks(clips: list[Any], prepared: list[Any], fe: Any) -> np.ndarray | None:
    """(B, n_mels, T) masks of the planted spans on the model timeline; None without spans."""
    if not any(c.meta.get("spans") for c in clips):
        return None
    from bsx.scoring.groundtruth import span_mask

    masks = []
    for c, p in zip(clips, prepared, strict=True):
        spans = [(float(p.to_model(a)), float(p.to_model(b))) for a, b in c.meta.get("spans", [])]
        masks.append(span_mask(spans, fe.frame_s, fe.n_frames, fe.n_mels))
    return np.stack(masks)


def _score_method(ctx: BatchContext, emit: Callable[..., None], profiles: list[dict[str, Any]],
                  mname: str, clips: list[Any], prepared: list[Any], x: Any, maps: np.ndarray,
                  target: np.ndarray, wins: list[list[Any]], wins_orig: list[list[Any]],
                  tracks: dict[str, list[Any]], cue_seconds: dict[str, float],
                  planted: np.ndarray | None) -> None:
    """Every selected metric for one method on one batch; each input computed once."""
    from bsx.cues.profile import cue_profile, profile_rows
    from bsx.scoring.agreement import aggregate_agreement, agreement
    from bsx.scoring.cue_masks import expert_cue_masks
    from bsx.scoring.groundtruth import gt_precision_recall
    from bsx.scoring.localisation import localisation_scores

    cfg, fe, labels = ctx.cfg, ctx.loaded.frontend, ctx.loaded.labels
    n = len(clips)
    by_cat: dict[str, list[str]] = {}
    for name, spec in ctx.metrics.items():
        by_cat.setdefault(spec.category, []).append(name)
    loc = by_cat.get("localisation", [])

    # Ground truth (planted spans), on the original timeline.
    if planted is not None:
        for i, c in enumerate(clips):
            spans = [tuple(s) for s in c.meta.get("spans", [])]
            if not spans:
                continue
            t0 = time.perf_counter()
            prec, rec = gt_precision_recall([(w.start_s, w.end_s) for w in wins_orig[i]], spans)
            dt = time.perf_counter() - t0
            if "gt-precision" in ctx.metrics:
                emit(i, mname, "", "gt-precision", prec, dt, "planted")
            if "gt-recall" in ctx.metrics:
                emit(i, mname, "", "gt-recall", rec, dt, "planted")
        if loc:
            t0 = time.perf_counter()
            scores, _ = localisation_scores(maps, planted, loc)
            dt = (time.perf_counter() - t0) / n / max(len(loc), 1)
            for metric, vals in scores.items():
                for i in range(n):
                    emit(i, mname, "", metric, vals[i], dt, "planted")

    # Cue profiles, agreement and expert-cue masks, per cue set.
    for cname, ctracks in tracks.items():
        masks = []
        for i, (c, p) in enumerate(zip(clips, prepared, strict=True)):
            pad = p.pad_offset_s
            windows = [(max(0.0, w.start_s - pad), min(p.content_s, w.end_s - pad))
                       for w in wins[i]]
            windows = [(a, b) for a, b in windows if b > a]
            t0 = time.perf_counter()
            prof = cue_profile(ctracks[i], windows, content=(0.0, p.content_s))
            emotion = labels[target[i]]
            agree = agreement(prof, emotion, ctx.expert)
            dt = time.perf_counter() - t0 + cue_seconds[cname]
            emit(i, mname, cname, "time-cues", cue_seconds[cname], cue_seconds[cname])
            if "cue-agreement-rest" in ctx.metrics:
                emit(i, mname, cname, "cue-agreement-rest",
                     aggregate_agreement(agree, against="rest"), dt)
            for row in profile_rows(prof):
                profiles.append({"clip_id": c.id, "method": mname, "cues": cname,
                                 "label": c.label, "target": emotion, "speaker": c.speaker,
                                 **row})
            if loc:
                cue_masks = expert_cue_masks(
                    ctracks[i], emotion, ctx.expert, to_model=functools.partial(np.add, pad),
                    frame_s=fe.frame_s, n_frames=fe.n_frames, n_mels=fe.n_mels)
                union = np.zeros((fe.n_mels, fe.n_frames), dtype=bool)
                for m in cue_masks.values():
                    union |= m
                masks.append(union)
        if loc:
            t0 = time.perf_counter()
            scores, _ = localisation_scores(maps, np.stack(masks), loc)
            dt = (time.perf_counter() - t0) / n / max(len(loc), 1)
            for metric, vals in scores.items():
                for i in range(n):
                    emit(i, mname, cname, metric, vals[i], dt, "expert-cues")

    # Quantus faithfulness, randomisation, robustness, complexity.
    quantus = [m for cat in ("faithfulness", "randomisation", "robustness", "complexity")
               for m in by_cat.get(cat, [])]
    if quantus:
        from bsx.scoring.faithfulness import quantus_scores

        for metric in quantus:
            t0 = time.perf_counter()
            vals = quantus_scores(
                ctx.loaded.net, x.detach().cpu().numpy(), target, maps, [metric],
                device=ctx.device, seed=cfg.seed, explain_fn=_explain_fn(mname, cfg),
            )[metric]
            dt = (time.perf_counter() - t0) / n
            for i in range(n):
                emit(i, mname, "", metric, vals[i], dt)

    # Cue ablation: the target probability drop when the cue is neutralised in the windows.
    abl = by_cat.get("ablation", [])
    if abl:
        from bsx.scoring.ablation import cue_ablation

        t0 = time.perf_counter()
        res = cue_ablation(ctx.loaded.net, prepared, [[(w.start_s, w.end_s) for w in ws]
                                                      for ws in wins],
                           target, cue=cfg.ablation_cue, seed=cfg.seed, device=ctx.device,
                           batch_size=cfg.batch_size)
        dt = (time.perf_counter() - t0) / n
        for i in range(n):
            if "ablation-drop" in abl:
                emit(i, mname, "", "ablation-drop", res.drop_salient[i], dt, cfg.ablation_cue)
            if "ablation-gain" in abl:
                emit(i, mname, "", "ablation-gain", res.gain[i], dt, cfg.ablation_cue)


def _explain_fn(method: str, cfg: EvalConfig) -> Callable[..., np.ndarray]:
    """A Quantus explain_func that rebuilds the bsx method on the model it is given."""

    def explain(model: Any, inputs: Any, targets: Any, **_: Any) -> np.ndarray:
        import torch

        from bsx.plugins import build

        dev = next(model.parameters()).device
        xb = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=dev)
        tb = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=dev)
        m = build("method", method, model, options=cfg.method_options.get(method))
        return m.attribute(xb, tb).detach().cpu().numpy()[:, None]

    return explain

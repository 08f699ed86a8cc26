"""One batch through the stages: predict -> attribute -> salient windows -> cue profiles ->
each scorer of the run's metric specs (bsx.evaluation.computes). Each stage returns a value;
the batch's rows (records.BatchRows) are built from them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.evaluation.config import EvalConfig, window_options
from bsx.evaluation.placement import LocalPlacement, Placement
from bsx.evaluation.records import BatchRows, Row, result_rows
from bsx.scoring.scorers import ScoreRow, rows_for_all

if TYPE_CHECKING:
    import torch

    from bsx.audio import Prepared
    from bsx.cues.base import CueExtractor, CueTracks
    from bsx.datasets.base import Clip
    from bsx.evaluation.attribute import Attributions, Units
    from bsx.evaluation.computes import BatchInputs, MethodBatch
    from bsx.evaluation.prepare import PendingCues, Submitted
    from bsx.evaluation.seeds import SeedModels
    from bsx.expert import ExpertTable
    from bsx.models.checkpoint import LoadedModel
    from bsx.scoring.specs import MetricSpec


@dataclass
class BatchContext:
    """What stays fixed across batches: config, model, built methods and extractors."""

    cfg: EvalConfig
    loaded: LoadedModel
    device: torch.device
    methods: dict[str, Any]
    extractors: dict[str, CueExtractor]
    expert: ExpertTable
    metrics: dict[str, MetricSpec]
    _clip_functions: dict[str, Any] = field(default_factory=dict)
    seeds: SeedModels | None = None  # the other seeds' models, if given
    meta_clips: frozenset[str] = frozenset()  # clips the meta-evaluation re-scores
    placement: Placement = field(default_factory=LocalPlacement)  # attribution and cues

    def clip_function(self, spec: MetricSpec) -> Any:
        """A "clip" metric's function, built once per run from its factory."""
        if spec.name not in self._clip_functions:
            self._clip_functions[spec.name] = spec.factory(options=spec.make_options())
        return self._clip_functions[spec.name]


def channels_last(device: torch.device, net: torch.nn.Module) -> bool:
    """NHWC convolutions are ~25% faster (forward + backward) on the CPU, but a model that
    flattens with .view() fails on them: only for models that declare `channels_last_ok`."""
    return device.type == "cpu" and bool(getattr(net, "channels_last_ok", False))


@dataclass(frozen=True)
class Predictions:
    """The model's view of a batch: class probabilities (B, C), predicted and true class
    indices, the class each clip is explained for, and each clip's base row columns."""

    probs: np.ndarray
    pred: np.ndarray
    truth: np.ndarray
    target: np.ndarray
    target_labels: tuple[str, ...]
    base: tuple[Row, ...]


@dataclass(frozen=True)
class CueTrackSet:
    """The cue tracks of a batch per cue set, and the wall seconds per clip each took."""

    tracks: dict[str, list[CueTracks]]
    seconds: dict[str, float]


@dataclass(frozen=True)
class MethodRows:
    """One method's rows for a batch, and its view of the batch (for the meta-evaluation)."""

    results: tuple[Row, ...]
    profiles: tuple[Row, ...]
    windows: tuple[Row, ...]
    batch: MethodBatch


def predict(ctx: BatchContext, units: Units, clips: tuple[Clip, ...]) -> Predictions:
    """Clip logits -> probabilities, predictions and the targets to explain."""
    import torch

    from bsx.evaluation.attribute import clip_logits

    labels = ctx.loaded.labels
    probs = torch.softmax(clip_logits(ctx.loaded.net, units), dim=1).cpu().numpy()
    pred = probs.argmax(1)
    truth = np.array([labels.index(c.label) for c in clips])
    target = pred if ctx.cfg.target == "predicted" else truth
    base = tuple({
        "clip_id": c.id, "path": str(c.path), "label": c.label, "speaker": c.speaker,
        "pred": labels[pred[i]], "target": labels[target[i]], "correct": bool(pred[i] == truth[i]),
    } for i, c in enumerate(clips))
    return Predictions(probs=probs, pred=pred, truth=truth, target=target,
                       target_labels=tuple(labels[t] for t in target), base=base)


def clip_rows(preds: Predictions, prepared: tuple[Prepared, ...],
              labels: Sequence[str]) -> tuple[Row, ...]:
    """clips.csv rows: the base columns, each class's probability and what was kept."""
    from bsx.windows import file_seconds

    return tuple({**b, **{f"p_{lab}": float(preds.probs[i, j]) for j, lab in enumerate(labels)},
                  "trim_offset_s": file_seconds(p.trim_offset_s),
                  "content_s": file_seconds(p.content_s),
                  "units": len(p.unit_starts), "kept_share": p.kept_share}
                 for i, (b, p) in enumerate(zip(preds.base, prepared, strict=True)))


def wait_tracks(cues: PendingCues, n: int) -> CueTrackSet:
    """The batch's cue tracks, waited for. Seconds: wall time per clip from submission until
    the last clip's tracks arrived (queue included; overlapped with other work); not until
    this process came back for them, which on a pipelined run is the previous batch's
    scoring time."""
    tracks: dict[str, list[CueTracks]] = {}
    seconds: dict[str, float] = {}
    for name, wait in cues.handles.items():
        tracks[name] = wait()
        ready = getattr(wait, "ready_at", None)
        seconds[name] = ((ready if ready is not None else time.perf_counter())
                         - cues.submitted_at) / n
    return CueTrackSet(tracks=tracks, seconds=seconds)


def evaluate_batch(ctx: BatchContext, item: Submitted) -> BatchRows:
    """One submitted batch (prepare.submit) through the whole chain; returns its rows."""
    from bsx.evaluation.attribute import stack_units
    from bsx.evaluation.computes import BatchInputs
    from bsx.evaluation.groundtruth import planted_masks

    cfg, loaded = ctx.cfg, ctx.loaded
    clips, prepared = item.clips, item.prepared
    cues = item.cues or ctx.placement.submit_cues(ctx.extractors, prepared,
                                                  loaded.frontend.sample_rate, cfg.workers)
    units = stack_units(list(prepared), ctx.device,
                        channels_last=channels_last(ctx.device, loaded.net))
    if loaded.meta.get("task") == "regression":  # bsx.evaluation.dimensional
        from bsx.evaluation.dimensional import regression_predictions

        preds, crows = regression_predictions(ctx, units, clips, prepared)
    else:
        preds = predict(ctx, units, clips)
        crows = clip_rows(preds, prepared, loaded.labels)
    attrs = ctx.placement.attribute(ctx.methods, units, preds.target, list(prepared))
    got = wait_tracks(cues, len(clips))
    inputs = BatchInputs(clips=list(clips), prepared=list(prepared), units=units,
                         target=preds.target, target_labels=list(preds.target_labels),
                         planted=planted_masks(list(clips), list(prepared)), tracks=got.tracks,
                         cue_seconds=got.seconds, expert=ctx.expert)
    per_method = [method_rows(ctx, inputs, m, a, preds.base) for m, a in attrs.items()]
    results = [r for m in per_method for r in m.results]
    meta: dict[str, list[Row]] = {}
    picked = [i for i, c in enumerate(clips) if c.id in ctx.meta_clips]
    if picked:
        from bsx.evaluation.meta import meta_rows

        t0 = time.perf_counter()
        meta = meta_rows(ctx, inputs, {m.batch.method: m.batch for m in per_method}, picked)
        dt = (time.perf_counter() - t0) / len(picked)  # a stage of its own in timings.csv
        results += result_rows(preds.base, ctx.metrics, "all",
                               [ScoreRow(i, "time-meta-evaluation", dt, seconds=dt)
                                for i in picked])
    return BatchRows(results=tuple(results),
                     profiles=tuple(r for m in per_method for r in m.profiles),
                     windows=tuple(r for m in per_method for r in m.windows),
                     clips=crows, meta=meta)


def method_rows(ctx: BatchContext, inputs: BatchInputs, method: str, attr: Attributions,
                base: tuple[Row, ...]) -> MethodRows:
    """One method's salient windows, cue profiles and scores on a batch, as rows."""
    from bsx.evaluation.computes import MethodBatch
    from bsx.evaluation.cue_scores import cue_profile_rows
    from bsx.evaluation.salient import pause_shares, salient_windows, window_rows
    from bsx.windows import for_method

    n, prepared = len(inputs.clips), inputs.prepared
    mopts = for_method(window_options(ctx.cfg), ctx.methods[method])  # its sign rule unless given
    wins, wins_orig = salient_windows(attr.clips, prepared, ctx.loaded.frontend.frame_s, mopts)
    windows = window_rows([c.id for c in inputs.clips], method, wins, wins_orig,
                          pause_shares(wins, prepared, next(iter(inputs.tracks.values()), None)))
    profiles = cue_profile_rows(method, inputs.clips, prepared, wins, inputs.target_labels,
                                inputs.tracks, inputs.cue_seconds, seed=ctx.cfg.seed)
    mb = MethodBatch(method=method, batch=inputs, attr=attr, wins=wins, wins_orig=wins_orig,
                     sign=mopts.sign, window_opts=mopts)
    scores = [*rows_for_all("time-attribution", [attr.seconds] * n, attr.seconds),
              *profiles.timings, *method_scores(ctx, mb)]
    return MethodRows(results=tuple(result_rows(base, ctx.metrics, method, scores)),
                      profiles=profiles.rows, windows=tuple(windows), batch=mb)


def method_scores(ctx: BatchContext, mb: MethodBatch) -> list[ScoreRow]:
    """Every scorer of the run's metrics on one method's batch, in the order the run's specs
    first name them; a metric declared for another input kind is NaN (run.py warned once)."""
    from bsx.evaluation.computes import by_compute
    from bsx.scoring.scorers import batch_scorers, score

    n, kind = len(mb.batch.clips), mb.batch.units.kind
    scorers = batch_scorers()
    rows: list[ScoreRow] = []
    for compute, specs in by_compute(ctx.metrics).items():
        runs = [s for s in specs if s.runs_on(kind)]
        for spec in specs:
            if spec not in runs:
                rows += rows_for_all(spec.name, [float("nan")] * n, 0.0)
        if runs:
            rows += score(compute, scorers[compute], ctx, mb, runs)
    return rows

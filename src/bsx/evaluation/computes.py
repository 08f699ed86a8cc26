"""The per-clip computes: what the engine runs for each MetricSpec.compute, one call per
method and batch for every metric of that compute (bsx.scoring.specs.COMPUTES).

A compute is a batch scorer (bsx.scoring.scorers): fn(ctx, mb, specs) -> list[ScoreRow]; it
reads the batch's inputs (MethodBatch) and returns one value per clip for each of `specs`;
the batch loop writes the rows. Grouping is what lets one call serve several metrics: one
Quantus pass per batch, one ablation pass for drop and gain, one localisation call per mask
kind. A new kind of score (seed reliability, say) is a spec naming a compute here.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.evaluation.attribute import Attributions, Units
from bsx.scoring.scorers import ScoreRow

if TYPE_CHECKING:
    from bsx.audio import Prepared
    from bsx.cues.base import CueTracks
    from bsx.datasets.base import Clip
    from bsx.evaluation.batch import BatchContext
    from bsx.expert import ExpertTable
    from bsx.scoring.specs import MetricSpec
    from bsx.windows import Window, WindowOptions


@dataclass(frozen=True)
class BatchInputs:
    """What every method of a batch shares: clips, model inputs, targets, cue tracks and the
    masks derived from them (computed once per batch, on first use)."""

    clips: list[Clip]
    prepared: list[Prepared]
    units: Units
    target: np.ndarray
    target_labels: list[str]
    planted: list[np.ndarray] | None
    tracks: dict[str, list[CueTracks]]
    cue_seconds: dict[str, float]
    expert: ExpertTable
    _cue_masks: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def cue_masks(self, cues: str) -> list[np.ndarray]:
        """Per clip, the (F, T) union of the target emotion's expert-cue masks of cue set
        `cues` on the model grid (bsx.scoring.cue_masks)."""
        if cues not in self._cue_masks:
            from bsx.evaluation.cue_scores import expert_union_masks

            self._cue_masks[cues] = expert_union_masks(
                self.tracks[cues], self.prepared, self.target_labels, self.expert)
        return self._cue_masks[cues]


@dataclass(frozen=True)
class MethodBatch:
    """One method's view of a batch: its maps (per unit and per clip), salient windows on the
    model and the original timelines, and its window options and sign rule (a compute that
    windows other maps, of other seeds' models say, uses the same)."""

    method: str
    batch: BatchInputs
    attr: Attributions
    wins: list[list[Window]]
    wins_orig: list[list[Window]]
    sign: str | None
    window_opts: WindowOptions  # what the maps were windowed with (sign applied)

    @property
    def maps(self) -> list[np.ndarray]:
        return self.attr.clips


@dataclass(frozen=True, kw_only=True)
class ClipInputs:
    """One clip and one method, as a "clip" metric's function sees them.

    Always set: the clip's ids and labels, its (F, T) relevance `map` on the model timeline
    (F = n_mels for log-mel models, 1 for waveform ones), `frame_s` (seconds per map frame)
    and `content` (start, end) of the real content on that timeline in seconds (the rest is
    the front-end's padding). Set only when the metric's spec consumes them (else None):
    windows: the salient windows as (start_s, end_s) on the model timeline;
    planted: (F, T) bool mask of the planted spans (None on corpora without them);
    cue_masks: {cue set: (F, T) bool union of the target emotion's expert-cue masks};
    waveform: the model timeline at `sample_rate`; model + units: the eval-mode model and the
    clip's input units as tensors on its device ((1, 128, T) log-mels or (N,) waveforms).
    """

    clip_id: str
    label: str
    target: str
    target_index: int
    map: np.ndarray
    frame_s: float
    content: tuple[float, float]
    sample_rate: int
    windows: list[tuple[float, float]] | None = None
    planted: np.ndarray | None = None
    cue_masks: dict[str, np.ndarray] | None = None
    waveform: np.ndarray | None = None
    model: Any = None
    units: list[Any] | None = None


def clip_inputs(ctx: BatchContext, mb: MethodBatch, spec: MetricSpec, i: int) -> ClipInputs:
    """Clip i of the batch, with what `spec` declared it consumes."""
    b = mb.batch
    c, p = b.clips[i], b.prepared[i]
    fe = p.frontend
    needs = set(spec.consumes)
    units = None
    if {"model", "units"} & needs:
        units = [x[k] for idx, x in b.units.groups
                 for k, j in enumerate(idx) if b.units.clip_of[j] == i]
    return ClipInputs(
        clip_id=c.id, label=c.label, target=b.target_labels[i], target_index=int(b.target[i]),
        map=mb.maps[i], frame_s=fe.frame_s,
        content=(p.pad_offset_s, p.pad_offset_s + p.content_s), sample_rate=fe.sample_rate,
        windows=[(w.start_s, w.end_s) for w in mb.wins[i]] if "windows" in needs else None,
        planted=b.planted[i] if "planted" in needs and b.planted is not None else None,
        cue_masks=({cues: b.cue_masks(cues)[i] for cues in b.tracks}
                   if "cue-masks" in needs else None),
        waveform=p.waveform if "waveform" in needs else None,
        model=ctx.loaded.net if "model" in needs else None,
        units=units,
    )


def per_clip_function(ctx: BatchContext, mb: MethodBatch,
                      specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """The "clip" scorer: each metric's own function, once per clip."""
    rows = []
    for spec in specs:
        fn = ctx.clip_function(spec)
        for i in range(len(mb.batch.clips)):
            t0 = time.perf_counter()
            value = float(fn(clip_inputs(ctx, mb, spec, i)))
            rows.append(ScoreRow(i, spec.name, value, seconds=time.perf_counter() - t0))
    return rows


def post_hoc(ctx: BatchContext, mb: MethodBatch,
             specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """The "cue-profiles" compute: nothing per batch. The profile rows are written for every
    run (bsx.evaluation.cue_scores.write_profiles) and agreement is scored from them after
    the run, in one place (bsx.report.posthoc)."""
    return []


def seed_models(ctx: BatchContext, mb: MethodBatch,
                specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """The "seed-models" compute: the method re-run on the other seeds' models, its maps and
    windows compared with the main model's (bsx.evaluation.seeds); nothing without them."""
    if ctx.seeds is None:
        return []
    from bsx.evaluation.seeds import score_seeds

    b = mb.batch
    return score_seeds([s.name for s in specs], mb.method, ctx.seeds, b.units, b.target,
                       b.prepared, mb.maps, mb.wins_orig, mb.window_opts)


def by_compute(specs: dict[str, MetricSpec]) -> dict[str, list[MetricSpec]]:
    """The run's metrics grouped by compute, in the order they first appear."""
    out: dict[str, list[MetricSpec]] = {}
    for spec in specs.values():
        out.setdefault(spec.compute, []).append(spec)
    return out


def unsupported(specs: dict[str, MetricSpec], kind: str) -> list[str]:
    """The metrics that do not run on models of input kind `kind` (their declared kinds)."""
    return [name for name, spec in specs.items() if not spec.runs_on(kind)]


def warn_unsupported(specs: dict[str, MetricSpec], kind: str) -> None:
    """One warning per run naming the metrics that are NaN for this model's input kind."""
    names = unsupported(specs, kind)
    if names:
        warnings.warn(f"{', '.join(names)} {'runs' if len(names) == 1 else 'run'} on "
                      f"{' and '.join(k for k in ('logmel', 'waveform') if k != kind)} models "
                      f"only; NaN for this {kind} model", stacklevel=2)

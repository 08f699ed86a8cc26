"""The meta-evaluation's values: the run's own computes re-called on perturbed maps of a few
clips (after MetaQuantus, Hedstroem et al. 2023; docs/meta-evaluation.md).

For each method of a batch, on the picked clips only (EvalConfig.meta_clips per run, so the
cost stays bounded), every metric of the run is scored again on: the map itself, the map
inverted inside the content, shifted circularly by half the content, shifted by one frame, and
(removal scores) with the other removal baseline; and on the random baseline's map, the same
redrawn with another seed (every seed of the score moved with it), and with the other
baseline. Windows are re-derived from each perturbed map with the method's own window rule,
so window-based scores (ground truth, ablation, cue profiles) see the perturbation too. The
table is made from these values by bsx.scoring.meta.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bsx.evaluation.records import result_rows
from bsx.scoring.faithfulness import BASELINE_METRICS
from bsx.scoring.meta import (
    INVERTED,
    ORIGINAL,
    OTHER_BASELINE,
    RANDOM,
    RANDOM_OTHER_BASELINE,
    RANDOM_SEED,
    SHIFT_1,
    SHIFTED,
)

if TYPE_CHECKING:
    from bsx.evaluation.batch import BatchContext
    from bsx.evaluation.computes import BatchInputs, MethodBatch

Perturb = Callable[[np.ndarray, int, int], np.ndarray]


def invert(m: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The map's opposite inside content frames [lo, hi): max minus map (the padding kept)."""
    out = np.array(m, copy=True)
    seg = out[..., lo:hi]
    if seg.size:
        out[..., lo:hi] = seg.max() - seg
    return out


def shift(m: np.ndarray, lo: int, hi: int, k: int) -> np.ndarray:
    """The map rolled circularly by k frames inside content frames [lo, hi)."""
    out = np.array(m, copy=True)
    if hi - lo > 1:
        out[..., lo:hi] = np.roll(out[..., lo:hi], k, axis=-1)
    return out


def half_shift(m: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Shifted by half the content: the right shape at the wrong time."""
    return shift(m, lo, hi, max(1, (hi - lo) // 2))


def one_frame(m: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return shift(m, lo, hi, 1)


MAP_VARIANTS: dict[str, Perturb] = {INVERTED: invert, SHIFTED: half_shift, SHIFT_1: one_frame}


def pick_clips(clip_ids: Sequence[str], n: int) -> frozenset[str]:
    """n clip ids spread evenly over the run's clips (the same on a resumed run)."""
    if n <= 0 or not clip_ids:
        return frozenset()
    if n >= len(clip_ids):
        return frozenset(clip_ids)
    idx = np.unique(np.linspace(0, len(clip_ids) - 1, n).round().astype(int))
    return frozenset(clip_ids[i] for i in idx)


def sub_batch(ctx: BatchContext, b: BatchInputs, sel: list[int]) -> BatchInputs:
    """The picked clips of a batch as a batch of their own (units re-stacked)."""
    from bsx.evaluation.attribute import stack_units
    from bsx.evaluation.batch import channels_last
    from bsx.evaluation.computes import BatchInputs

    prepared = [b.prepared[i] for i in sel]
    units = stack_units(
        prepared, ctx.device, channels_last=channels_last(ctx.device, ctx.loaded.net)
    )
    return BatchInputs(
        clips=[b.clips[i] for i in sel],
        prepared=prepared,
        units=units,
        target=b.target[sel],
        target_labels=[b.target_labels[i] for i in sel],
        planted=None if b.planted is None else [b.planted[i] for i in sel],
        tracks={k: [t[i] for i in sel] for k, t in b.tracks.items()},
        cue_seconds=b.cue_seconds,
        expert=b.expert,
    )


def _unit_content(b: BatchInputs, maps: list[np.ndarray]) -> list[tuple[int, int]]:
    """Content frames [lo, hi) of each unit map on its own grid."""
    out: list[tuple[int, int]] = []
    seen: dict[int, int] = {}
    for j, i in enumerate(b.units.clip_of):
        k = seen.get(int(i), 0)
        seen[int(i)] = k + 1
        p = b.prepared[int(i)]
        out.append(p.content_frames(p.unit_starts[k], maps[j].shape[-1]))
    return out


def perturbed(
    ctx: BatchContext, b: BatchInputs, mb: MethodBatch, fn: Perturb | None
) -> MethodBatch:
    """mb with every unit map perturbed by fn inside its content (None: as it is), the clip
    maps re-stitched and the windows re-derived with the method's window rule."""
    from bsx.evaluation.attribute import Attributions, to_clip_maps
    from bsx.evaluation.computes import MethodBatch
    from bsx.evaluation.salient import salient_windows

    units = list(mb.attr.units)
    if fn is not None:
        units = [fn(m, lo, hi) for m, (lo, hi) in zip(units, _unit_content(b, units), strict=True)]
    clips = to_clip_maps(units, b.units, b.prepared)
    fe = b.prepared[0].frontend
    wins, wins_orig = salient_windows(clips, b.prepared, fe.frame_s, mb.window_opts)
    return MethodBatch(
        method=mb.method,
        batch=b,
        attr=Attributions(units=units, clips=clips),
        wins=wins,
        wins_orig=wins_orig,
        sign=mb.sign,
        window_opts=mb.window_opts,
    )


def method_batch(
    ctx: BatchContext,
    b: BatchInputs,
    method: str,
    source: MethodBatch | None,
    options: dict[str, Any] | None = None,
) -> MethodBatch:
    """One method's MethodBatch on the sub-batch: the run's maps of the picked clips when
    `source` (the full batch's) is given, else the method attributed afresh (the random
    baseline of a run without it, or of another seed)."""
    from bsx.evaluation.attribute import Attributions, attribute
    from bsx.evaluation.computes import MethodBatch
    from bsx.plugins import build
    from bsx.windows import for_method

    if source is not None:
        keep = {c.id for c in b.clips}
        rows = [i for i, c in enumerate(source.batch.clips) if c.id in keep]
        unit_idx = np.concatenate([np.flatnonzero(source.batch.units.clip_of == i) for i in rows])
        attr = Attributions(
            units=[source.attr.units[j] for j in unit_idx],
            clips=[source.attr.clips[i] for i in rows],
        )
        mb = MethodBatch(
            method=method,
            batch=b,
            attr=attr,
            wins=[],
            wins_orig=[],
            sign=source.sign,
            window_opts=source.window_opts,
        )
        return perturbed(ctx, b, mb, None)
    from bsx.evaluation.config import window_options

    meth = build("method", method, ctx.loaded.net, options=options)
    mopts = for_method(window_options(ctx.cfg), meth)
    attr = attribute(meth, b.units, b.target, b.prepared)
    mb = MethodBatch(
        method=method, batch=b, attr=attr, wins=[], wins_orig=[], sign=mopts.sign, window_opts=mopts
    )
    return perturbed(ctx, b, mb, None)


def score(
    ctx: BatchContext, mb: MethodBatch, variant: str, *, only: Sequence[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The run's computes on one variant: (value rows, cue-profile rows), tagged with it.
    `only`: just these metrics (the other-baseline variants score the removal metrics)."""
    from bsx.evaluation.computes import by_compute
    from bsx.evaluation.cue_scores import cue_profile_rows
    from bsx.scoring.scorers import batch_scorers
    from bsx.scoring.scorers import score as run_scorer

    b = mb.batch
    base = [{"clip_id": c.id, "speaker": c.speaker} for c in b.clips]
    specs = {n: s for n, s in ctx.metrics.items() if only is None or n in only}
    scorers = batch_scorers()
    scores = []
    for compute, group in by_compute(specs).items():
        runs = [s for s in group if s.runs_on(b.units.kind)]
        if runs:
            scores += run_scorer(compute, scorers[compute], ctx, mb, runs)
    keep = ("clip_id", "speaker", "metric", "cues", "against", "value")
    values = [
        {**{k: r[k] for k in keep}, "method": mb.method, "variant": variant}
        for r in result_rows(base, specs, mb.method, scores)
        if r["metric"] in specs
    ]
    profiles: list[dict[str, Any]] = []
    if only is None and any("cue-profiles" in s.consumes for s in specs.values()):
        profiles = [{**r, "variant": variant} for r in cue_profile_rows(
            mb.method, b.clips, b.prepared, mb.wins, b.target_labels, b.tracks, b.cue_seconds,
            seed=ctx.cfg.seed).rows]
    return values, profiles


def _with_cfg(ctx: BatchContext, **update: Any) -> BatchContext:
    return dataclasses.replace(ctx, cfg=ctx.cfg.model_copy(update=update))


def meta_rows(
    ctx: BatchContext, b: BatchInputs, mbs: dict[str, MethodBatch], sel: list[int]
) -> dict[str, list[dict[str, Any]]]:
    """The meta-evaluation's value and profile rows of the picked clips `sel` of a batch:
    {"meta": value rows, "meta_profiles": cue-profile rows}."""
    if not sel:
        return {"meta": [], "meta_profiles": []}
    sub = sub_batch(ctx, b, sel)
    other = "noise" if ctx.cfg.baseline == "silence" else "silence"
    removal = [n for n in ctx.metrics if n in BASELINE_METRICS]
    values: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []

    def add(rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        values.extend(rows[0])
        profiles.extend(rows[1])

    for method, mb in mbs.items():
        if method == RANDOM:
            continue
        own = method_batch(ctx, sub, method, mb)
        add(score(ctx, own, ORIGINAL))
        for variant, fn in MAP_VARIANTS.items():
            add(score(ctx, perturbed(ctx, sub, own, fn), variant))
        if removal:
            add(score(_with_cfg(ctx, baseline=other), own, OTHER_BASELINE, only=removal))
    r_opts = dict(ctx.cfg.method_options.get(RANDOM) or {})
    rnd = method_batch(ctx, sub, RANDOM, mbs.get(RANDOM), r_opts)
    add(score(ctx, rnd, RANDOM))
    seed = int(r_opts.get("seed", 0))
    reseeded = method_batch(ctx, sub, RANDOM, None, {**r_opts, "seed": seed + 1})
    add(score(_with_cfg(ctx, seed=ctx.cfg.seed + 1), reseeded, RANDOM_SEED))
    if removal:
        add(score(_with_cfg(ctx, baseline=other), rnd, RANDOM_OTHER_BASELINE, only=removal))
    return {"meta": values, "meta_profiles": profiles}


SEP = "\x1f"  # joins method and variant into one method key for the agreement tables


def agreement_values(
    profiles: pd.DataFrame,
    run_profiles: pd.DataFrame,
    clips: pd.DataFrame,
    expert: Any,
    metrics: Sequence[str],
) -> pd.DataFrame:
    """The cue-agreement scores of the meta-evaluation's profile rows, scored as the run
    scores its own (bsx.report.posthoc.agreement_tables), against the neutral baseline of
    the run's neutral clips (their whole content: the same for every method and variant)."""
    from bsx.report.posthoc import agreement_tables

    if profiles.empty or not metrics:
        return pd.DataFrame()
    tagged = profiles.assign(method=profiles["method"] + SEP + profiles["variant"])
    tagged = tagged.drop(columns=["variant"])
    if not run_profiles.empty and "label" in run_profiles:
        neutral = run_profiles[run_profiles["label"] == "neutral"]
        tagged = pd.concat([tagged, neutral], ignore_index=True)
    _, rows = agreement_tables(tagged, clips, expert, metrics=list(metrics))
    out = pd.DataFrame([r for r in rows if SEP in str(r["method"])])
    if out.empty:
        return out
    split = out["method"].str.split(SEP, n=1, expand=True)
    keep = ["clip_id", "speaker", "metric", "cues", "against", "value"]
    return out[keep].assign(method=split[0], variant=split[1])


# The dimension-* scores are correlations across clips: the meta-evaluation scores them on the
# meta clips (dimension_values); the sign agreement is one share per speaker (or per run), not
# a per-clip value, so paired per-clip differences would repeat one number.
DIMENSION_NOTE = ("rank terms over the meta clips: their paired difference averages to the "
                  "difference of the two maps' rho; the CI is approximate (ranks not re-taken)")
SIGN_WHY = ("one share per speaker, or per run when clips are the units, not a value per clip: "
            "its paired differences between maps would repeat one number")


def dimension_values(
    profiles: pd.DataFrame, clips: pd.DataFrame, dimension: str | None, metrics: Sequence[str]
) -> pd.DataFrame:
    """The dimension-cue-rho(-gain) terms of the meta-evaluation's profile rows: each method x
    variant ranked across the meta clips as the run ranks its own clips
    (bsx.scoring.dimensional.dimension_tables), the predicted values from clips.csv."""
    from bsx.expert import load_dimensions
    from bsx.scoring.dimensional import dimension_tables

    if profiles.empty or not metrics or dimension is None:
        return pd.DataFrame()
    tagged = profiles.assign(method=profiles["method"] + SEP + profiles["variant"])
    rows, _ = dimension_tables(tagged.drop(columns=["variant"]), clips, dimension,
                               load_dimensions(), metrics)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    split = out["method"].str.split(SEP, n=1, expand=True)
    keep = ["clip_id", "speaker", "metric", "cues", "against", "value"]
    return out[keep].assign(method=split[0], variant=split[1])


def meta_evaluation(
    values: pd.DataFrame,
    profiles: pd.DataFrame,
    run_profiles: pd.DataFrame,
    clips: pd.DataFrame,
    expert: Any,
    specs: dict[str, Any],
    picked: int,
    dimension: str | None = None,
) -> dict[str, Any]:
    """summary["meta_evaluation"] from the rows the batches wrote (parts "meta" and
    "meta_profiles"), the cue-agreement scores of the profiles added, and for one dimension
    of a regression run its dimension-cue-rho(-gain) terms (DIMENSION_NOTE)."""
    from bsx.report.posthoc import AGREEMENT_METRICS
    from bsx.scoring.dimensional import GAIN, RHO, SIGN
    from bsx.scoring.meta import empty_row, meta_summary

    agree = agreement_values(
        profiles, run_profiles, clips, expert, [m for m in AGREEMENT_METRICS if m in specs]
    )
    dims = dimension_values(profiles, clips, dimension, [m for m in (RHO, GAIN) if m in specs])
    frames = [f for f in (values, agree, dims) if not f.empty]
    allv = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    n = int(allv["clip_id"].nunique()) if not allv.empty else 0
    out = meta_summary(allv, {k: s.direction for k, s in specs.items()}, n)
    out["picked"] = picked
    seen = {r["metric"] for r in out["rows"]}
    out["rows"] += [empty_row(m, SIGN_WHY) if m == SIGN else empty_row(m)
                    for m in specs if m not in seen]
    for r in out["rows"]:  # a description (sparseness) reacts to a map's shape, not its truth
        r["role"] = specs[r["metric"]].evidence_role
        if r["role"] == "description":
            r["verdict"] += "; a description of the map's shape, not evidence"
        if r["metric"] in (RHO, GAIN) and r["n_clips"]:
            r["verdict"] += f"; {DIMENSION_NOTE}"
    order = {m: i for i, m in enumerate(specs)}
    out["rows"].sort(key=lambda r: order.get(r["metric"], len(order)))
    return out

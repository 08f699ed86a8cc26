"""`bsx evaluate` on a regression model (problem_type "regression": arousal, dominance,
valence): one ordinary run per dimension, explaining that output for every clip.

A dimension is run as the engine runs a classifier, with three differences (docs/
dimensional.md): every clip's target is the dimension's output (there is no predicted class),
clips.csv holds each dimension's predicted value (value_<dimension>) instead of class
probabilities, and the metrics that need a class probability or an emotion are skipped with
their reason (CLASSIFIER_ONLY); the dimensional scores (bsx.scoring.dimensional) are added
and computed after the run from the stored cue profiles. With several dimensions each runs
into out/<dimension>/ (its own results and report) and out/ holds the merged results.csv
(a `dimension` column) and a summary.json of them all.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bsx.errors import BadOptions
from bsx.evaluation.config import EvalConfig

_PROB = "it measures the drop of a class probability, which a regression output does not have"
_EMOTION = ("its expectations are per emotion; a dimension is scored by the dimension-* "
            "metrics against bsx/data/expert_dimensions.csv")
CLASSIFIER_ONLY: dict[str, str] = {
    "faithfulness-correlation": _PROB,
    "region-perturbation": _PROB,
    "road": "it counts the removal levels at which the target class survives",
    "random-logit": "it explains a random other class",
    "ablation-drop": _PROB,
    "ablation-gain": _PROB,
    "cue-agreement-rest": _EMOTION,
    "cue-agreement-neutral": _EMOTION,
    "cue-effect-rest": _EMOTION,
    "cue-effect-neutral": _EMOTION,
}


def is_regression(loaded: Any) -> bool:
    return bool(loaded.meta.get("task") == "regression")


def dimensions_of(cfg: EvalConfig, loaded: Any) -> list[str]:
    """The dimensions to evaluate: cfg.dimension (a name, or None / "all" for every one)."""
    dims = [str(d) for d in loaded.labels]
    if not is_regression(loaded):
        if cfg.dimension is not None:
            raise BadOptions(f"--dimension {cfg.dimension}: applies to regression models only; "
                             f"{loaded.model_name} is a classifier of {', '.join(dims)}")
        return []
    if cfg.dimension is None or cfg.dimension == "all":
        return dims
    wanted = cfg.dimension.strip().lower()
    if wanted not in dims:
        raise BadOptions(f"--dimension {cfg.dimension}: the model has no such output; "
                         f"accepted: {', '.join(dims)} or all")
    return [wanted]


def regression_specs(cfg: EvalConfig, specs: dict[str, Any], *, warn: bool = False
                     ) -> tuple[dict[str, Any], dict[str, str]]:
    """The run's metrics for one dimension: the classifier-only ones skipped (one warning
    naming each with its reason), the dimensional scores added unless some are asked for
    (the defaults hold none, and without them a regression run has no cue evidence).
    Returns (specs, {skipped metric: reason})."""
    from bsx.scoring.dimensional import DIMENSION_METRICS
    from bsx.scoring.specs import get_metric

    skipped = {m: CLASSIFIER_ONLY[m] for m in specs if m in CLASSIFIER_ONLY}
    if warn and skipped and cfg.metrics is not None:
        warnings.warn("skipped for a regression model: " + "; ".join(
            f"{m} ({why})" for m, why in skipped.items()), stacklevel=2)
    kept = {m: s for m, s in specs.items() if m not in CLASSIFIER_ONLY}
    if not set(DIMENSION_METRICS) & set(kept):
        kept.update({m: get_metric(m) for m in DIMENSION_METRICS})
    return kept, skipped


def regression_rows(loaded: Any, logits: Any, clips: list[Any], prepared: list[Any],
                    dimension: str | None) -> tuple[np.ndarray, list[dict[str, Any]],
                                                     list[dict[str, Any]]]:
    """(target per clip, the base rows, the clips.csv rows) of a regression batch: every
    clip explains `dimension`'s output; pred and target name the dimension; correct is None
    (there is no class to be right about); value_<dim> holds each output, true_<dim> the
    clip's known value where its corpus has one (Clip.meta[dim])."""
    from bsx.scoring.dimensional import VALUE_PREFIX
    from bsx.windows import file_seconds

    labels = list(loaded.labels)
    dim = dimension if dimension is not None else labels[0]
    values = logits.float().cpu().numpy()
    target = np.full(len(clips), labels.index(dim), dtype=np.int64)
    base = [{"clip_id": c.id, "path": str(c.path), "label": c.label, "speaker": c.speaker,
             "pred": dim, "target": dim, "correct": None} for c in clips]
    rows = [{**b, **{f"{VALUE_PREFIX}{lab}": float(values[i, j])
                     for j, lab in enumerate(labels)},
             **{f"{TRUE_PREFIX}{lab}": float(c.meta[lab]) for lab in labels
                if isinstance(c.meta.get(lab), int | float)},
             "trim_offset_s": file_seconds(p.trim_offset_s),
             "content_s": file_seconds(p.content_s),
             "units": len(p.unit_starts), "kept_share": p.kept_share}
            for i, (b, p, c) in enumerate(zip(base, prepared, clips, strict=True))]
    return target, base, rows


def regression_predictions(ctx: Any, units: Any, clips: Any, prepared: Any) -> tuple[Any, Any]:
    """A regression batch as the batch loop's Predictions (every clip explains the run's
    dimension; pred, truth and target are its output index), and its clips.csv rows."""
    from bsx.evaluation.attribute import clip_logits
    from bsx.evaluation.batch import Predictions

    logits = clip_logits(ctx.loaded.net, units)
    target, base, rows = regression_rows(ctx.loaded, logits, list(clips), list(prepared),
                                         ctx.cfg.dimension)
    dim = base[0]["target"] if base else ""
    preds = Predictions(probs=logits.float().cpu().numpy(), pred=target, truth=target,
                        target=target, target_labels=(dim,) * len(base), base=tuple(base))
    return preds, tuple(rows)


TRUE_PREFIX = "true_"  # clips.csv column of a dimension's known value (Clip.meta, e.g. synth)


def regression_model_scores(clips: Any, dimension: str) -> dict[str, Any]:
    """summary["model"] of a regression run: what a classifier's accuracy would be, here the
    predicted values' spread and, where the corpus knows each clip's value (the synth arousal
    variant's planted arousal), Spearman's rho of prediction and truth."""
    from bsx.scoring.dimensional import VALUE_PREFIX

    v = clips[VALUE_PREFIX + dimension].to_numpy(dtype=float) if not clips.empty else []
    out: dict[str, Any] = {"n": int(len(v)), "dimension": dimension,
                           "mean": float(np.mean(v)) if len(v) else None,
                           "sd": float(np.std(v)) if len(v) else None, "spearman_vs_true": None}
    truth = TRUE_PREFIX + dimension
    if truth in clips and len(v) > 2:
        from scipy.stats import spearmanr

        rho = spearmanr(v, clips[truth].to_numpy(dtype=float)).statistic
        out["spearman_vs_true"] = float(rho) if np.isfinite(rho) else None
    return out


def dimension_results(cfg: EvalConfig, profiles: Any, clips: Any, specs: dict[str, Any]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dimensional scores of a finished single-dimension run: (results rows, the
    summary's "dimensional" rows), from the stored profiles and clips."""
    from bsx.expert import load_dimensions
    from bsx.scoring.dimensional import DIMENSION_METRICS, dimension_tables

    if cfg.dimension is None:
        return [], []
    wanted = [m for m in DIMENSION_METRICS if m in specs]
    return dimension_tables(profiles, clips, cfg.dimension, load_dimensions(), wanted)


def run_dimensions(cfg: EvalConfig, out: Path, dims: list[str],
                   run_one: Callable[[EvalConfig, Path], dict[str, Any]]) -> dict[str, Any]:
    """Each dimension as its own run into out/<dimension>/, then out/results.csv (with a
    dimension column; results.parquet too) and out/summary.json ({"task", "dimensions":
    {dim: summary}, "dimensional": every dimension's rows})."""
    import pandas as pd

    from bsx.report.strict_json import write_json

    summaries: dict[str, Any] = {}
    frames = []
    for dim in dims:
        sub = out / dim
        summaries[dim] = run_one(cfg.model_copy(update={"dimension": dim}), sub)
        if (sub / "results.parquet").is_file():
            frames.append((pd.read_parquet(sub / "results.parquet").assign(dimension=dim),
                           pd.read_csv(sub / "results.csv").assign(dimension=dim)))
    if frames:  # results.csv names files relative to the corpus root, as each run's does
        pd.concat([f for f, _ in frames], ignore_index=True).to_parquet(
            out / "results.parquet", index=False)
        pd.concat([c for _, c in frames], ignore_index=True).to_csv(out / "results.csv",
                                                                    index=False)
    summary = {"task": "regression", "dimensions": summaries,
               "dimensional": [r for s in summaries.values() for r in s.get("dimensional", [])],
               "folders": {d: d for d in dims}}
    write_json(out / "summary.json", summary)
    return summary

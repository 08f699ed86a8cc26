"""The meta-evaluation table: which of the run's scores can be trusted on its model and clips.

After MetaQuantus (Hedstroem et al. 2023), adapted to audio. Each score was re-computed by the
run's own scorers on perturbed maps of a few clips (bsx.evaluation.meta); this module turns
those values into one row per score (metric, with its cue set and mask kind where it has one):

- reactivity: does the score separate the method's map from the random baseline's, and from a
  deliberately wrong map (the map inverted inside the content; the map shifted circularly in
  time by half the content)? Paired differences (bsx.scoring.stats.paired_difference, signed
  so that positive = the method's map scores better) judged by the one inference rule
  (bsx.scoring.inference.judge, Benjamini-Hochberg over the table's tests).
- resilience: how little the score moves under a negligible change (a 1-frame circular shift,
  another seed, the other removal baseline), as 1 - (the change / the method's distance from
  random): 1 = unmoved, 0 = moved as far as replacing the map with noise (clipped at 0).
- ranking agreement: Kendall's tau between the methods' (random included) mean scores with the
  silence and with the noise removal baseline (scores with a removal baseline only).

The unit of the tests is the clip: the question is whether the score tells these maps apart on
these clips, not whether a method generalises over speakers; the rows of several methods on
one clip are one cluster (docs/meta-evaluation.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bsx.scoring.inference import ALPHA, judge, min_units
from bsx.scoring.stats import NAN_ESTIMATE, Estimate, fdr, paired_difference

# Variants of each method's map, and of the random baseline (bsx.evaluation.meta makes them).
ORIGINAL, INVERTED, SHIFTED, SHIFT_1, OTHER_BASELINE = (
    "original",
    "inverted",
    "shifted",
    "shift-1",
    "other-baseline",
)
RANDOM, RANDOM_SEED, RANDOM_OTHER_BASELINE = "random", "random-seed", "random-other-baseline"
WRONG_MAPS = (INVERTED, SHIFTED)
RESILIENT = 0.8  # a negligible change may move a score by at most 20% of its distance to random

COLUMNS: dict[str, str] = {
    "vs_random": "mean paired difference, the method's map minus the random baseline's, in "
    "the score's units (positive = the method's map scores better), with its 95% "
    "CI and verdict",
    "vs_inverted": "the same against the method's map inverted inside the content (max minus "
    "map): a score that reads the map must prefer the map to its opposite",
    "vs_shifted": "the same against the map shifted circularly in time by half the content: "
    "the right shape at the wrong time",
    "resilience_shift": "1 - mean |score change| under a 1-frame circular shift of the map, "
    "over the mean |method - random| distance (1 = unmoved, 0 = moved as "
    "far as noise)",
    "resilience_seed": "1 - |change of the random baseline's mean| when its map and every seed "
    "of the score (noise baseline, random subsets, random windows) are "
    "redrawn, over |mean method - mean random|",
    "resilience_baseline": "1 - mean |score change| when removed frames become noise instead of "
    "silence (or back), over the mean |method - random| distance; "
    "scores with a removal baseline only",
    "ranking_tau": "Kendall's tau between the methods' (random included) mean scores under the "
    "silence and the noise baseline (1 = same order); removal scores only",
    "role": "what the score can show (faithfulness, plausibility, ground-truth, reliability; "
    "a description such as sparseness only describes the map's shape)",
    "verdict": "reactive (separates the map from random and from a wrong map) and resilient "
    f"(every resilience >= {RESILIENT:g}, tau = 1), or what failed",
}


def _signed(v: pd.Series | np.ndarray, direction: str) -> np.ndarray:
    x = np.asarray(v, dtype=np.float64)
    return x if direction == "higher" else -x


def _ratio_resilience(change: float, distance: float) -> float:
    """1 - change / distance, clipped to [0, 1]; NaN when the distance is 0 or unknown."""
    if not (math.isfinite(change) and math.isfinite(distance)) or distance <= 0:
        return math.nan
    return float(min(1.0, max(0.0, 1.0 - change / distance)))


def _tau(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Kendall's tau of two {subject: mean} orders over the subjects finite in both."""
    from scipy.stats import kendalltau

    keys = [k for k in a if k in b and math.isfinite(a[k]) and math.isfinite(b[k])]
    if len(keys) < 2:
        return math.nan
    x, y = [a[k] for k in keys], [b[k] for k in keys]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return 1.0 if len(set(x)) == len(set(y)) == 1 else math.nan
    return float(kendalltau(x, y).statistic)


def _comparison(e: Estimate) -> dict[str, Any]:
    return {
        "effect": e.effect,
        "ci_low": e.ci_low,
        "ci_high": e.ci_high,
        "p": e.p,
        "n": e.n,
        "n_clusters": e.n_clusters,
    }


def _row(g: pd.DataFrame, direction: str, methods: list[str]) -> dict[str, Any]:
    """The row of one score: comparisons (unjudged yet), resiliences and tau."""
    wide = g.pivot_table(
        index=["method", "clip_id"], columns="variant", values="value", aggfunc="mean"
    )
    rnd = g[g["method"] == RANDOM].pivot_table(
        index="clip_id", columns="variant", values="value", aggfunc="mean"
    )
    subj = wide.loc[[m for m in methods if m in wide.index.get_level_values(0)]]
    clips = subj.index.get_level_values(1).to_numpy()

    def col(frame: pd.DataFrame, name: str) -> np.ndarray:
        return (
            frame[name].to_numpy(dtype=np.float64) if name in frame else np.full(len(frame), np.nan)
        )

    orig = col(subj, ORIGINAL)
    r = (
        rnd[RANDOM].reindex(clips).to_numpy(dtype=np.float64)
        if RANDOM in rnd
        else np.full(len(clips), np.nan)
    )
    out: dict[str, Any] = {}
    for key, other in (
        ("vs_random", r),
        ("vs_inverted", col(subj, INVERTED)),
        ("vs_shifted", col(subj, SHIFTED)),
    ):
        e = (
            paired_difference(_signed(orig, direction), _signed(other, direction), clusters=clips)
            if len(clips)
            else NAN_ESTIMATE
        )
        out[key] = _comparison(e)
    ok = np.isfinite(orig) & np.isfinite(r)
    distance = float(np.mean(np.abs(orig[ok] - r[ok]))) if ok.any() else math.nan

    def moved(other: np.ndarray) -> float:
        m = np.isfinite(orig) & np.isfinite(other)
        return float(np.mean(np.abs(orig[m] - other[m]))) if m.any() else math.nan

    out["resilience_shift"] = _ratio_resilience(moved(col(subj, SHIFT_1)), distance)
    base_other = col(subj, OTHER_BASELINE)
    out["resilience_baseline"] = (
        _ratio_resilience(moved(base_other), distance)
        if np.isfinite(base_other).any()
        else math.nan
    )
    # seed: the run's mean of random against the same mean redrawn, on the same clips
    r_seed = (
        rnd[RANDOM_SEED].reindex(clips).to_numpy(dtype=np.float64)
        if RANDOM_SEED in rnd
        else np.full(len(clips), np.nan)
    )
    s = np.isfinite(r) & np.isfinite(r_seed) & np.isfinite(orig)
    out["resilience_seed"] = (
        _ratio_resilience(
            abs(float(r_seed[s].mean() - r[s].mean())), abs(float(orig[s].mean() - r[s].mean()))
        )
        if s.any()
        else math.nan
    )
    tau = math.nan
    if np.isfinite(base_other).any():
        means = {
            m: float(np.nanmean(col(subj.loc[[m]], ORIGINAL)))
            for m in subj.index.get_level_values(0).unique()
        }
        other_means = {m: float(np.nanmean(col(subj.loc[[m]], OTHER_BASELINE))) for m in means}
        if RANDOM in rnd and RANDOM_OTHER_BASELINE in rnd:
            means[RANDOM] = float(np.nanmean(rnd[RANDOM].reindex(clips)))
            other_means[RANDOM] = float(np.nanmean(rnd[RANDOM_OTHER_BASELINE].reindex(clips)))
        tau = _tau(means, other_means)
    out["ranking_tau"] = tau
    out["n_clips"] = int(len(set(clips)))
    return out


def verdict(row: Mapping[str, Any]) -> str:
    """The plain verdict of one row (its comparisons judged, see meta_table)."""
    status = {k: row[k]["status"] for k in ("vs_random", *(f"vs_{w}" for w in WRONG_MAPS))}
    if all(s == "untestable" for s in status.values()):
        return f"cannot be tested here ({row['vs_random']['reason']})"
    random_ok = status["vs_random"] == "better"
    wrong_ok = any(status[f"vs_{w}"] == "better" for w in WRONG_MAPS)
    if not random_ok and not wrong_ok:
        if any(s == "worse" for s in status.values()):
            return "not reactive: it prefers the wrong or random map"
        return "not reactive"
    unstable = [
        name
        for key, name in (
            ("resilience_shift", "1-frame shift"),
            ("resilience_seed", "seed"),
            ("resilience_baseline", "baseline"),
        )
        if math.isfinite(row[key]) and row[key] < RESILIENT
    ]
    tau = row["ranking_tau"]
    if math.isfinite(tau) and tau < 1.0:
        unstable.append("ranking across baselines")
    reactive = (
        "reactive"
        if random_ok and wrong_ok
        else "partly reactive (separates from random only)"
        if random_ok
        else "partly reactive (separates from a wrong map only)"
    )
    if unstable:
        return f"{reactive} but unstable ({', '.join(unstable)})"
    return f"{reactive} and resilient"


def meta_table(
    values: pd.DataFrame, directions: Mapping[str, str], *, alpha: float = ALPHA
) -> list[dict[str, Any]]:
    """One row per score of the meta-evaluation values (columns clip_id, method, variant,
    metric, cues, against, value; the random baseline's rows have method "random").

    directions: each metric's direction ("higher" / "lower"). The comparisons of every row
    are one family for the FDR adjustment; each gets the verdict of bsx.scoring.inference."""
    if values.empty:
        return []
    v = values.copy()
    for c in ("cues", "against"):
        v[c] = v[c].fillna("").astype(str) if c in v else ""
    methods = [m for m in dict.fromkeys(v["method"]) if m != RANDOM]
    rows: list[dict[str, Any]] = []
    for (metric, cues, against), g in v.groupby(["metric", "cues", "against"], sort=False):
        if metric not in directions:
            continue
        rows.append(
            {
                "metric": metric,
                "cues": cues,
                "against": against,
                **_row(g, directions[metric], methods),
            }
        )
    keys = ["vs_random", *(f"vs_{w}" for w in WRONG_MAPS)]
    adjusted = fdr([r[k]["p"] for r in rows for k in keys])
    i = 0
    for r in rows:
        for k in keys:
            e = Estimate(
                **{f: r[k][f] for f in ("effect", "ci_low", "ci_high", "p", "n", "n_clusters")}
            )
            p_adj = float(adjusted[i])
            i += 1
            r[k] = {
                **r[k],
                "p_fdr": p_adj,
                **judge(e, p_adj, alpha=alpha, missing="no values for both maps",
                         unit="clip").as_dict(),
            }
        r["verdict"] = verdict(r)
    return rows


def empty_row(metric: str, why: str = "no values on these clips") -> dict[str, Any]:
    """The row of a metric of the run that gave no values on the picked clips."""
    nan = {
        "effect": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "p": math.nan,
        "p_fdr": math.nan,
        "n": 0,
        "n_clusters": 0,
        "status": "untestable",
        "reason": why,
    }
    return {
        "metric": metric,
        "cues": "",
        "against": "",
        **{k: dict(nan) for k in ("vs_random", *(f"vs_{w}" for w in WRONG_MAPS))},
        "resilience_shift": math.nan,
        "resilience_seed": math.nan,
        "resilience_baseline": math.nan,
        "ranking_tau": math.nan,
        "n_clips": 0,
        "verdict": f"cannot be tested here ({why})",
    }


def meta_summary(
    values: pd.DataFrame, directions: Mapping[str, str], n_clips: int
) -> dict[str, Any]:
    """summary["meta_evaluation"]: the table, its column definitions and what it rests on."""
    return {
        "rows": meta_table(values, directions),
        "columns": COLUMNS,
        "n_clips": n_clips,
        "min_clips": min_units(ALPHA),
        "resilient_at": RESILIENT,
        "unit": "clip",
        "reference": "Hedstroem et al. 2023 (MetaQuantus), adapted to audio",
    }


def meta_line(meta: Mapping[str, Any]) -> str:
    """One line for the console: how many scores are trustworthy here, and which."""
    rows = [r for r in meta.get("rows", []) if r.get("role") != "description"]
    good = [r for r in rows if str(r.get("verdict", "")).startswith("reactive and resilient")]
    names = ", ".join(
        r["metric"] + (f" ({r['against']})" if r.get("against") else "") for r in good
    )
    return (
        f"meta-evaluation on {meta.get('n_clips', 0)} clips: {len(good)} of {len(rows)} evidence "
        f"scores reactive and resilient{': ' + names if names else ''} (report.html, "
        "docs/meta-evaluation.md)"
    )


def meta_frame(meta: Mapping[str, Any] | None) -> pd.DataFrame:
    """summary["meta_evaluation"] as one flat row per score: each comparison's effect, CI,
    p_FDR and status as `<column>_<field>` (vs_random_effect, vs_random_status, ...)."""
    out = []
    for r in (meta or {}).get("rows", []):
        flat = {k: r.get(k, "") for k in ("metric", "cues", "against", "role")}
        for k in ("vs_random", *(f"vs_{w}" for w in WRONG_MAPS)):
            for f in ("effect", "ci_low", "ci_high", "p_fdr", "status"):
                flat[f"{k}_{f}"] = r[k].get(f)
        for k in (
            "resilience_shift",
            "resilience_seed",
            "resilience_baseline",
            "ranking_tau",
            "n_clips",
            "verdict",
        ):
            flat[k] = r.get(k)
        out.append(flat)
    return pd.DataFrame(out)

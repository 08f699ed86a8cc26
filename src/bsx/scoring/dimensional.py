"""Scores for dimensional (regression) models: does the cue the salient windows hold rise with
the predicted dimension as theory expects, more than in random windows of the same clips?

A classifier is scored per clip against its target emotion's expectations; a regression
model's output is a number per clip, so its evidence is a correlation across clips. For one
dimension (arousal, say), one method and one cue, the numbers are

- rho_salient: Spearman's rho between the predicted value and the cue's mean in the method's
  salient windows; rho_random: the same in the matched random windows (same count and
  length, drawn inside the clip's content, the fair random control: bsx.scoring.claims.
  random_windows), both signed by the expected direction (bsx/data/expert_dimensions.csv),
  so positive = as theory expects.
- Within speakers: where clips carry speaker ids, ranks are taken within each speaker
  holding at least MIN_GROUP clips (a speaker's own baseline loudness cannot make the
  correlation), so speakers are the units; without speaker ids, across all clips, with clips
  as the units.

Spearman's rho of n pairs is the mean of the products of their standardised ranks (Pearson r
of the ranks, population SD), so each clip has a term z(rank of prediction) x z(rank of
cue) whose mean over a speaker's clips is that speaker's rho. These per-clip terms are the
rows results.csv holds; their speaker-clustered mean, bootstrap CI and sign-flip test give
the verdict of the one inference rule (bsx.scoring.inference.judge) for "the correlation has
the expected sign" and, paired by clip, "salient beats random". With clips as units the terms
share the ranks, so the sign-flip test is an approximation there (stated in docs/dimensional.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bsx.expert import ExpertTable

MIN_GROUP = 3  # fewest clips a rank correlation is taken over
RHO, GAIN, SIGN = "dimension-cue-rho", "dimension-cue-rho-gain", "dimension-sign-agreement"
DIMENSION_METRICS: tuple[str, ...] = (RHO, GAIN, SIGN)
VALUE_PREFIX = "value_"  # clips.csv column of each dimension's predicted value


def std_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks standardised to mean 0 and population SD 1 (all 0 when x is constant)."""
    from scipy.stats import rankdata

    r = rankdata(x)
    sd = r.std()
    return (r - r.mean()) / sd if sd > 0 else np.zeros_like(r, dtype=float)


def rank_groups(speakers: Sequence[Any] | None, n: int) -> tuple[np.ndarray, str]:
    """Group ids (-1: left out) and the unit word: speakers holding >= MIN_GROUP clips when
    any does, else one group of every clip ("clip" units)."""
    from bsx.scoring.stats import cluster_codes

    codes = cluster_codes(speakers, n)
    sizes = np.bincount(codes)
    if speakers is not None and (sizes >= MIN_GROUP).any() and sizes.size < n:
        return np.where(sizes[codes] >= MIN_GROUP, codes, -1), "speaker"
    return np.zeros(n, dtype=np.int64), "clip"


def rank_terms(pred: np.ndarray, cue: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per clip, z(rank pred) x z(rank cue) within its group (NaN where either is missing or
    the group has fewer than MIN_GROUP finite pairs); a group's mean term is its rho."""
    y = np.asarray(pred, dtype=float)
    x = np.asarray(cue, dtype=float)
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(y) & np.isfinite(x) & (groups >= 0)
    for g in np.unique(groups[ok]):
        idx = np.flatnonzero(ok & (groups == g))
        if idx.size >= MIN_GROUP:
            out[idx] = std_ranks(y[idx]) * std_ranks(x[idx])
    return out


@dataclass(frozen=True)
class CueCorrelation:
    """One dimension x method x cue set x cue: the per-clip signed terms (salient, random)
    and what they rest on."""

    cue: str
    theory_cue: str
    expected: int            # +1 up, -1 down, 0 no definite expectation
    source: str
    salient: np.ndarray      # per clip, signed by `expected` (unsigned when 0)
    random: np.ndarray
    groups: np.ndarray
    unit: str
    raw: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # prediction, salient, random


def correlations(rows: pd.DataFrame, values: pd.Series, speakers: pd.Series,
                 dimension: str, table: ExpertTable) -> list[CueCorrelation]:
    """Every cue of the dimension's expectations that the profile rows of one method x cue set
    hold. `rows`: profile rows (clip_id, cue, salient_mean, random_mean); `values`/`speakers`:
    by clip id, the predicted value and the speaker."""
    out = []
    clip_ids = list(dict.fromkeys(rows["clip_id"]))
    y = values.reindex(clip_ids).to_numpy(dtype=float)
    spk = speakers.reindex(clip_ids).tolist()
    groups, unit = rank_groups(spk, len(clip_ids))
    for exp in table.expectations(dimension):
        sub = rows[rows["cue"] == exp.cue].drop_duplicates("clip_id").set_index("clip_id")
        if sub.empty or "random_mean" not in sub:
            continue
        s = pd.to_numeric(sub["salient_mean"], errors="coerce").reindex(clip_ids).to_numpy()
        r = pd.to_numeric(sub["random_mean"], errors="coerce").reindex(clip_ids).to_numpy()
        both = np.isfinite(s) & np.isfinite(r)  # the same clips on both sides of the pair
        sign = exp.expected if exp.definite and exp.expected != 0 else 1
        out.append(CueCorrelation(
            cue=exp.cue, theory_cue=exp.theory_cue,
            expected=exp.expected if exp.definite else 0, source=exp.source,
            salient=sign * rank_terms(y, np.where(both, s, np.nan), groups),
            random=sign * rank_terms(y, np.where(both, r, np.nan), groups),
            groups=groups, unit=unit, raw=(y, np.where(both, s, np.nan),
                                           np.where(both, r, np.nan))))
    return out


def sign_shares(corrs: list[CueCorrelation]) -> np.ndarray:
    """Per clip: the share of the definite cues whose rho in the clip's group (its speaker, or
    all clips) has the expected sign; NaN where none could be measured."""
    definite = [c for c in corrs if c.expected != 0]
    if not definite:
        return np.array([])
    hits = np.zeros(definite[0].salient.shape)
    counts = np.zeros_like(hits)
    for c in definite:
        for g in np.unique(c.groups[np.isfinite(c.salient)]):
            m = (c.groups == g) & np.isfinite(c.salient)
            counts[m] += 1
            hits[m] += float(np.mean(c.salient[m]) > 0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def unit_labels(c: CueCorrelation, speakers: Sequence[Any]) -> list[Any]:
    """The resampling unit of each clip: its speaker, or the clip itself (None)."""
    return list(speakers) if c.unit == "speaker" else [None] * len(speakers)


def dimension_tables(profiles: pd.DataFrame, clips: pd.DataFrame, dimension: str,
                     table: ExpertTable, metrics: Collection[str] = DIMENSION_METRICS,
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(results rows, summary rows) of one dimension: per clip x method x cue set, a row per
    definite cue for RHO and GAIN (against = the cue) and one SIGN row; per method x cue set x
    cue, the summary row with both rhos, the estimates and the verdicts (summary_row)."""
    from bsx.scoring.specs import METRICS

    col = VALUE_PREFIX + dimension
    if profiles.empty or clips.empty or col not in clips:
        return [], []
    info = clips.drop_duplicates("clip_id").set_index("clip_id")
    results: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for (method, cues), rows in profiles.groupby(["method", "cues"], sort=False):
        corrs = correlations(rows, info[col], info["speaker"], dimension, table)
        clip_ids = list(dict.fromkeys(rows["clip_id"]))
        spk = info["speaker"].reindex(clip_ids).tolist()
        per_clip: list[tuple[str, str, np.ndarray]] = []
        for c in corrs:
            if c.expected != 0:
                per_clip += [(RHO, c.cue, c.salient), (GAIN, c.cue, c.salient - c.random)]
            summary.append(summary_row(c, str(method), str(cues), dimension, spk))
        shares = sign_shares(corrs)
        if shares.size:
            per_clip.append((SIGN, "", shares))
        for metric, against, v in per_clip:
            if metric not in metrics:
                continue
            for i, cid in enumerate(clip_ids):
                c = info.loc[cid]
                results.append({
                    "clip_id": cid, "path": c["path"], "label": c["label"],
                    "speaker": c["speaker"], "pred": c["pred"], "target": c["target"],
                    "correct": c["correct"], "method": method, "cues": cues,
                    "metric": metric, "against": against, "value": float(v[i]),
                    "direction": METRICS[metric].direction,
                    "category": METRICS[metric].category, "seconds": 0.0})
    return results, with_verdicts(summary)


def summary_row(c: CueCorrelation, method: str, cues: str, dimension: str,
                speakers: Sequence[Any]) -> dict[str, Any]:
    """One cue's numbers: signed rhos (pooled mean of the terms), the salient estimate against
    0 and the salient-minus-random estimate (speaker-clustered CI and sign-flip p)."""
    from bsx.scoring.stats import paired_difference

    if c.unit == "clip" and c.raw is not None:
        sal, gain = pooled_estimates(*c.raw, sign=c.expected or 1)
    else:
        units = unit_labels(c, speakers)
        zero = np.where(np.isfinite(c.salient), 0.0, np.nan)
        sal = paired_difference(c.salient, zero, units)
        gain = paired_difference(c.salient, c.random, units)
    expected = {1: "up", -1: "down", 0: "none"}[c.expected]
    return {"dimension": dimension, "method": method, "cues": cues, "cue": c.cue,
            "theory_cue": c.theory_cue, "expected": expected, "source": c.source,
            "unit": c.unit, "rho_salient": _mean(c.salient), "rho_random": _mean(c.random),
            "salient": sal, "gain": gain}


def _row_rho(ranks_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of x (R, n) against the row-matched ranks_y (R, n)."""
    from scipy.stats import rankdata

    rx = rankdata(x, axis=1)
    a = ranks_y - ranks_y.mean(axis=1, keepdims=True)
    b = rx - rx.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def pooled_estimates(y: np.ndarray, s: np.ndarray, r: np.ndarray, *, sign: int = 1,
                     n_boot: int = 2000, n_perm: int = 4999, seed: int = 0
                     ) -> tuple[Any, Any]:
    """With clips as the units, the two estimates without the per-clip-term approximation:
    sign x rho(pred, salient) and sign x (rho(pred, salient) - rho(pred, random)), each with a
    percentile bootstrap CI (clips resampled, ranks recomputed) and a two-sided permutation p:
    predictions shuffled across clips for the first; each clip's salient and random values
    swapped at random for the second (under H0 the salient windows are random windows)."""
    from scipy.stats import rankdata

    from bsx.scoring.stats import NAN_ESTIMATE, Estimate, _percentile

    ok = np.isfinite(y) & np.isfinite(s) & np.isfinite(r)
    y, s, r = y[ok], s[ok], r[ok]
    n = int(y.size)
    if n < MIN_GROUP:
        return NAN_ESTIMATE, NAN_ESTIMATE
    rng = np.random.default_rng(seed)
    ry = rankdata(y)[None]
    rho_s, rho_r = float(_row_rho(ry, s[None])[0]), float(_row_rho(ry, r[None])[0])
    eff_s, eff_g = sign * rho_s, sign * (rho_s - rho_r)
    idx = rng.integers(0, n, size=(n_boot, n))
    ryb = rankdata(y[idx], axis=1)
    bs, br = _row_rho(ryb, s[idx]), _row_rho(ryb, r[idx])
    ci_s, ci_g = _percentile(sign * bs, 0.95), _percentile(sign * (bs - br), 0.95)
    perm = np.argsort(rng.random((n_perm, n)), axis=1)
    null_s = _row_rho(np.repeat(ry, n_perm, 0)[np.arange(n_perm)[:, None], perm], s[None])
    swap = rng.random((n_perm, n)) < 0.5
    ss, rr = np.where(swap, r, s), np.where(swap, s, r)
    ryp = np.repeat(ry, n_perm, 0)
    null_g = _row_rho(ryp, ss) - _row_rho(ryp, rr)
    tol = 1e-12
    p_s = float((1 + np.sum(np.abs(null_s) >= abs(rho_s) - tol)) / (1 + n_perm))
    p_g = float((1 + np.sum(np.abs(null_g) >= abs(rho_s - rho_r) - tol)) / (1 + n_perm))
    return (Estimate(eff_s, *ci_s, p_s, n, n), Estimate(eff_g, *ci_g, p_g, n, n))


def with_verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FDR within each family (one dimension x method x cue set: its definite cues' salient
    and gain p-values), then judge each: the rows with Estimates replaced by plain numbers,
    status, reason and one sentence each."""
    from bsx.scoring.inference import judge, sentence
    from bsx.scoring.stats import fdr

    adjusted: dict[tuple[int, str], float] = {}
    families: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["expected"] != "none":
            families.setdefault((r["dimension"], r["method"], r["cues"]), []).append(r)
    for tested in families.values():
        ps = fdr([r[k].p for r in tested for k in ("salient", "gain")])
        adjusted.update({(id(r), k): float(ps[2 * i + j]) for i, r in enumerate(tested)
                         for j, k in enumerate(("salient", "gain"))})
    out = []
    for r in rows:
        row = {k: v for k, v in r.items() if k not in ("salient", "gain")}
        subject = f"{r['method']} [{r['cues']}] {r['cue']} ~ {r['dimension']}"
        for key, better, worse in (
                ("salient", f"the salient windows' {r['cue']} moves with the predicted "
                            f"{r['dimension']} as expected ({r['expected']})",
                 "it moves against the expectation"),
                ("gain", "the salient windows track it more than random windows",
                 "random windows track it more")):
            e = r[key]
            p_adj = adjusted.get((id(r), key), math.nan)
            if r["expected"] == "none":
                status, reason = "untestable", (
                    f"the table holds no definite direction for {r['cue']} and "
                    f"{r['dimension']} (weak, mixed or unknown evidence)")
                words = f"{subject}: cannot be tested here ({reason})."
            else:
                v = judge(e, p_adj, unit=r["unit"])
                status, reason = v.status, v.reason
                words = sentence(subject, v, e, p_adj, better=better, worse=worse,
                                 unit="rho")
            row.update({f"{key}_effect": _finite(e.effect), f"{key}_ci_low": _finite(e.ci_low),
                        f"{key}_ci_high": _finite(e.ci_high), f"{key}_p": _finite(e.p),
                        f"{key}_p_fdr": _finite(p_adj), f"{key}_n": e.n,
                        f"{key}_n_units": e.n_clusters, f"{key}_status": status,
                        f"{key}_reason": reason, f"{key}_sentence": words})
        row["rho_salient"] = _finite(row["rho_salient"])
        row["rho_random"] = _finite(row["rho_random"])
        row["sign_agrees"] = (None if r["expected"] == "none" or row["rho_salient"] is None
                              else bool(row["rho_salient"] > 0))
        out.append(row)
    return out


def _mean(v: np.ndarray) -> float:
    ok = np.isfinite(v)
    return float(v[ok].mean()) if ok.any() else math.nan


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None

"""Expert-cue agreement: does the salient region move each cue the way theory expects?

Two contrasts, reported side by side (see /shared/expert-cues.md): against the rest of the
same clip (Cohen's d of salient vs rest frames), and against neutral speech (z of the salient
mean against the same speaker's neutral clips, else corpus-wide neutral). Theory speaks of the
second; the first is what a saliency map can be judged on within one utterance. Only
definite cells (up / down / equal) count; "equal" agrees when |effect| < EQUAL_TOL.

Beside the share of agreeing cells (the paper's reading, coarse: two methods with different
windows often tie), `effect_score` is continuous: the mean over directional cells (up / down)
of the standardised effect signed by theory's expectation, so +0.5 means the salient windows
move the expected cues half an SD the expected way. "equal" cells count in the share only;
effects are capped at +-EFFECT_CAP SD so one degenerate clip (a constant track) cannot carry a
mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bsx.cues.profile import DERIVED, Baseline, CueProfile
from bsx.expert import ExpertTable
from bsx.scoring.stats import bootstrap_ci, sign_flip_test

EQUAL_TOL = 0.2  # Cohen's "small" effect: below it, "about equal" holds
EFFECT_CAP = 5.0  # SD; a larger standardised effect counts as 5


@dataclass(frozen=True)
class CueAgreement:
    """One cue of one clip: theory's expectation, the signed standardised effects, agreement."""

    cue: str
    expected: int                  # +1 up, -1 down, 0 equal or no evidence
    effect_vs_rest: float          # (salient - rest) / pooled std (Cohen's d)
    effect_vs_neutral: float       # (salient - neutral mean) / neutral std
    agrees_vs_rest: bool | None    # None: not evidence (weak/unknown/mixed) or NaN
    agrees_vs_neutral: bool | None
    direction: str = ""
    theory_cue: str = ""
    definite: bool = False


def effect_vs_rest(profile: CueProfile, cue: str) -> float:
    """Cohen's d of salient vs rest frames; for a derived spread cue (Pitch_var), the
    difference of the two spreads over the whole region's spread of its source cue."""
    by = profile.stats[cue]
    s, r = by["salient"], by["rest"]
    if not (math.isfinite(s.mean) and math.isfinite(r.mean)):
        return math.nan
    if cue in DERIVED:
        src = profile.stats.get(DERIVED[cue], {}).get("whole")
        scale = src.std if src is not None else math.nan
    else:
        dof = s.n + r.n - 2
        if dof <= 0 or not (math.isfinite(s.std) and math.isfinite(r.std)):
            return math.nan
        scale = math.sqrt(((s.n - 1) * s.std**2 + (r.n - 1) * r.std**2) / dof)
    if not math.isfinite(scale):
        return math.nan
    if scale <= 0:
        return 0.0 if s.mean == r.mean else math.copysign(math.inf, s.mean - r.mean)
    return (s.mean - r.mean) / scale


def _effect_vs_neutral(profile: CueProfile, cue: str, baseline: Baseline | None,
                       speaker: str | None) -> float:
    if baseline is None:
        return math.nan
    norm = baseline.norm(cue, speaker)
    mean = profile.stats[cue]["salient"].mean
    if norm is None or not math.isfinite(norm.std) or norm.std <= 0 or not math.isfinite(mean):
        return math.nan
    return (mean - norm.mean) / norm.std


def _agrees(effect: float, expected: int, definite: bool) -> bool | None:
    if not definite or math.isnan(effect):
        return None
    if expected == 0:
        return abs(effect) < EQUAL_TOL
    return bool(np.sign(effect) == expected)


def agreement(
    profile: CueProfile, emotion: str, expert: ExpertTable,
    baseline: Baseline | None = None, speaker: str | None = None,
) -> list[CueAgreement]:
    """One CueAgreement per cue that both theory (for `emotion`) and the profile know."""
    rows: list[CueAgreement] = []
    for ex in expert.expectations(emotion):
        if ex.cue not in profile.stats:
            continue
        d_rest = effect_vs_rest(profile, ex.cue)
        d_neutral = _effect_vs_neutral(profile, ex.cue, baseline, speaker)
        rows.append(CueAgreement(
            cue=ex.cue, expected=ex.expected, effect_vs_rest=d_rest,
            effect_vs_neutral=d_neutral,
            agrees_vs_rest=_agrees(d_rest, ex.expected, ex.definite),
            agrees_vs_neutral=_agrees(d_neutral, ex.expected, ex.definite),
            direction=ex.direction, theory_cue=ex.theory_cue, definite=ex.definite,
        ))
    return rows


def aggregate_agreement(
    rows: Iterable[CueAgreement], against: Literal["rest", "neutral"] = "rest",
) -> float:
    """Share of agreeing definite cells; weak/unknown/mixed cells and NaN effects are ignored.
    NaN when no cell counts."""
    key = "agrees_vs_rest" if against == "rest" else "agrees_vs_neutral"
    votes = [getattr(r, key) for r in rows]
    votes = [v for v in votes if v is not None]
    return float(np.mean(votes)) if votes else math.nan


def signed_effects(effect: np.ndarray, expected: np.ndarray, definite: np.ndarray
                   ) -> np.ndarray:
    """expected x effect, capped at +-EFFECT_CAP, for directional definite cells (up/down);
    NaN for every other cell and for NaN effects. Arrays of equal length."""
    e = np.asarray(effect, dtype=np.float64)
    x = np.asarray(expected, dtype=np.float64)
    use = np.asarray(definite, dtype=bool) & (x != 0) & ~np.isnan(e)
    out = np.full(e.shape, math.nan)
    out[use] = np.clip(x[use] * e[use], -EFFECT_CAP, EFFECT_CAP)
    return out


def effect_score(
    rows: Iterable[CueAgreement], against: Literal["rest", "neutral"] = "rest",
) -> float:
    """The continuous agreement score: mean signed standardised effect over directional
    definite cells (see the module docstring); NaN when no cell counts."""
    rows = list(rows)
    key = "effect_vs_rest" if against == "rest" else "effect_vs_neutral"
    v = signed_effects(np.array([getattr(r, key) for r in rows], dtype=np.float64),
                       np.array([r.expected for r in rows], dtype=np.float64),
                       np.array([r.definite for r in rows], dtype=bool))
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def agreement_records(
    rows: Sequence[CueAgreement], profile: CueProfile, emotion: str, **keys: Any,
) -> list[dict[str, Any]]:
    """Per-clip rows for dataset_agreement: the agreement fields plus salient/rest means and
    any identifying keys (clip, model, method, ...)."""
    out = []
    for r in rows:
        by = profile.stats[r.cue]
        # vars(), not asdict(): the fields are scalars, and asdict deep-copies each one
        out.append({**keys, "emotion": emotion, **vars(r),
                    "salient": by["salient"].mean, "rest": by["rest"].mean,
                    "whole": by["whole"].mean})
    return out


TEST_NAME = "cluster sign-flip test of effect_vs_rest = 0 (speakers as clusters)"


def dataset_agreement(df: Any, *, n_boot: int = 2000, seed: int = 0) -> Any:
    """Per emotion x cue over per-clip rows (agreement_records): n clips, mean effect vs rest
    and vs neutral with speaker-clustered bootstrap 95% CIs, agreement rates, and a cluster
    sign-flip test of the per-clip effect vs rest (p_value, n_pairs clips, n_speakers).
    Without a speaker column every clip is its own cluster. Returns a pandas DataFrame;
    false-discovery control over many of them is the caller's (report.summary)."""
    import pandas as pd

    need = {"emotion", "cue", "effect_vs_rest", "salient", "rest"}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"dataset_agreement: rows lack column(s) {sorted(missing)}")
    out = []
    for (emo, cue), g in df.groupby(["emotion", "cue"], sort=True):
        row: dict[str, Any] = {"emotion": emo, "cue": cue, "n": len(g)}
        speakers = g["speaker"].to_numpy() if "speaker" in g else None
        if "expected" in g:
            row["expected"] = int(g["expected"].iloc[0])
        if "direction" in g:
            row["direction"] = g["direction"].iloc[0]
        for ctx in ("rest", "neutral"):
            eff_col, agr_col = f"effect_vs_{ctx}", f"agrees_vs_{ctx}"
            if eff_col not in g:
                continue
            eff = g[eff_col].to_numpy(dtype=np.float64)
            ok = np.isfinite(eff)
            row[f"mean_effect_vs_{ctx}"] = float(eff[ok].mean()) if ok.any() else math.nan
            lo, hi = bootstrap_ci(eff, clusters=speakers, n_boot=n_boot, seed=seed)
            row[f"ci_low_vs_{ctx}"], row[f"ci_high_vs_{ctx}"] = lo, hi
            if agr_col in g:
                votes = [bool(v) for v in g[agr_col] if v is not None and v == v]
                row[f"agreement_vs_{ctx}"] = float(np.mean(votes)) if votes else math.nan
        eff = g["effect_vs_rest"].to_numpy(dtype=np.float64)
        p, n, k = sign_flip_test(np.where(np.isinf(eff), np.sign(eff) * EFFECT_CAP, eff),
                                 speakers, seed=seed)
        row.update({"p_value": p, "n_pairs": n, "n_speakers": k, "test": TEST_NAME})
        out.append(row)
    return pd.DataFrame(out)

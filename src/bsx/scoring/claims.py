"""The paper's three claims, tested on a whole evaluated set instead of single examples.

Nasr, Ren & Johnson (arXiv:2511.11691) read from example clips that (a) salient regions carry
the expected acoustic cues, (b) high-arousal emotions show stronger cue effects, and (c)
misclassified clips show implausible cue alignment. Here each is an effect size with a
speaker-clustered 95% CI, a cluster sign-flip or permutation test (bsx.scoring.stats) and a
Benjamini-Hochberg adjusted p over all claim tests of the run, per method and cue set.

The measure throughout is the continuous cue-effect score of a clip
(bsx.scoring.agreement.effect_score: the mean standardised salient-vs-rest effect over the
explained emotion's directional expert cells, signed by theory's expectation, in SD units):

(a) paired by clip: the score of the method's salient windows minus the score of random
    windows of the same count and lengths drawn inside the same clip's real content with a
    per-clip seeded generator (random_windows). The random region is stored beside salient /
    rest / whole in profiles.parquet (random_region_stats) and scored the same way.
(b) clips whose explained emotion is high- versus low-arousal (AROUSAL).
(c) correctly versus wrongly classified clips (the score is against the explained, i.e.
    predicted, emotion: does the model's decision rest on that emotion's cues?).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bsx.cues.base import CueTracks
from bsx.cues.profile import CueProfile, cue_profile
from bsx.expert import ExpertTable
from bsx.scoring.agreement import agreement, effect_score, signed_effects
from bsx.scoring.inference import ALPHA, Verdict, judge, sentence
from bsx.scoring.stats import (
    Estimate,
    cluster_codes,
    fdr,
    group_difference,
    paired_difference,
)

# Arousal grouping for claim (b). The expert table notes that these cues mostly track arousal,
# anger, happiness and (panic) fear sharing one profile (Juslin & Laukka 2003; Banse & Scherer
# 1996); in Russell's (1980) circumplex angry, afraid and astonished (surprise) lie high on
# arousal, sad, bored and calm low. Disgust is left out: its placement differs between
# sources (moderate arousal in circumplex studies, low pitch and slow rate in Murray & Arnott
# 1993); neutral is the reference and carries no expectation.
AROUSAL: dict[str, tuple[str, ...]] = {
    "high": ("angry", "happy", "fear", "surprise"),
    "low": ("sad", "boredom", "calm"),
}
UNGROUPED_WHY = {"neutral": "the reference: carries no expectation",
                 "disgust": "placed differently by the sources (see AROUSAL)"}


def arousal_groups(corpus: str, labels: Sequence[str], explained: Sequence[str] | None = None
                   ) -> dict[str, Any]:
    """The arousal grouping claim (b) uses on one corpus, with n per group: the emotions of
    each group that occur, n clips by true label and n by explained emotion (the grouping
    claim (b) tests), and the emotions in no group with the reason."""
    from bsx.expert import canonical_emotion

    lab = [canonical_emotion(x) for x in labels]
    exp = [canonical_emotion(x) for x in explained] if explained is not None else None
    groups: dict[str, Any] = {}
    grouped = {e for g in AROUSAL.values() for e in g}
    for name, emotions in AROUSAL.items():
        present = [e for e in emotions if e in lab or (exp is not None and e in exp)]
        groups[name] = {"emotions": present, "n": sum(x in emotions for x in lab),
                        "n_explained": (sum(x in emotions for x in exp) if exp is not None
                                        else None)}
    other = sorted({e for e in lab if e not in grouped})
    groups["ungrouped"] = {"emotions": other, "n": sum(x in other for x in lab),
                           "why": {e: UNGROUPED_WHY.get(e, "no arousal placement in bsx")
                                   for e in other}}
    return {"corpus": corpus, "groups": groups}


def arousal_line(grouping: dict[str, Any]) -> str:
    """One line: 'arousal groups on emodb: high angry, fear, happy (n=6); low ...'."""
    g = grouping["groups"]
    parts = [f"{k} {', '.join(g[k]['emotions']) or '-'} (n={g[k]['n']})"
             for k in ("high", "low", "ungrouped")]
    return f"arousal groups on {grouping['corpus']}: " + "; ".join(parts)


RANDOM_REGIONS = {"random": "salient", "random_rest": "rest"}  # stored name -> profile role
TITLES = {
    "a": "salient windows carry the expected cues more than random windows of the same "
         "lengths in the same clips",
    "b": "cue effects are stronger in high-arousal than in low-arousal emotions",
    "c": "correctly classified clips show more plausible cue alignment than misclassified ones",
}
EFFECT_NAMES = {
    "a": "mean paired difference of the cue-effect score, salient minus random windows (SD)",
    "b": "difference of mean cue-effect scores, high- minus low-arousal clips (SD)",
    "c": "difference of mean cue-effect scores, correct minus wrong clips (SD)",
}


# -- matched random windows ------------------------------------------------------------------

def clip_seed(seed: int, clip_id: str) -> int:
    """A per-clip seed that does not depend on batching or process (crc32, not hash())."""
    return zlib.crc32(f"{seed}:{clip_id}".encode())


def random_windows(windows: Sequence[tuple[float, float]], content_s: float, seed: int
                   ) -> list[tuple[float, float]]:
    """Non-overlapping windows of the same count and lengths as `windows`, placed uniformly at
    random inside [0, content_s) (seconds of real content).

    Windows are clipped to the content first. Placement: shuffle the windows, draw their k
    leading gaps as sorted uniforms on the free length, and lay them out in that order, which
    is uniform over non-overlapping placements (no rejection loop)."""
    rng = np.random.default_rng(seed)
    lengths = [min(b, content_s) - max(a, 0.0) for a, b in windows]
    lengths = [x for x in lengths if x > 0]
    if not lengths or content_s <= 0:
        return []
    order = rng.permutation(len(lengths))
    free = max(0.0, content_s - sum(lengths))
    gaps = np.sort(rng.uniform(0.0, free, len(lengths)))
    out, used = [], 0.0
    for g, j in zip(gaps, order, strict=True):
        start = float(g) + used
        out.append((start, min(content_s, start + lengths[j])))
        used += lengths[j]
    return sorted(out)


def random_profile(tracks: CueTracks, windows_content_s: Sequence[tuple[float, float]],
                   content_s: float, seed: int, **profile_kwargs: Any) -> CueProfile:
    """cue_profile of matched random windows (random_windows) with the salient profile's own
    policy (pass the same keyword arguments, e.g. voiced_only)."""
    return cue_profile(tracks, random_windows(windows_content_s, content_s, seed),
                       content=(0.0, content_s), **profile_kwargs)


def random_region_stats(tracks: CueTracks, windows_content_s: Sequence[tuple[float, float]],
                        content_s: float, seed: int, **profile_kwargs: Any
                        ) -> list[dict[str, object]]:
    """Per cue, the region stats of matched random windows ('random') and of the rest of the
    content ('random_rest'), as columns random_mean, random_std, random_n, random_n_voiced,
    random_reason and the same for random_rest: the engine merges them into the clip's
    profile_rows by cue (merge_random_rows). Seed with clip_seed(cfg.seed, clip.id)."""
    return random_rows(random_profile(tracks, windows_content_s, content_s, seed,
                                      **profile_kwargs))


def random_rows(prof: CueProfile) -> list[dict[str, object]]:
    """A matched-random-window profile as the random_* / random_rest_* columns, per cue."""
    rows: list[dict[str, object]] = []
    for cue, by in prof.stats.items():
        row: dict[str, object] = {"cue": cue}
        for stored, role in RANDOM_REGIONS.items():
            s = by[role]
            row.update({f"{stored}_mean": s.mean, f"{stored}_std": s.std, f"{stored}_n": s.n,
                        f"{stored}_n_voiced": s.n_voiced, f"{stored}_reason": s.reason})
        rows.append(row)
    return rows


def merge_random_rows(profile_rows: list[dict[str, object]],
                      random_rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """profile_rows with each cue's random-region columns added (in place; returned)."""
    by_cue = {r["cue"]: r for r in random_rows}
    for row in profile_rows:
        extra = by_cue.get(row["cue"])
        if extra is not None:
            row.update({k: v for k, v in extra.items() if k != "cue"})
    return profile_rows


def paired_random_effect(tracks: CueTracks, windows_content_s: Sequence[tuple[float, float]],
                         content_s: float, emotion: str, expert: ExpertTable, seed: int,
                         **profile_kwargs: Any) -> tuple[float, float]:
    """One clip's paired values for claim (a): (cue-effect score of the salient windows,
    score of matched random windows), both vs the rest of the content."""
    sal = cue_profile(tracks, windows_content_s, content=(0.0, content_s), **profile_kwargs)
    rnd = random_profile(tracks, windows_content_s, content_s, seed, **profile_kwargs)
    return (effect_score(agreement(sal, emotion, expert)),
            effect_score(agreement(rnd, emotion, expert)))


# -- per-clip scores and the claims ----------------------------------------------------------

def clip_scores(agree: Any) -> Any:
    """Per clip x method x cue set from agreement rows (report.posthoc.agreement_tables):
    score (cue-effect vs rest), score_random (the same for matched random windows; NaN when
    the run stored none), score_neutral, share (cue-agreement vs rest), and the clip's
    speaker, label, explained emotion and correctness."""
    import pandas as pd

    keys = ["clip_id", "method", "cues"]
    if agree.empty:
        return pd.DataFrame(columns=[*keys, "speaker", "label", "emotion", "correct", "score",
                                     "score_random", "score_neutral", "share"])
    df = agree
    expected = df["expected"].to_numpy(dtype=np.float64)
    definite = df["definite"].fillna(False).to_numpy(dtype=bool)

    def signed(col: str) -> np.ndarray:
        if col not in df:
            return np.full(len(df), math.nan)
        return signed_effects(pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float),
                              expected, definite)

    votes = df["agrees_vs_rest"].map(lambda v: math.nan if v is None or v != v else float(v))
    work = pd.DataFrame({
        **{k: df[k] for k in keys},
        "score": signed("effect_vs_rest"), "score_random": signed("effect_random_vs_rest"),
        "score_neutral": signed("effect_vs_neutral"), "share": votes.astype(float),
    })
    out = work.groupby(keys, sort=False).mean()
    info = df.groupby(keys, sort=False)[["speaker", "label", "emotion", "correct"]].first()
    return info.join(out).reset_index()


WORDS = {  # claim -> (better, worse): what each verdict means in words
    "a": ("beats random, its salient windows move the expected cues more than random "
          "windows of the same lengths",
          "is worse than random, random windows of the same lengths move the expected cues "
          "more than its salient windows"),
    "b": ("supported, cue effects are stronger in high-arousal clips",
          "contradicted, cue effects are stronger in low-arousal clips"),
    "c": ("supported, cue effects are stronger in correctly classified clips",
          "contradicted, cue effects are stronger in misclassified clips"),
}


def _group_reason(in_group: np.ndarray, spk: np.ndarray, names: tuple[str, str]) -> str:
    """Why a two-group comparison has no test: which group is missing, or how many speakers
    hold clips of both groups (the cluster test pairs groups within a speaker)."""
    n_in, n_out = int(in_group.sum()), int((~in_group).sum())
    if n_in == 0 or n_out == 0:
        return (f"needs clips of both groups; {n_in} {names[0]} and {n_out} {names[1]} "
                f"clips here")
    codes = cluster_codes(spk, len(spk))
    both = {c for c in np.unique(codes) if in_group[codes == c].any()
            and (~in_group[codes == c]).any()}
    if not both:
        return "no speaker has clips of both groups (the test pairs the groups within a speaker)"
    return f"{len(both)} of {np.unique(codes).size} speakers have clips of both groups"


TRAINING_CAVEAT = (" Caution: the checkpoint does not say which clips it was trained on, so "
                   "these clips may include its training data; misclassified training clips "
                   "are few and atypical, and this comparison may not hold on held-out speech.")


def with_training_caveat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Claim (c) rows with TRAINING_CAVEAT added to their verdict (and a flag), for a run
    whose checkpoint carries no split information (bsx.honesty.training_data_warning)."""
    return [{**r, "verdict": r["verdict"] + TRAINING_CAVEAT, "may_include_training": True}
            if r.get("claim") == "c" else r for r in rows]


def claims_summary(agree: Any, *, arousal: Mapping[str, Sequence[str]] = AROUSAL,
                n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """summary["claims"]: one row per claim x method x cue set, {claim, title, method, cues,
    effect, effect_name, ci_low, ci_high, p, p_fdr, n, n_clusters, verdict}.

    `agree`: the run's agreement rows (report.posthoc.agreement_tables, as agreement.parquet).
    p_fdr: Benjamini-Hochberg over every claim row of the run."""
    scores = clip_scores(agree)
    if scores.empty:
        return []
    high = {e.lower() for e in arousal.get("high", ())}
    low = {e.lower() for e in arousal.get("low", ())}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for (method, cues), g in scores.groupby(["method", "cues"], sort=True):
        spk = g["speaker"].to_numpy()
        s = g["score"].to_numpy(dtype=float)
        ests: dict[str, tuple[Estimate, str]] = {}
        sr = g["score_random"].to_numpy(dtype=float)
        ests["a"] = (paired_difference(s, sr, spk, n_boot=n_boot, seed=seed),
                     "the run stored no random-window region" if not np.isfinite(sr).any()
                     else "too few paired clips")
        emo = g["emotion"].astype(str).str.lower()
        sel = emo.isin(high | low).to_numpy()
        is_high = emo[sel].isin(high).to_numpy()
        ests["b"] = (group_difference(s[sel], is_high, spk[sel], n_boot=n_boot, seed=seed),
                     _group_reason(is_high[np.isfinite(s[sel])],
                                   spk[sel][np.isfinite(s[sel])], ("high-arousal",
                                                                   "low-arousal")))
        correct = g["correct"].astype(bool).to_numpy()
        ests["c"] = (group_difference(s, correct, spk, n_boot=n_boot, seed=seed),
                     _group_reason(correct[np.isfinite(s)], spk[np.isfinite(s)],
                                   ("correct", "misclassified")))
        for claim, (e, note) in ests.items():
            rows.append({"claim": claim, "title": TITLES[claim], "method": str(method),
                         "cues": str(cues), "effect": e.effect,
                         "effect_name": EFFECT_NAMES[claim], "ci_low": e.ci_low,
                         "ci_high": e.ci_high, "p": e.p, "n": e.n,
                         "n_clusters": e.n_clusters})
            notes.append(note)
    adjusted = fdr([r["p"] for r in rows])
    for r, q, note in zip(rows, adjusted, notes, strict=True):
        r["p_fdr"] = float(q)
        e = Estimate(r["effect"], r["ci_low"], r["ci_high"], r["p"], r["n"], r["n_clusters"])
        v = judge(e, r["p_fdr"], alpha=ALPHA, missing=note)
        if v.status == "untestable" and r["claim"] != "a" and math.isfinite(e.effect):
            v = Verdict(v.status, f"{note}; {v.reason}")
        better, worse = WORDS[r["claim"]]
        r["status"], r["reason"] = v.status, v.reason
        r["verdict"] = sentence(r["method"], v, e, r["p_fdr"], better=better, worse=worse,
                                unit="SD")
    order = ["claim", "title", "method", "cues", "effect", "effect_name", "ci_low", "ci_high",
             "p", "p_fdr", "n", "n_clusters", "status", "reason", "verdict"]
    rows = [{k: r[k] for k in order} for r in rows]
    return sorted(rows, key=lambda r: (r["claim"], r["method"], r["cues"]))

"""Dataset-level agreement computed after all batches, from the stored cue profiles: the one
place expert-cue agreement is computed.

Theory compares an emotion with neutral speech, so the neutral baseline needs every
evaluated neutral clip first: the same speaker's neutral clips where the corpus has them,
else all neutral clips (bsx.cues.profile.Baseline.norm). Profiles are rebuilt from the stored
rows, so a resumed run gives the same numbers as an uninterrupted one. Where the profiles hold
the matched random-window region (bsx.scoring.claims.random_region_stats), its effect is
scored the same way, for claim (a).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bsx.cues.profile import REGIONS, CueProfile, RegionStats, neutral_baseline
from bsx.scoring.agreement import aggregate_agreement, agreement, agreement_records, effect_score
from bsx.scoring.specs import METRICS, computed_by

# Per-clip metrics agreement_tables can emit (the specs of the "cue-profiles" compute); each
# is computed here only (the batch stage writes profile rows, no agreement).
AGREEMENT_METRICS: tuple[str, ...] = computed_by("cue-profiles")
OWN_REGIONS = {r: r for r in REGIONS}
_SCORES: dict[str, tuple[str, Callable[[list[Any]], float]]] = {  # metric -> (against, score)
    "cue-agreement-rest": ("", lambda a: aggregate_agreement(a, against="rest")),
    "cue-agreement-neutral": ("neutral", lambda a: aggregate_agreement(a, against="neutral")),
    "cue-effect-rest": ("", lambda a: effect_score(a, against="rest")),
    "cue-effect-neutral": ("neutral", lambda a: effect_score(a, against="neutral")),
}
RANDOM_COLUMNS = {"salient": "random", "rest": "random_rest", "whole": "whole"}


def profiles_from_rows(rows: pd.DataFrame, regions: Mapping[str, str] | None = None
                       ) -> dict[tuple[Any, ...], CueProfile]:
    """Every clip x method x cue set's CueProfile from the stored profile_rows (one wide row
    per cue), read column-wise once rather than row by row. `regions` maps each profile
    region (salient, rest, whole) to the stored column prefix; RANDOM_COLUMNS gives the
    profile of the matched random windows (empty when those columns are absent)."""
    regions = dict(regions or OWN_REGIONS)
    if any(f"{col}_mean" not in rows for col in regions.values()):
        return {}
    cols: dict[str, Any] = {}
    for reg, src in regions.items():
        cols[f"{reg}_mean"] = pd.to_numeric(rows[f"{src}_mean"], errors="coerce").to_numpy()
        cols[f"{reg}_std"] = pd.to_numeric(rows[f"{src}_std"], errors="coerce").to_numpy()
        for k in ("n", "n_voiced"):
            cols[f"{reg}_{k}"] = pd.to_numeric(rows[f"{src}_{k}"], errors="coerce").fillna(0)\
                .astype(int).to_numpy()
        reason = rows.get(f"{src}_reason")
        cols[f"{reg}_reason"] = (reason.fillna("").astype(str).to_numpy() if reason is not None
                                 else np.full(len(rows), "", dtype=object))
    cue = rows["cue"].to_numpy()
    voiced = (rows["voiced_only"].fillna(False).astype(bool).to_numpy()
              if "voiced_only" in rows else np.zeros(len(rows), dtype=bool))
    out: dict[tuple[Any, ...], CueProfile] = {}
    for key, idx in rows.groupby(["clip_id", "method", "cues"], sort=False).indices.items():
        stats = {
            cue[i]: {reg: RegionStats(float(cols[f"{reg}_mean"][i]), float(cols[f"{reg}_std"][i]),
                                      int(cols[f"{reg}_n"][i]), int(cols[f"{reg}_n_voiced"][i]),
                                      str(cols[f"{reg}_reason"][i]))
                     for reg in regions}
            for i in idx
        }
        out[key] = CueProfile(stats=stats, windows=(), content=(0.0, 0.0), extractor=key[2],
                              voiced_only=frozenset(cue[i] for i in idx if voiced[i]))
    return out


def agreement_tables(profiles: pd.DataFrame, clips: pd.DataFrame, expert: Any,
                     metrics: Collection[str] = AGREEMENT_METRICS,
                     ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Per-cue agreement rows (against the rest of the clip, against neutral, and the random
    windows' effect vs their rest as effect_random_vs_rest) for every clip x method x cue set,
    and one result row per clip x method x cue set for each of `metrics` (a subset of
    AGREEMENT_METRICS; the neutral ones only where the run has neutral clips)."""
    unknown = set(metrics) - set(AGREEMENT_METRICS)
    if unknown:
        raise ValueError(f"agreement_tables: unknown metric(s) {sorted(unknown)}; "
                         f"accepted: {', '.join(AGREEMENT_METRICS)}")
    if profiles.empty or clips.empty:
        return pd.DataFrame(), []
    info = clips.set_index("clip_id")
    groups = profiles_from_rows(profiles)
    randoms = profiles_from_rows(profiles, RANDOM_COLUMNS)
    baselines = {}
    for cues in profiles["cues"].unique():
        neutral = {cid: prof for (cid, _, c), prof in groups.items()
                   if c == cues and info.loc[cid, "label"] == "neutral"}
        if neutral:
            baselines[cues] = neutral_baseline(
                list(neutral.values()), [str(info.loc[cid, "speaker"]) for cid in neutral])
    records: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for key, prof in groups.items():
        cid, method, cues = key
        c = info.loc[cid]
        speaker = str(c["speaker"])
        target = str(c["target"])
        agree = agreement(prof, target, expert, baselines.get(cues), speaker)
        recs = agreement_records(agree, prof, target, clip_id=cid, method=method,
                                 cues=cues, label=c["label"], speaker=speaker,
                                 correct=bool(c["correct"]))
        rnd = randoms.get(key)
        by_cue = ({r.cue: r.effect_vs_rest for r in agreement(rnd, target, expert)}
                  if rnd is not None else {})
        for r in recs:
            r["effect_random_vs_rest"] = by_cue.get(r["cue"], np.nan)
        records += recs
        for metric in metrics:
            against, score = _SCORES[metric]
            if against == "neutral" and cues not in baselines:
                continue
            results.append({
                "clip_id": cid, "path": c["path"], "label": c["label"], "speaker": speaker,
                "pred": c["pred"], "target": c["target"], "correct": bool(c["correct"]),
                "method": method, "cues": cues, "metric": metric, "against": against,
                "value": score(agree), "direction": METRICS[metric].direction,
                "category": METRICS[metric].category,
                "seconds": 0.0,
            })
    return pd.DataFrame(records), results

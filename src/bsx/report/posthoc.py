"""Dataset-level agreement computed after all batches, from the stored cue profiles.

Theory compares an emotion with neutral speech, so the neutral baseline needs every
evaluated neutral clip first: the same speaker's neutral clips where the corpus has them,
else all neutral clips (bsx.cues.profile.Baseline.norm). Profiles are rebuilt from the stored
rows, so a resumed run gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bsx.cues.profile import REGIONS, CueProfile, RegionStats, neutral_baseline
from bsx.scoring.agreement import aggregate_agreement, agreement, agreement_records


def _num(v: Any, default: float = math.nan) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return f


def profiles_from_rows(rows: pd.DataFrame) -> CueProfile:
    """One clip's CueProfile from its profile_rows (one wide row per cue)."""
    stats = {}
    voiced_only = set()
    for r in rows.to_dict(orient="records"):
        stats[r["cue"]] = {
            reg: RegionStats(_num(r.get(f"{reg}_mean")), _num(r.get(f"{reg}_std")),
                             int(_num(r.get(f"{reg}_n"), 0)),
                             int(_num(r.get(f"{reg}_n_voiced"), 0)),
                             str(r.get(f"{reg}_reason") or ""))
            for reg in REGIONS
        }
        if r.get("voiced_only"):
            voiced_only.add(r["cue"])
    return CueProfile(stats=stats, windows=(), content=(0.0, 0.0),
                      extractor=str(rows["cues"].iloc[0]), voiced_only=frozenset(voiced_only))


def agreement_tables(profiles: pd.DataFrame, clips: pd.DataFrame, expert: Any
                     ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Per-cue agreement rows (against the rest of the clip and against neutral) for every clip
    x method x cue set, and one 'cue-agreement-neutral' result row per clip x method x cue set.
    """
    if profiles.empty or clips.empty:
        return pd.DataFrame(), []
    info = clips.set_index("clip_id")
    groups = {key: profiles_from_rows(g)
              for key, g in profiles.groupby(["clip_id", "method", "cues"], sort=False)}
    baselines = {}
    for cues in profiles["cues"].unique():
        neutral = {cid: prof for (cid, _, c), prof in groups.items()
                   if c == cues and info.loc[cid, "label"] == "neutral"}
        if neutral:
            baselines[cues] = neutral_baseline(
                list(neutral.values()), [str(info.loc[cid, "speaker"]) for cid in neutral])
    records: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for (cid, method, cues), prof in groups.items():
        c = info.loc[cid]
        speaker = str(c["speaker"])
        agree = agreement(prof, str(c["target"]), expert, baselines.get(cues), speaker)
        records += agreement_records(agree, prof, str(c["target"]), clip_id=cid, method=method,
                                     cues=cues, label=c["label"], speaker=speaker,
                                     correct=bool(c["correct"]))
        if cues in baselines:
            results.append({
                "clip_id": cid, "path": c["path"], "label": c["label"], "speaker": speaker,
                "pred": c["pred"], "target": c["target"], "correct": bool(c["correct"]),
                "method": method, "cues": cues, "metric": "cue-agreement-neutral",
                "against": "neutral", "value": aggregate_agreement(agree, against="neutral"),
                "direction": "higher", "category": "cue-agreement", "seconds": 0.0,
            })
    return pd.DataFrame(records), results

"""Dataset-level agreement computed after all batches, from the stored cue profiles.

Theory compares an emotion with neutral speech, so the neutral baseline needs every
evaluated neutral clip first: the same speaker's neutral clips where the corpus has them,
else all neutral clips (bsx.cues.profile.Baseline.norm). Profiles are rebuilt from the stored
rows, so a resumed run gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bsx.cues.profile import REGIONS, CueProfile, RegionStats, neutral_baseline
from bsx.scoring.agreement import aggregate_agreement, agreement, agreement_records


def profiles_from_rows(rows: pd.DataFrame) -> dict[tuple[Any, ...], CueProfile]:
    """Every clip x method x cue set's CueProfile from the stored profile_rows (one wide row
    per cue), read column-wise once rather than row by row."""
    cols: dict[str, Any] = {}
    for reg in REGIONS:
        cols[f"{reg}_mean"] = pd.to_numeric(rows[f"{reg}_mean"], errors="coerce").to_numpy()
        cols[f"{reg}_std"] = pd.to_numeric(rows[f"{reg}_std"], errors="coerce").to_numpy()
        for k in ("n", "n_voiced"):
            cols[f"{reg}_{k}"] = pd.to_numeric(rows[f"{reg}_{k}"], errors="coerce").fillna(0)\
                .astype(int).to_numpy()
        reason = rows.get(f"{reg}_reason")
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
                     for reg in REGIONS}
            for i in idx
        }
        out[key] = CueProfile(stats=stats, windows=(), content=(0.0, 0.0), extractor=key[2],
                              voiced_only=frozenset(cue[i] for i in idx if voiced[i]))
    return out


def agreement_tables(profiles: pd.DataFrame, clips: pd.DataFrame, expert: Any
                     ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Per-cue agreement rows (against the rest of the clip and against neutral) for every clip
    x method x cue set, and one 'cue-agreement-neutral' result row per clip x method x cue set.
    """
    if profiles.empty or clips.empty:
        return pd.DataFrame(), []
    info = clips.set_index("clip_id")
    groups = profiles_from_rows(profiles)
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

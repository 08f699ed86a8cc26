"""Dataset-level rows computed after all batches: agreement against a neutral baseline.

Theory compares an emotion with neutral speech, so the baseline is the same speaker's
neutral clips where the corpus has them among the evaluated clips, else all neutral clips.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def neutral_baseline(profiles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (cues, speaker, cue) and per (cues, cue): mean and std of neutral clips' whole-clip
    means (each clip once, whichever method's rows carry it)."""
    neutral = profiles[profiles["label"] == "neutral"].drop_duplicates(["clip_id", "cues", "cue"])
    by_spk = neutral.groupby(["cues", "speaker", "cue"])["whole_mean"].agg(["mean", "std", "count"])
    corpus = neutral.groupby(["cues", "cue"])["whole_mean"].agg(["mean", "std", "count"])
    return by_spk, corpus


def neutral_agreement_rows(profiles: pd.DataFrame, clips: pd.DataFrame,
                           expert: Any = None) -> list[dict[str, Any]]:
    """One 'cue-agreement-neutral' row per clip x method x cue set, plus per-cue z rows kept
    in the profile table's spirit: share of definite expert cells whose salient-window value
    lies on the expected side of the neutral baseline."""
    if profiles.empty or clips.empty or not (profiles["label"] == "neutral").any():
        return []
    by_spk, corpus = neutral_baseline(profiles)
    info = clips.set_index("clip_id")
    rows: list[dict[str, Any]] = []
    for (clip_id, method, cues), grp in profiles.groupby(["clip_id", "method", "cues"]):
        signs = []
        for r in grp.itertuples():
            if not r.expected or not np.isfinite(r.salient_mean):
                continue
            key = (cues, r.speaker, r.cue)
            base = by_spk.loc[key] if key in by_spk.index else None
            if base is None or base["count"] < 1:
                ckey = (cues, r.cue)
                if ckey not in corpus.index:
                    continue
                base = corpus.loc[ckey]
            diff = r.salient_mean - base["mean"]
            if not np.isfinite(diff) or diff == 0:
                continue
            signs.append(np.sign(diff) == np.sign(r.expected))
        c = info.loc[clip_id]
        rows.append({
            "clip_id": clip_id, "path": c["path"], "label": c["label"], "speaker": c["speaker"],
            "pred": c["pred"], "target": c["target"], "correct": bool(c["correct"]),
            "method": method, "cues": cues, "metric": "cue-agreement-neutral",
            "against": "neutral", "value": float(np.mean(signs)) if signs else float("nan"),
            "direction": "higher", "category": "cue-agreement", "seconds": 0.0,
        })
    return rows

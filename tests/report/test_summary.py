"""Summaries: bootstrap CI, model accuracy/UAR, neutral-baseline agreement on hand-built rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsx.expert import load_expert
from bsx.report.posthoc import agreement_tables
from bsx.report.summary import metric_table, model_scores


def test_model_scores_uar_is_the_mean_of_class_recalls() -> None:
    clips = pd.DataFrame({"label": ["a", "a", "a", "a", "b"], "pred": ["a", "a", "a", "b", "a"]})
    s = model_scores(clips)
    assert s["accuracy"] == 0.6
    assert s["uar"] == (0.75 + 0.0) / 2


def test_metric_table_splits_by_correctness_and_counts_dropped() -> None:
    rows = pd.DataFrame({
        "method": ["m"] * 4, "cues": [""] * 4, "metric": ["x"] * 4, "against": [""] * 4,
        "value": [1.0, 0.0, np.nan, 1.0], "correct": [True, False, True, True],
        "direction": ["higher"] * 4, "category": ["localisation"] * 4,
    })
    t = metric_table(rows).iloc[0]
    assert t["n"] == 3 and t["dropped"] == 1
    assert t["mean_correct"] == 1.0 and t["mean_wrong"] == 0.0


def _row(clip: str, label: str, speaker: str, salient: float, rest: float) -> dict:
    whole = (salient + rest) / 2
    row = {"clip_id": clip, "method": "m", "cues": "c", "label": label, "target": label,
           "speaker": speaker, "cue": "Loudness", "voiced_only": False}
    for reg, mean in (("salient", salient), ("rest", rest), ("whole", whole)):
        row.update({f"{reg}_mean": mean, f"{reg}_std": 1.0, f"{reg}_n": 20,
                    f"{reg}_n_voiced": 20, f"{reg}_reason": ""})
    return row


def test_neutral_agreement_uses_the_same_speakers_neutral_clips() -> None:
    # s1's neutral loudness is 10, s2's is 30 (corpus mean 20). An angry s1 clip whose salient
    # windows are at 15 is louder than its own speaker's neutral: anger agrees, though it is
    # below the corpus mean. A sad s3 clip (no neutral of its own) at 25 is not quieter than
    # the corpus neutral: sadness disagrees.
    prof = pd.DataFrame([
        _row("n1", "neutral", "s1", 10, 10), _row("n2", "neutral", "s2", 30, 30),
        _row("a1", "angry", "s1", 15, 12), _row("x3", "sad", "s3", 25, 25),
    ])
    clips = pd.DataFrame([
        {"clip_id": c, "path": c, "label": lab, "speaker": s, "pred": lab, "target": lab,
         "correct": True}
        for c, lab, s in (("n1", "neutral", "s1"), ("n2", "neutral", "s2"),
                          ("a1", "angry", "s1"), ("x3", "sad", "s3"))
    ])
    agree, rows = agreement_tables(prof, clips, load_expert())
    values = {r["clip_id"]: r["value"] for r in rows if r["metric"] == "cue-agreement-neutral"}
    assert values["a1"] == 1.0
    assert values["x3"] == 0.0
    assert np.isnan(values["n1"])  # neutral targets have no expectation
    a1 = agree[(agree["clip_id"] == "a1") & (agree["cue"] == "Loudness")].iloc[0]
    assert a1["effect_vs_neutral"] > 0 and a1["agrees_vs_rest"]

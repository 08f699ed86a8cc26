"""Summaries: bootstrap CI, model accuracy/UAR, neutral-baseline agreement on hand-built rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsx.report.posthoc import neutral_agreement_rows
from bsx.report.summary import bootstrap_ci, metric_table, model_scores


def test_bootstrap_ci_brackets_the_mean_and_ignores_nan() -> None:
    v = np.r_[np.random.default_rng(1).normal(2.0, 1.0, 400), np.nan]
    lo, hi = bootstrap_ci(v)
    assert lo < 2.0 < hi and hi - lo < 0.4
    assert bootstrap_ci(np.array([np.nan])) != bootstrap_ci(np.array([np.nan]))  # NaN pair


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


def test_neutral_agreement_uses_the_same_speakers_neutral_clips() -> None:
    # Speaker s1's neutral loudness is 10, s2's is 30. An angry s1 clip at 20 is above its own
    # speaker's neutral (agrees: anger is louder) though below the corpus-wide mean of 20->.
    prof = pd.DataFrame([
        {"clip_id": "n1", "method": "m", "cues": "c", "label": "neutral", "speaker": "s1",
         "cue": "Loudness", "salient_mean": 10, "whole_mean": 10, "expected": 0},
        {"clip_id": "n2", "method": "m", "cues": "c", "label": "neutral", "speaker": "s2",
         "cue": "Loudness", "salient_mean": 30, "whole_mean": 30, "expected": 0},
        {"clip_id": "a1", "method": "m", "cues": "c", "label": "angry", "speaker": "s1",
         "cue": "Loudness", "salient_mean": 15, "whole_mean": 12, "expected": 1},
        {"clip_id": "s3", "method": "m", "cues": "c", "label": "sad", "speaker": "s3",
         "cue": "Loudness", "salient_mean": 25, "whole_mean": 25, "expected": -1},
    ])
    clips = pd.DataFrame([
        {"clip_id": c, "path": c, "label": lab, "speaker": s, "pred": lab, "target": lab,
         "correct": True}
        for c, lab, s in (("n1", "neutral", "s1"), ("n2", "neutral", "s2"), ("a1", "angry", "s1"),
                          ("s3", "sad", "s3"))
    ])
    rows = {r["clip_id"]: r["value"] for r in neutral_agreement_rows(prof, clips)}
    assert rows["a1"] == 1.0          # 15 > own neutral 10
    assert rows["s3"] == 0.0          # s3 has no neutral: corpus mean 20, and 25 is not quieter
    assert np.isnan(rows["n1"])       # neutral targets have no expectation

"""Summaries: bootstrap CI, model accuracy/UAR, neutral-baseline agreement on hand-built rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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


def test_metric_table_ci_is_speaker_clustered() -> None:
    # two speakers at 0 and 1, ten clips each: the clustered CI spans both speakers' levels
    v = np.r_[np.zeros(10), np.ones(10)]
    rows = pd.DataFrame({
        "method": "m", "cues": "", "metric": "x", "against": "", "value": v, "correct": True,
        "speaker": ["a"] * 10 + ["b"] * 10, "direction": "higher", "category": "localisation",
    })
    t = metric_table(rows).iloc[0]
    assert t["n"] == 20 and t["n_speakers"] == 2
    assert t["ci_low"] == 0.0 and t["ci_high"] == 1.0  # resampling 2 speakers: 0, 0.5 or 1
    naive = metric_table(rows.drop(columns="speaker")).iloc[0]
    assert naive["n_speakers"] == 20 and 0.2 < naive["ci_low"] < naive["ci_high"] < 0.8


def test_summary_holds_fdr_adjusted_agreement_and_the_claims() -> None:
    from bsx.report.summary import agreement_summary, summarise

    prof = pd.DataFrame([_row(f"a{i}", "angry", f"s{i % 4}", 3 + i % 2, 1) for i in range(8)]
                        + [_row(f"d{i}", "sad", f"s{i % 4}", 1, 1 + i % 3) for i in range(8)])
    clips = pd.DataFrame([{"clip_id": r["clip_id"], "path": r["clip_id"], "label": r["label"],
                           "speaker": r["speaker"], "pred": r["label"], "target": r["label"],
                           "correct": i % 3 > 0} for i, r in prof.iterrows()])
    agree, _ = agreement_tables(prof, clips, load_expert())
    rows = pd.DataFrame(agreement_summary(agree))
    for _, fam in rows.groupby("clips"):
        p = fam["p_value"].to_numpy(dtype=float)
        order = np.argsort(p)
        m = np.isfinite(p).sum()
        hand = np.minimum.accumulate((p[order] * m / np.arange(1, len(p) + 1))[::-1])[::-1]
        assert np.allclose(fam["p_fdr"].to_numpy(dtype=float)[order], np.minimum(hand, 1))
    results = pd.DataFrame(columns=["method", "cues", "metric", "against", "value", "correct",
                                    "direction", "category", "seconds"])
    out = summarise({"results": results, "clips": clips, "agreement": agree}, cfg=None,
                    metrics={}, skipped=[])
    claims = {(r["claim"], r["method"]) for r in out["claims"]}
    assert claims == {("a", "m"), ("b", "m"), ("c", "m")}
    assert all(isinstance(r["verdict"], str) and r["verdict"] for r in out["claims"])
    import json

    json.dumps(out["claims"], allow_nan=False)  # NaN became null
    assert out["arousal_groups"]["groups"]["high"]["n"] == 8  # angry
    assert out["arousal_groups"]["groups"]["low"]["n"] == 8   # sad
    # a checkpoint without split information: recorded, and claim (c) says so
    from bsx.scoring.claims import TRAINING_CAVEAT

    training = {"split_from": "unknown", "stated": None, "warning": "may include ..."}
    warned = summarise({"results": results, "clips": clips, "agreement": agree}, cfg=None,
                       metrics={}, skipped=[], training=training)
    assert warned["training_data"] == training
    for plain, caveat in zip(out["claims"], warned["claims"], strict=True):
        want = plain["verdict"] + (TRAINING_CAVEAT if plain["claim"] == "c" else "")
        assert caveat["verdict"] == want


def test_metric_table_pairs_each_method_with_random_by_clip() -> None:
    rng = np.random.default_rng(0)
    clips = [f"c{i}" for i in range(12)]
    base = rng.normal(5.0, 2.0, 12)            # clips differ a lot
    rows = []
    for method, shift in (("random", 0.0), ("gradcam", -0.5)):  # lower is better here
        rows += [{"clip_id": c, "speaker": f"s{i % 6}", "method": method, "cues": "",
                  "metric": "complexity", "against": "", "value": v + shift, "correct": True,
                  "direction": "lower", "category": "complexity"}
                 for i, (c, v) in enumerate(zip(clips, base, strict=True))]
    t = metric_table(pd.DataFrame(rows)).set_index("method")
    g = t.loc["gradcam"]
    assert g["vs_random"] == pytest.approx(0.5)   # positive: better than random
    assert g["vs_random_ci_low"] == pytest.approx(0.5) == g["vs_random_ci_high"]
    assert g["vs_random_p"] == pytest.approx(2 / 2**6) and g["vs_random_n"] == 12
    assert np.isnan(t.loc["random", "vs_random"])
    # unpaired, the two means' CIs overlap: the pairing is what makes the margin clear
    assert g["ci_low"] < t.loc["random", "ci_high"]

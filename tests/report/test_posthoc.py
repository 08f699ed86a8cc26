"""Posthoc agreement: the one place agreement is computed; the continuous score breaks ties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsx.cues.base import CueTracks
from bsx.cues.profile import cue_profile, profile_rows
from bsx.expert import load_expert
from bsx.report.posthoc import AGREEMENT_METRICS, agreement_tables
from bsx.scoring.agreement import aggregate_agreement, agreement, effect_score
from bsx.scoring.specs import get_metric

DUR, SPAN = 2.0, (0.8, 1.1)


def tracks(shift: float, seed: int) -> CueTracks:
    """Loudness ~ N(0, 1) per 10 ms frame, plus `shift` inside SPAN (Cohen's d ~ shift)."""
    rng = np.random.default_rng(seed)
    n = int(DUR / 0.01) + 1
    loud = rng.normal(0.0, 1.0, n)
    loud[int(SPAN[0] / 0.01):int(SPAN[1] / 0.01)] += shift
    return CueTracks(values={"Loudness": loud}, voiced=np.ones(n, bool), extractor="toy")


def tables(windows: dict[str, list[tuple[float, float]]], n: int = 6
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    prof, clips = [], []
    for i in range(n):
        cid = f"c{i}"
        clips.append({"clip_id": cid, "path": cid, "label": "angry", "speaker": f"s{i % 3}",
                      "pred": "angry", "target": "angry", "correct": True})
        t = tracks(2.0, i)
        for method, wins in windows.items():
            prof += [{"clip_id": cid, "method": method, "cues": "toy", **r}
                     for r in profile_rows(cue_profile(t, wins, content=(0.0, DUR)))]
    return pd.DataFrame(prof), pd.DataFrame(clips)


def test_continuous_score_separates_methods_whose_share_ties() -> None:
    # "exact" covers the planted loud span; "half" half-overlaps it. Both windows are louder
    # than the rest, so both agree on the one cue (share 1.0 each), but by different amounts.
    a, b = SPAN
    half = (a + (b - a) / 2, b + (b - a) / 2)
    profiles, clips = tables({"exact": [SPAN], "half": [half]})
    _, rows = agreement_tables(profiles, clips, load_expert(), metrics=AGREEMENT_METRICS)
    res = pd.DataFrame(rows).groupby(["metric", "method"])["value"].mean()
    assert res["cue-agreement-rest", "exact"] == res["cue-agreement-rest", "half"] == 1.0
    exact, halfway = res["cue-effect-rest", "exact"], res["cue-effect-rest", "half"]
    assert exact == pytest.approx(2.0, abs=0.35)       # the planted d
    assert halfway == pytest.approx(0.85, abs=0.35)    # half the frames carry the shift
    assert exact > halfway + 0.6
    assert get_metric("cue-effect-rest").direction == "higher"


def test_posthoc_matches_the_per_clip_agreement_and_emits_what_is_asked() -> None:
    profiles, clips = tables({"m": [SPAN]}, n=2)
    _, rows = agreement_tables(profiles, clips, load_expert(), metrics=AGREEMENT_METRICS)
    got = {r["metric"] for r in rows}
    assert got == {"cue-agreement-rest", "cue-effect-rest"}  # no neutral clips: no -neutral
    for r in rows:
        prof = cue_profile(tracks(2.0, int(r["clip_id"][1:])), [SPAN], content=(0.0, DUR))
        agree = agreement(prof, "angry", load_expert())
        want = (aggregate_agreement(agree) if r["metric"] == "cue-agreement-rest"
                else effect_score(agree))
        assert r["value"] == pytest.approx(want)
    _, rows = agreement_tables(profiles, clips, load_expert(), metrics=["cue-effect-rest"])
    assert {r["metric"] for r in rows} == {"cue-effect-rest"}
    with pytest.raises(ValueError, match="unknown metric.*cue-agreement-rest"):
        agreement_tables(profiles, clips, load_expert(), metrics=["cue-agreement-whole"])

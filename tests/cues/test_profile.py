"""cue_profile, neutral_baseline and zscores on hand-built tracks with hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.cues.base import CueTracks
from bsx.cues.profile import cue_profile, neutral_baseline, zscores


def tracks(loud: list[float], pitch: list[float], voiced: list[bool]) -> CueTracks:
    return CueTracks(
        values={"Loudness": np.array(loud, float), "Pitch_lvl": np.array(pitch, float)},
        voiced=np.array(voiced), voiced_only=frozenset({"Pitch_lvl"}), extractor="hand",
    )


def test_salient_rest_whole_hand_computed() -> None:
    loud = [1, 1, 1, 5, 7, 9, 1, 1, 1, 1]
    pitch = [np.nan, 30, 30, 40, 42, 44, 30, 30, np.nan, np.nan]
    voiced = [False, True, True, True, True, True, True, True, False, False]
    p = cue_profile(tracks(loud, pitch, voiced), [(0.03, 0.06)])  # frames 3, 4, 5
    s = p.get("Loudness", "salient")
    assert (s.mean, s.std, s.n) == (7.0, 2.0, 3)
    assert p.get("Loudness", "rest").mean == 1.0 and p.get("Loudness", "rest").n == 7
    assert p.get("Loudness", "whole").mean == pytest.approx(2.8)
    assert p.get("Pitch_lvl", "salient").mean == 42.0
    rest = p.get("Pitch_lvl", "rest")
    assert (rest.mean, rest.n, rest.n_voiced) == (30.0, 4, 4)  # unvoiced frames dropped
    assert p.get("Pitch_var", "salient").mean == 2.0  # std of 40, 42, 44


def test_too_few_voiced_frames_is_nan_with_reason() -> None:
    t = tracks([1.0] * 10, [np.nan, np.nan, 30, 31] + [np.nan] * 6,
               [False, False, True, True] + [False] * 6)
    p = cue_profile(t, [(0.0, 0.05)])
    s = p.get("Pitch_lvl", "salient")
    assert math.isnan(s.mean) and s.n == 2 and "too few voiced frames" in s.reason
    assert p.get("Loudness", "salient").mean == 1.0  # not a voiced cue: measured


def test_content_limits_rest_and_whole() -> None:
    t = tracks(list(range(10)), [30.0] * 10, [True] * 10)
    p = cue_profile(t, [(0.02, 0.04)], content=(0.01, 0.06))  # frames 1..5, salient 2, 3
    assert p.get("Loudness", "whole").mean == 3.0
    assert p.get("Loudness", "rest").mean == pytest.approx((1 + 4 + 5) / 3)


def test_baseline_pools_frames_and_falls_back_to_corpus() -> None:
    a = tracks([1, 2, 3, 4], [30, 31, 32, 33], [True] * 4)
    b = tracks([10, 12, 14, 16], [40, 40, 41, 41], [True] * 4)
    base = neutral_baseline([a, b], ["s1", "s2"])
    allv = np.array([1, 2, 3, 4, 10, 12, 14, 16], float)
    assert base.corpus["Loudness"].mean == pytest.approx(allv.mean())
    assert base.corpus["Loudness"].std == pytest.approx(allv.std(ddof=1))
    clip = cue_profile(tracks([4, 4, 4, 4], [30] * 4, [True] * 4), [(0.0, 0.02)])
    z_s1 = zscores(clip, base, "s1")["Loudness"]["salient"]
    assert z_s1 == pytest.approx((4 - 2.5) / np.std([1, 2, 3, 4], ddof=1))
    z_unknown = zscores(clip, base, "nobody")["Loudness"]["salient"]
    assert z_unknown == pytest.approx((4 - allv.mean()) / allv.std(ddof=1))

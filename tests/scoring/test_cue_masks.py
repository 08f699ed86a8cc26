"""Expert-cue windows and masks on hand-computed geometry; overlap and coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.cues.base import CueTracks
from bsx.expert import load_expert
from bsx.scoring.cue_masks import (
    CueWindowing,
    expert_cue_masks,
    expert_cue_windows,
    overlap_coverage,
)


def loud_tracks() -> CueTracks:
    loud = np.zeros(100)  # 1 s on the 10 ms grid
    loud[60:70] = 5.0     # loudest: exactly the window starting at 0.60 s
    loud[30:40] = 2.0     # a weaker peak at 0.30 s
    return CueTracks(values={"Loudness": loud}, voiced=np.ones(100, bool))


def test_top_windows_follow_the_expected_direction() -> None:
    ex = load_expert()
    up = expert_cue_windows(loud_tracks(), "angry", ex, k=1)
    assert up == {"Loudness": [pytest.approx((0.6, 0.7))]}
    down = expert_cue_windows(loud_tracks(), "sad", ex, k=1)["Loudness"][0]
    assert down[0] + 1e-9 >= 0.0 and not (0.2 < down[0] < 0.7)  # a quiet window
    top3 = expert_cue_windows(loud_tracks(), "angry", ex, k=3)["Loudness"]
    assert top3[0] == pytest.approx((0.6, 0.7))
    assert all(0.5 <= a <= 0.7 for a, _ in top3)  # windows overlapping the peak come next
    assert "Loudness" not in expert_cue_windows(loud_tracks(), "fear", ex)  # mixed: no mask


def test_mask_geometry_hand_computed() -> None:
    trim = 0.3  # model timeline = original - 0.3 s (a trimmed clip, no padding)
    masks = expert_cue_masks(
        loud_tracks(), "angry", load_expert(), to_model=lambda t: t - trim,
        frame_s=0.015, n_frames=134, n_mels=128, windowing=CueWindowing(k=1),
    )
    m = masks["Loudness"]
    assert m.shape == (128, 134) and m.dtype == bool
    # [0.6, 0.7) -> [0.3, 0.4) on the model; frame k is centred at 0.015 k:
    # k = ceil(0.3 / 0.015) = 20 .. ceil(0.4 / 0.015) - 1 = 26
    cols = np.flatnonzero(m.any(axis=0))
    assert cols.tolist() == list(range(20, 27)) and m[:, 20:27].all()


def test_overlap_coverage_hand_computed() -> None:
    salient = [(0.0, 0.15), (0.30, 0.45)]
    cue = [(0.10, 0.20), (0.15, 0.25), (0.40, 0.50)]  # union: 0.10-0.25, 0.40-0.50
    overlap, coverage = overlap_coverage(salient, cue)
    inter = 0.05 + 0.05
    assert overlap == pytest.approx(100 * inter / 0.30)
    assert coverage == pytest.approx(100 * inter / 0.25)
    assert overlap_coverage([(0.0, 0.1)], [(0.5, 0.6)]) == (0.0, 0.0)
    assert math.isnan(overlap_coverage([], [(0.5, 0.6)])[0])

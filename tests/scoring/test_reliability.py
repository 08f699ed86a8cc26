"""Seed reliability maths against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.scoring.reliability import map_rank_correlation, seed_agreement, window_iou


def test_rank_correlation_identical_reversed_and_monotone() -> None:
    m = np.random.default_rng(0).random((128, 40))
    assert map_rank_correlation(m, m) == pytest.approx(1.0)
    prof = np.arange(10.0)
    assert map_rank_correlation(prof, prof[::-1]) == pytest.approx(-1.0)
    assert map_rank_correlation(prof, prof ** 3 + 5) == pytest.approx(1.0)  # ranks only
    # (F, T) maps are compared by their time profiles: frequency layout does not matter
    a = np.zeros((4, 5))
    a[0] = [1, 2, 3, 4, 5]
    b = np.zeros((4, 5))
    b[3] = [10, 20, 30, 40, 50]
    assert map_rank_correlation(a, b) == pytest.approx(1.0)
    # hand-computed: ranks [1,2,3] vs [1,3,2] -> rho = 1 - 6*2/(3*8) = 0.5
    assert map_rank_correlation(np.array([1.0, 2, 3]), np.array([1.0, 3, 2])) == pytest.approx(0.5)
    assert math.isnan(map_rank_correlation(np.ones(6), prof[:6]))
    with pytest.raises(ValueError, match="frames"):
        map_rank_correlation(np.ones(5), np.ones(6))


def test_window_iou_known_answers() -> None:
    w = [(0.1, 0.3), (0.5, 0.6)]
    assert window_iou(w, w) == pytest.approx(1.0)
    assert window_iou([(0.0, 0.2)], [(0.3, 0.5)]) == 0.0                 # disjoint
    assert window_iou([(0.0, 0.2)], [(0.1, 0.3)]) == pytest.approx(0.1 / 0.3)
    # overlapping windows within a set are merged, not double counted
    assert window_iou([(0.0, 0.2), (0.1, 0.3)], [(0.0, 0.3)]) == pytest.approx(1.0)
    assert window_iou([], [(0.0, 0.1)]) == 0.0
    assert math.isnan(window_iou([], []))


def test_seed_agreement_is_the_mean_over_pairs() -> None:
    p = np.arange(8.0)
    got = seed_agreement([p, p, p[::-1]],
                         [[(0.0, 0.2)], [(0.0, 0.2)], [(0.3, 0.5)]])
    # pairs (0,1): 1, (0,2): -1, (1,2): -1 -> -1/3; IoU 1, 0, 0 -> 1/3
    assert got["seed-rank-correlation"] == pytest.approx(-1 / 3)
    assert got["seed-window-iou"] == pytest.approx(1 / 3)
    assert set(seed_agreement([p, p])) == {"seed-rank-correlation"}
    with pytest.raises(ValueError, match="at least 2"):
        seed_agreement([p])


def test_windows_agreement_from_runs_windows_csv() -> None:
    import pandas as pd

    from bsx.scoring.reliability import windows_agreement

    def run(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["clip_id", "method", "start_s", "end_s"])

    a = run([("c0", "gradcam", 0.0, 0.2), ("c0", "gradcam", 0.4, 0.5), ("c1", "gradcam", 0, 1)])
    b = run([("c0", "gradcam", 0.4, 0.5), ("c0", "gradcam", 0.0, 0.2), ("c1", "gradcam", 2, 3)])
    got = windows_agreement([a, b]).set_index(["clip_id", "method"])["seed-window-iou"]
    assert got[("c0", "gradcam")] == pytest.approx(1.0)   # same windows, other order
    assert got[("c1", "gradcam")] == 0.0                  # disjoint
    c = run([("c0", "gradcam", 0.0, 0.1)])                # c1 has no windows in run c
    got3 = windows_agreement([a, b, c]).set_index(["clip_id", "method"])["seed-window-iou"]
    # c0: IoU(a,b)=1, IoU(a,c)=0.1/0.3, IoU(b,c)=0.1/0.3
    assert got3[("c0", "gradcam")] == pytest.approx((1 + 2 / 3) / 3)
    assert got3[("c1", "gradcam")] == 0.0

"""Ground-truth precision/recall on hand-computed windows and spans."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.scoring.groundtruth import gt_precision_recall, merge_spans, span_mask


def test_partial_overlap_by_hand() -> None:
    # window 0.5-1.5 s, span 1.0-2.0 s: 0.5 s shared; window 1 s long, span 1 s long
    p, r = gt_precision_recall([(0.5, 1.5)], [(1.0, 2.0)])
    assert p == pytest.approx(0.5) and r == pytest.approx(0.5)


def test_two_windows_one_span() -> None:
    # windows 0-1 and 2-3 (2 s), span 0.5-2.5 (2 s): shared 0.5 + 0.5 = 1 s
    p, r = gt_precision_recall([(0.0, 1.0), (2.0, 3.0)], [(0.5, 2.5)])
    assert p == pytest.approx(0.5) and r == pytest.approx(0.5)


def test_overlapping_windows_count_once() -> None:
    # 0-1 and 0.5-1.5 merge to 0-1.5; span 0-1: shared 1 s; precision 1/1.5, recall 1
    p, r = gt_precision_recall([(0.0, 1.0), (0.5, 1.5)], [(0.0, 1.0)])
    assert p == pytest.approx(2 / 3) and r == pytest.approx(1.0)
    assert merge_spans([(0.5, 1.5), (0.0, 1.0), (3, 2)]) == [(0.0, 1.5)]


def test_disjoint_and_empty() -> None:
    assert gt_precision_recall([(0.0, 1.0)], [(2.0, 3.0)]) == (0.0, 0.0)
    p, r = gt_precision_recall([], [(2.0, 3.0)])
    assert math.isnan(p) and r == 0.0
    p, r = gt_precision_recall([(0.0, 1.0)], [])
    assert p == 0.0 and math.isnan(r)


def test_span_mask_marks_frame_centres() -> None:
    # 15 ms frames centred at 0, 15, 30, ... ms; span 25-70 ms holds centres 30, 45, 60
    m = span_mask([(0.025, 0.070)], 0.015, 10, n_mels=4)
    assert m.shape == (4, 10) and m.dtype == bool
    assert np.flatnonzero(m[0]).tolist() == [2, 3, 4]
    assert (m == m[0]).all()

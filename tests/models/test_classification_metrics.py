"""Metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from bsx.models.metrics import classification_report, confusion_matrix, macro_f1, uar


def test_hand_computed_example() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    p = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    cm = confusion_matrix(y, p, 4)
    assert cm[:3, :3].tolist() == [[3, 1, 0], [1, 1, 0], [0, 0, 2]] and cm[3].sum() == 0
    rep = classification_report(y, p, ["a", "b", "c", "d"])
    assert rep["accuracy"] == pytest.approx(6 / 8)
    assert rep["uar"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)  # class d absent: left out
    assert rep["per_class_recall"] == {"a": 0.75, "b": 0.5, "c": 1.0, "d": None}
    # F1: a = 2*3/(4+4), b = 2*1/(2+2), c = 1
    assert rep["macro_f1"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)


def test_agrees_with_sklearn() -> None:
    sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn not installed")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 6, 200))
    cm = confusion_matrix(y, p, 6)
    np.testing.assert_array_equal(cm, sk.confusion_matrix(y, p, labels=range(6)))
    assert uar(cm) == pytest.approx(sk.balanced_accuracy_score(y, p))
    assert macro_f1(cm) == pytest.approx(sk.f1_score(y, p, average="macro", zero_division=0))


def test_out_of_range() -> None:
    with pytest.raises(ValueError, match="class indices"):
        confusion_matrix([0, 3], [0, 1], 3)

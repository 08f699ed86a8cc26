"""Classification metrics for SER, in plain numpy.

Emotion corpora are rarely balanced, so besides accuracy bsx reports the unweighted average
recall (UAR; the mean of per-class recalls, the INTERSPEECH Emotion Challenge measure,
Schuller et al. 2009), macro F1, per-class recall and the confusion matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} items, y_pred {p.size}")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"class indices must lie in [0, {n_classes})")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def accuracy(cm: np.ndarray) -> float:
    """Fraction of correct predictions (nan when there are none)."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall per true class; nan for a class with no true examples."""
    support = cm.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def uar(cm: np.ndarray) -> float:
    """Unweighted average recall over classes that occur in the truth."""
    r = per_class_recall(cm)
    return float(np.nanmean(r)) if np.any(~np.isnan(r)) else float("nan")


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over classes that occur in the truth or the predictions (as scikit-learn).

    A class never predicted but present has precision 0 (F1 0), as zero_division=0.
    """
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = (support + predicted) > 0
    if not present.any():
        return float("nan")
    denom = (support + predicted).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return float(f1[present].mean())


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]
) -> dict[str, Any]:
    """All metrics as a JSON-ready dict (nan recalls become None)."""
    cm = confusion_matrix(y_true, y_pred, len(labels))
    rec = per_class_recall(cm)
    return {
        "n": int(cm.sum()),
        "accuracy": accuracy(cm),
        "uar": uar(cm),
        "macro_f1": macro_f1(cm),
        "per_class_recall": {
            lab: (None if np.isnan(r) else float(r)) for lab, r in zip(labels, rec, strict=True)
        },
        "support": {lab: int(s) for lab, s in zip(labels, cm.sum(axis=1), strict=True)},
        "labels": list(labels),
        "confusion": cm.tolist(),
    }

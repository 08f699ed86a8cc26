"""Dataset-level statistics: bootstrap confidence intervals and a paired salient-vs-rest test.

Single examples, as in the paper's figures, prove little; these put an interval and a test
on each emotion x cue cell.
"""

from __future__ import annotations

import math

import numpy as np


def bootstrap_ci(
    x: np.ndarray, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (Efron & Tibshirani 1993); NaNs dropped.

    (NaN, NaN) for fewer than 2 values. Resamples are drawn at once (n_boot x n).
    """
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    alpha = (1.0 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def paired_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """Wilcoxon signed-rank test of a vs b over pairs where both are finite.

    Returns (statistic, two-sided p, n pairs); p is NaN for fewer than 2 pairs and 1.0 when
    every difference is zero.
    """
    from scipy.stats import wilcoxon

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 2:
        return math.nan, math.nan, n
    d = x[ok] - y[ok]
    if not np.any(d != 0):
        return 0.0, 1.0, n
    res = wilcoxon(x[ok], y[ok], zero_method="wilcox", alternative="two-sided")
    return float(res.statistic), float(res.pvalue), n

"""How report.html, summary text and the leaderboard print numbers: one number of decimals.

A mean printed to 3 decimals beside a CI printed to 2 reads as more precise than its own
interval; every score, CI bound and margin goes through these, so they always agree.
"""

from __future__ import annotations

import math
from typing import Any

DECIMALS = 3


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def num(v: Any, missing: str = "–") -> str:
    """A score or CI bound: '0.720'; `missing` for None and NaN."""
    return missing if _missing(v) else f"{float(v):.{DECIMALS}f}"


def signed(v: Any, missing: str = "–") -> str:
    """A margin with its sign: '+0.050'; a value that rounds to zero prints '+0.000'."""
    if _missing(v):
        return missing
    x = float(v)
    return f"{0.0 if abs(x) < 0.5 * 10**-DECIMALS else x:+.{DECIMALS}f}"


def mean_ci(mean: Any, lo: Any, hi: Any, missing: str = "–") -> str:
    """'0.720 [0.650, 0.790]', the mean alone when the CI is missing, `missing` without a
    mean."""
    if _missing(mean):
        return missing
    if _missing(lo) or _missing(hi):
        return num(mean)
    return f"{num(mean)} [{num(lo)}, {num(hi)}]"

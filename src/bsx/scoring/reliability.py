"""Reliability across training seeds: do models that differ only in their seed explain alike?

An explanation that changes with the training seed says more about the seed than about the
data. For each clip, the explanations of K models (same data, recipe and front-end; seeds
differ) are compared pairwise:
- `map_rank_correlation`: Spearman's rho between two time-relevance profiles (the (F, T) map
  summed over F, on the clip's model timeline; docs/model-contract.md), ties averaged;
- `window_iou`: intersection over union of the time covered by two sets of salient windows
  (seconds on the original file, each set's windows merged first).
`seed_agreement` gives a clip's mean over all K(K-1)/2 pairs. NaN where a pair is undefined (a
constant map; no windows in either set). Plain functions over arrays (style section 6).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import rankdata

if TYPE_CHECKING:
    import pandas as pd

Window = tuple[float, float]


def time_profile(relevance: np.ndarray) -> np.ndarray:
    """(F, T) or (T,) relevance -> (T,) relevance per frame (summed over F)."""
    r = np.asarray(relevance, dtype=np.float64)
    return r.sum(axis=0) if r.ndim == 2 else r


def map_rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of two time-relevance maps of one clip ((F, T) or (T,), same T).

    1: same frame ranking; -1: reversed; NaN when either profile is constant."""
    x, y = time_profile(a), time_profile(b)
    if x.shape != y.shape:
        raise ValueError(f"maps cover {x.shape[-1]} and {y.shape[-1]} frames; compare maps of "
                         "one clip on one timeline")
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else math.nan


def _merge(windows: Sequence[Window]) -> list[Window]:
    spans = sorted((float(s), float(e)) for s, e in windows if e > s)
    out: list[list[float]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _length(spans: Sequence[Window]) -> float:
    return float(sum(e - s for s, e in spans))


def window_iou(a: Sequence[Window], b: Sequence[Window]) -> float:
    """|A ∩ B| / |A ∪ B| of the time two window sets cover (seconds). 1: the same time;
    0: disjoint; NaN when neither set covers any time."""
    ma, mb = _merge(a), _merge(b)
    inter, i, j = 0.0, 0, 0
    while i < len(ma) and j < len(mb):
        lo, hi = max(ma[i][0], mb[j][0]), min(ma[i][1], mb[j][1])
        inter += max(0.0, hi - lo)
        if ma[i][1] < mb[j][1]:
            i += 1
        else:
            j += 1
    union = _length(ma) + _length(mb) - inter
    return inter / union if union > 0 else math.nan


def _mean_pairs(values: list[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def seed_agreement(maps: Sequence[np.ndarray],
                   windows: Sequence[Sequence[Window]] | None = None) -> dict[str, float]:
    """One clip, K >= 2 models: mean pairwise rank correlation of their maps and, given the
    windows, mean pairwise window IoU ({"seed-rank-correlation", "seed-window-iou"})."""
    if len(maps) < 2:
        raise ValueError(f"seed agreement needs the maps of at least 2 models, got {len(maps)}")
    pairs = list(itertools.combinations(range(len(maps)), 2))
    out = {"seed-rank-correlation":
           _mean_pairs([map_rank_correlation(maps[i], maps[j]) for i, j in pairs])}
    if windows is not None:
        if len(windows) != len(maps):
            raise ValueError(f"{len(maps)} maps but {len(windows)} window sets")
        out["seed-window-iou"] = _mean_pairs([window_iou(windows[i], windows[j])
                                              for i, j in pairs])
    return out


def windows_agreement(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Seed-window IoU post hoc, from the windows.csv of K evaluate runs (one per seed
    checkpoint, same clips and methods): one row per clip x method with the mean pairwise
    IoU of the windows on the original timeline (start_s, end_s). A clip x method missing
    from a run counts as a run with no windows there."""
    import pandas as pd

    if len(tables) < 2:
        raise ValueError(f"window agreement needs the windows of at least 2 runs, got "
                         f"{len(tables)}")
    per_run = [{key: list(zip(g["start_s"], g["end_s"], strict=True))
                for key, g in t.groupby(["clip_id", "method"], sort=True)} for t in tables]
    keys = sorted(set().union(*per_run))
    rows = [{"clip_id": cid, "method": method,
             "seed-window-iou": _mean_pairs([window_iou(per_run[i].get((cid, method), []),
                                                        per_run[j].get((cid, method), []))
                                             for i, j in itertools.combinations(
                                                 range(len(per_run)), 2)])}
            for cid, method in keys]
    return pd.DataFrame(rows, columns=["clip_id", "method", "seed-window-iou"])

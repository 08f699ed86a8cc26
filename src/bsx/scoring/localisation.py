"""Plausibility: does the relevance of a (128, T) map fall inside a cue or planted mask?

Thin batched wrappers over Quantus' localisation metrics (Hedstrom et al. 2023, JMLR). One
Quantus call per metric for the whole batch, on x (B, 1, 128, T) channel-first. Two things
Quantus gets wrong for audio masks are handled here, before Quantus sees the batch:

- an empty mask (a clip with no voiced frames, say) is scored as a hit by PointingGame (NaN
  in a boolean array is True) and as NaN or a warning elsewhere; a full mask makes every map
  perfect and AUC undefined. Such clips are dropped (NaN) and counted, for every metric.
- maps are signed for LRP-type methods; localisation asks where the positive evidence lies
  (Arras et al. 2022), so negative relevance is clipped to zero (sign "positive", the
  default); for a method whose sign is arbitrary (sign "absolute", see
  bsx.windows.method_sign: occlusion with a 0 dB baseline) the magnitude is used, the same
  rule its salient windows follow.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bsx.scoring.specs import computed_by, get_metric

LOCALISATION_METRICS: tuple[str, ...] = computed_by("localisation")  # from the specs

TOP_K_SHARE = 0.05  # top-k-intersection: k = 5% of the bins (Quantus' 1000 is for 224x224)


def _metric(name: str, n_bins: int) -> Callable[..., Any]:
    import quantus

    from bsx.scoring.quantus_asserts import install

    install()

    common: dict[str, Any] = dict(abs=False, normalise=False, disable_warnings=True,
                                  display_progressbar=False, return_aggregate=False)
    if name == "relevance-mass-accuracy":
        return quantus.RelevanceMassAccuracy(**common)
    if name == "relevance-rank-accuracy":
        return quantus.RelevanceRankAccuracy(**common)
    if name == "top-k-intersection":
        k = max(1, math.ceil(TOP_K_SHARE * n_bins))
        return quantus.TopKIntersection(k=k, concept_influence=False, **common)
    if name == "auc":
        return quantus.AUC(**common)
    if name == "pointing-game":
        return quantus.PointingGame(**common)
    spec = get_metric(name)  # a plugin's: its factory builds the Quantus metric
    if spec.compute != "localisation":
        raise ValueError(f"{name} is not a localisation metric")
    return spec.factory(options=spec.make_options())  # type: ignore[no-any-return]


def usable_masks(masks: np.ndarray) -> np.ndarray:
    """(B,) True where a (B, 128, T) mask is neither empty nor full, so localisation means
    something."""
    flat = np.asarray(masks, dtype=bool).reshape(len(masks), -1)
    n = flat.sum(axis=1)
    return (n > 0) & (n < flat.shape[1])


def localisation_scores(
    maps: np.ndarray, masks: np.ndarray, metrics: Sequence[str], *, sign: str = "positive",
) -> tuple[dict[str, np.ndarray], int]:
    """Quantus localisation scores per clip.

    Args:
        maps: (B, 128, T) relevance.
        masks: (B, 128, T) bool, True where the cue (or planted span) is.
        metrics: names among LOCALISATION_METRICS; others raise UnknownName/ValueError.
        sign: "positive" clips negative relevance to 0, "absolute" takes |relevance|.

    Returns:
        ({name: (B,) float, NaN where dropped}, number of clips dropped for an empty or
        full mask).
    """
    maps = np.asarray(maps, dtype=np.float64)
    masks = np.asarray(masks, dtype=bool)
    if maps.shape != masks.shape or maps.ndim != 3:
        raise ValueError(f"maps {maps.shape} and masks {masks.shape} must both be (B, 128, T)")
    for name in metrics:
        spec = get_metric(name)  # UnknownName with a suggestion
        if name not in LOCALISATION_METRICS and spec.compute != "localisation":
            raise ValueError(f"{name} is not a localisation metric: {LOCALISATION_METRICS}")
    n = len(maps)
    keep = usable_masks(masks)
    n_dropped = int(n - keep.sum())
    out = {name: np.full(n, np.nan) for name in metrics}
    if not keep.any() or not metrics:
        return out, n_dropped
    if sign not in ("positive", "absolute"):
        raise ValueError(f"sign must be 'positive' or 'absolute', not {sign!r}")
    kept = np.abs(maps[keep]) if sign == "absolute" else np.maximum(maps[keep], 0.0)
    a = kept[:, None].astype(np.float32)
    s = masks[keep][:, None].astype(np.float32)
    x = np.zeros_like(a)  # localisation reads only the shape of x
    y = np.zeros(len(a), dtype=int)
    for name in metrics:
        metric = _metric(name, a[0].size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = metric(model=None, x_batch=x, y_batch=y, a_batch=a, s_batch=s,
                            channel_first=True, batch_size=len(a))
        out[name][keep] = np.asarray(scores, dtype=np.float64).reshape(-1)
    return out, n_dropped

"""Agreement of salient windows with planted ground-truth spans (synth corpus).

Both lists are (start_s, end_s) on ONE timeline (the caller maps them: Prepared.to_model /
to_original). Overlapping windows are merged first (union semantics), so a stretch of time
covered twice counts once in both precision and recall.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def merge_spans(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, disjoint union of (start, end) spans; empty and reversed spans are dropped."""
    items = sorted((float(a), float(b)) for a, b in spans if b > a)
    out: list[tuple[float, float]] = []
    for a, b in items:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def total_length(spans: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by the union of the spans."""
    return float(sum(b - a for a, b in merge_spans(spans)))


def intersection_length(a: Iterable[tuple[float, float]],
                        b: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by both unions (a sweep over two sorted disjoint lists)."""
    ma, mb = merge_spans(a), merge_spans(b)
    i = j = 0
    total = 0.0
    while i < len(ma) and j < len(mb):
        lo = max(ma[i][0], mb[j][0])
        hi = min(ma[i][1], mb[j][1])
        if hi > lo:
            total += hi - lo
        if ma[i][1] < mb[j][1]:
            i += 1
        else:
            j += 1
    return total


def gt_precision_recall(windows: list[tuple[float, float]],
                        spans: list[tuple[float, float]]) -> tuple[float, float]:
    """(precision, recall) of salient windows against planted spans, in time.

    precision = share of window time inside the spans (NaN when there are no windows);
    recall = share of span time covered by the windows (NaN when there are no spans).
    """
    inter = intersection_length(windows, spans)
    w, s = total_length(windows), total_length(spans)
    precision = inter / w if w > 0 else float("nan")
    recall = inter / s if s > 0 else float("nan")
    return precision, recall


def span_mask(spans_model_s: Iterable[tuple[float, float]], frame_s: float, n_frames: int,
              n_mels: int = 128) -> np.ndarray:
    """(n_mels, n_frames) bool: frames whose centre lies in a span, across all mel bands.

    Frame i of a centred STFT is centred at i * frame_s on the model's timeline (librosa
    center=True), so that is the time a frame stands for.
    """
    centres = np.arange(n_frames) * frame_s
    cols = np.zeros(n_frames, dtype=bool)
    for a, b in merge_spans(spans_model_s):
        cols |= (centres >= a) & (centres < b)
    return np.broadcast_to(cols, (n_mels, n_frames)).copy()

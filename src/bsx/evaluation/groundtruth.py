"""Scores against the planted spans (the synth corpus's ground truth): gt-precision/recall on
the original timeline, Quantus localisation against the planted masks on the model grid."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bsx.evaluation.records import Records
from bsx.relevance import by_shape


def planted_masks(clips: list[Any], prepared: list[Any]) -> list[np.ndarray] | None:
    """(F, T) masks of the planted spans on each clip's model grid; None without spans."""
    if not any(c.meta.get("spans") for c in clips):
        return None
    from bsx.scoring.groundtruth import span_mask

    masks = []
    for c, p in zip(clips, prepared, strict=True):
        fe = p.frontend
        spans = [(float(p.to_model(a)), float(p.to_model(b))) for a, b in c.meta.get("spans", [])]
        masks.append(span_mask(spans, fe.frame_s, p.n_frames, fe.n_mels))
    return masks


def localisation(rec: Records, method: str, cues: str, maps: list[np.ndarray],
                 masks: list[np.ndarray], names: list[str], against: str, *,
                 sign: str | None = "positive") -> None:
    """Quantus localisation of each clip's map against its mask (one call per grid shape);
    `sign` is the method's window sign rule (bsx.windows.method_sign)."""
    from bsx.scoring.localisation import localisation_scores

    n = len(maps)
    for idx in by_shape(maps):
        t0 = time.perf_counter()
        scores, _ = localisation_scores(np.stack([maps[i] for i in idx]),
                                        np.stack([masks[i] for i in idx]), names,
                                        sign=sign or "positive")
        dt = (time.perf_counter() - t0) / n / max(len(names), 1)
        for metric, vals in scores.items():
            for i, v in zip(idx, vals, strict=True):
                rec.emit(int(i), method, cues, metric, v, dt, against)


def score_planted(rec: Records, method: str, clips: list[Any], maps: list[np.ndarray],
                  wins_orig: list[list[Any]], planted: list[np.ndarray] | None,
                  loc: list[str], *, sign: str | None = "positive") -> None:
    """gt-precision/recall of the windows, localisation of the maps, against planted spans."""
    from bsx.scoring.groundtruth import gt_precision_recall

    if planted is None:
        return
    for i, c in enumerate(clips):
        spans = [tuple(s) for s in c.meta.get("spans", [])]
        if not spans:
            continue
        t0 = time.perf_counter()
        prec, rec_ = gt_precision_recall([(w.start_s, w.end_s) for w in wins_orig[i]], spans)
        dt = time.perf_counter() - t0
        if rec.wants("gt-precision"):
            rec.emit(i, method, "", "gt-precision", prec, dt, "planted")
        if rec.wants("gt-recall"):
            rec.emit(i, method, "", "gt-recall", rec_, dt, "planted")
    if loc:
        localisation(rec, method, "", maps, planted, loc, "planted", sign=sign)

"""Scores against the planted spans (the synth corpus's ground truth): gt-precision/recall on
the original timeline, Quantus localisation against the planted masks on the model grid."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bsx.relevance import by_shape
from bsx.scoring.scorers import ScoreRow


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


def localisation(cues: str, maps: list[np.ndarray], masks: list[np.ndarray],
                 names: list[str], against: str, *,
                 sign: str | None = "positive") -> list[ScoreRow]:
    """Quantus localisation of each clip's map against its mask (one call per grid shape);
    `sign` is the method's window sign rule (bsx.windows.method_sign)."""
    from bsx.scoring.localisation import localisation_scores

    n = len(maps)
    rows: list[ScoreRow] = []
    for idx in by_shape(maps):
        t0 = time.perf_counter()
        scores, _ = localisation_scores(np.stack([maps[i] for i in idx]),
                                        np.stack([masks[i] for i in idx]), names,
                                        sign=sign or "positive")
        dt = (time.perf_counter() - t0) / n / max(len(names), 1)
        for metric, vals in scores.items():
            rows += [ScoreRow(int(i), metric, float(v), cues, against, dt)
                     for i, v in zip(idx, vals, strict=True)]
    return rows


def planted_windows(ctx: Any, mb: Any, specs: Sequence[Any]) -> list[ScoreRow]:
    """The "planted-windows" compute: gt-precision/recall of the salient windows against the
    planted spans, on the original timeline (clips without spans get no row)."""
    from bsx.scoring.groundtruth import gt_precision_recall

    rows: list[ScoreRow] = []
    if mb.batch.planted is None:
        return rows
    names = [s.name for s in specs]
    for i, c in enumerate(mb.batch.clips):
        spans = [tuple(s) for s in c.meta.get("spans", [])]
        if not spans:
            continue
        t0 = time.perf_counter()
        prec, rec_ = gt_precision_recall([(w.start_s, w.end_s) for w in mb.wins_orig[i]], spans)
        dt = time.perf_counter() - t0
        if "gt-precision" in names:
            rows.append(ScoreRow(i, "gt-precision", prec, "", "planted", dt))
        if "gt-recall" in names:
            rows.append(ScoreRow(i, "gt-recall", rec_, "", "planted", dt))
    return rows


def localise(ctx: Any, mb: Any, specs: Sequence[Any]) -> list[ScoreRow]:
    """The "localisation" compute: the maps against the planted masks (where the corpus has
    them) and against each cue set's expert-cue masks, with the method's sign rule."""
    names = [s.name for s in specs]
    b = mb.batch
    rows: list[ScoreRow] = []
    if b.planted is not None:
        rows += localisation("", mb.maps, b.planted, names, "planted", sign=mb.sign)
    for cname in b.tracks:
        rows += localisation(cname, mb.maps, b.cue_masks(cname), names, "expert-cues",
                             sign=mb.sign)
    return rows

"""Salient windows of each clip's (F, T) map, on the model and the original timelines."""

from __future__ import annotations

from typing import Any

import numpy as np

from bsx.audio import Prepared
from bsx.relevance import by_shape
from bsx.windows import (
    Window,
    WindowOptions,
    file_seconds,
    find_windows_batch,
    padding_share,
    to_original,
)


def salient_windows(maps: list[np.ndarray], prepared: list[Prepared], frame_s: float,
                    opts: WindowOptions) -> tuple[list[list[Window]], list[list[Window]]]:
    """Top-k windows per clip (one batch call per map shape): model timeline, original file."""
    wins: list[list[Window]] = [[] for _ in maps]
    for idx in by_shape(maps):
        for i, w in zip(idx, find_windows_batch(np.stack([maps[i] for i in idx]), frame_s, opts),
                        strict=True):
            wins[i] = w
    return wins, [to_original(w, p) for w, p in zip(wins, prepared, strict=True)]


def window_rows(clip_ids: list[str], method: str, wins: list[list[Window]],
                wins_orig: list[list[Window]],
                pauses: list[list[float]] | None = None) -> list[dict[str, Any]]:
    """windows.csv rows: each window in seconds on both timelines (to 1 ms: no
    17.099999999999998), its share, and the shares of its model-timeline span in padding and
    in pauses (pause_shares; NaN when unknown)."""
    rows = []
    for i, (cid, ws, wos) in enumerate(zip(clip_ids, wins, wins_orig, strict=True)):
        for rank, (w, wo) in enumerate(zip(ws, wos, strict=True)):
            rows.append({"clip_id": cid, "method": method, "rank": rank,
                         "start_s": file_seconds(wo.start_s), "end_s": file_seconds(wo.end_s),
                         "model_start_s": file_seconds(w.start_s),
                         "model_end_s": file_seconds(w.end_s),
                         "share": w.share, "padding_share": padding_share(w, wo),
                         "pause_share": pauses[i][rank] if pauses is not None else np.nan})
    return rows


def pause_share(w: Window, prep: Prepared, speech: np.ndarray, frame_s: float) -> float:
    """Share of a window's model-timeline span that lies in the content but in a pause (a
    non-speech frame of the cue tracks, bsx.cues.speech.speech_frames: 10 ms frames on the
    content timeline). With padding_share, the rest is speech."""
    span = w.end_s - w.start_s
    a = max(0.0, w.start_s - prep.pad_offset_s)
    b = min(prep.content_s, w.end_s - prep.pad_offset_s)
    if span <= 0 or b <= a:
        return 0.0
    lo = max(0, int(np.floor(a / frame_s + 1e-9)))
    hi = min(len(speech), int(np.ceil(b / frame_s - 1e-9)))
    if hi <= lo:
        return 0.0
    return float((~speech[lo:hi]).mean() * (b - a) / span)


def pause_shares(wins: list[list[Window]], prepared: list[Prepared],
                 tracks: list[Any] | None) -> list[list[float]]:
    """pause_share of every window of every clip, from one cue set's tracks per clip (None:
    no cue set, every share NaN)."""
    if tracks is None:
        return [[float("nan")] * len(ws) for ws in wins]
    from bsx.cues.speech import speech_frames

    out = []
    for ws, p, tr in zip(wins, prepared, tracks, strict=True):
        speech = speech_frames(tr)
        out.append([pause_share(w, p, speech, tr.frame_s) for w in ws])
    return out


def window_shares(windows: Any) -> dict[str, dict[str, float]]:
    """Per method: the shares of its salient-window time (model timeline) in the front-end's
    padding, in pauses inside the content, and in speech; n windows and clips. Time-weighted:
    sum of (span x share) over sum of spans. A fair control keeps padding near 0."""
    import pandas as pd

    df = pd.DataFrame(windows)
    if df.empty or "padding_share" not in df:
        return {}
    out: dict[str, dict[str, float]] = {}
    for method, g in df.groupby("method", sort=False):
        span = (g["model_end_s"] - g["model_start_s"]).to_numpy(dtype=float)
        total = float(span.sum())
        pad = float((span * g["padding_share"].to_numpy(dtype=float)).sum() / total) \
            if total > 0 else float("nan")
        ps = g["pause_share"].to_numpy(dtype=float) if "pause_share" in g else \
            np.full(len(g), np.nan)
        pause = float((span * ps).sum() / total) if total > 0 and np.isfinite(ps).all() \
            else float("nan")
        speech = 1.0 - pad - pause if np.isfinite(pause) else float("nan")
        out[str(method)] = {"padding": round(pad, 4), "pauses": round(pause, 4),
                            "speech": round(speech, 4),
                            "n_windows": int(len(g)), "n_clips": int(g["clip_id"].nunique())}
    return out


def content_windows(wins: list[Window], prep: Prepared) -> list[tuple[float, float]]:
    """Windows in seconds on the content (cue-track) timeline, clipped to the real content."""
    pad = prep.pad_offset_s
    spans = [(max(0.0, w.start_s - pad), min(prep.content_s, w.end_s - pad)) for w in wins]
    return [(a, b) for a, b in spans if b > a]

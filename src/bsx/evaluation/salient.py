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
                wins_orig: list[list[Window]]) -> list[dict[str, Any]]:
    """windows.csv rows: each window in seconds on both timelines (to 1 ms: no
    17.099999999999998), its share and padding."""
    rows = []
    for cid, ws, wos in zip(clip_ids, wins, wins_orig, strict=True):
        for rank, (w, wo) in enumerate(zip(ws, wos, strict=True)):
            rows.append({"clip_id": cid, "method": method, "rank": rank,
                         "start_s": file_seconds(wo.start_s), "end_s": file_seconds(wo.end_s),
                         "model_start_s": file_seconds(w.start_s),
                         "model_end_s": file_seconds(w.end_s),
                         "share": w.share, "padding_share": padding_share(w, wo)})
    return rows


def content_windows(wins: list[Window], prep: Prepared) -> list[tuple[float, float]]:
    """Windows in seconds on the content (cue-track) timeline, clipped to the real content."""
    pad = prep.pad_offset_s
    spans = [(max(0.0, w.start_s - pad), min(prep.content_s, w.end_s - pad)) for w in wins]
    return [(a, b) for a, b in spans if b > a]

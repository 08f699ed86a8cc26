"""The one time-relevance form every attribution ends in (docs/model-contract.md).

A clip's relevance is an (F, T) array on its model timeline: F = n_mels for log-mel models,
1 for waveform models; frame f is centred at f * hop_length samples, so a clip of N samples
has T = 1 + N // hop_length frames (librosa's centred frames, the log-mel's own grid).
Windows, cue slicing, masks, localisation and agreement read only this form, so a new input
kind needs no path of its own downstream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bsx.audio import Prepared


def to_grid(relevance: np.ndarray, hop_length: int) -> np.ndarray:
    """(N,) per-sample relevance -> (1, 1 + N // hop) frames, each the SUM of the samples
    nearest its centre (frame f holds [f*hop - hop/2, f*hop + hop/2)), so the total is kept:
    a conservation check on samples still holds on the grid."""
    r = np.asarray(relevance, dtype=np.float64).reshape(-1)
    n_frames = 1 + r.size // hop_length
    frame = (np.arange(r.size) + hop_length // 2) // hop_length
    out = np.bincount(np.minimum(frame, n_frames - 1), weights=r, minlength=n_frames)
    return out[None].astype(np.float32)


def stitch(unit_maps: Sequence[np.ndarray], unit_starts: Sequence[int], hop_length: int,
           n_frames: int) -> np.ndarray:
    """Units' (F, T_u) maps -> one (F, n_frames) map on the clip's timeline.

    Unit u's frame 0 lands at frame unit_starts[u] // hop_length (starts are whole frames);
    where units overlap, a frame is the mean of the units that cover it, so a chunked
    utterance has the same scale as a single unit. One unit starting at 0 is returned as is.
    """
    if len(unit_maps) == 1 and unit_starts[0] == 0 and unit_maps[0].shape[-1] == n_frames:
        return np.asarray(unit_maps[0], dtype=np.float32)
    f = unit_maps[0].shape[0]
    total = np.zeros((f, n_frames), dtype=np.float64)
    count = np.zeros(n_frames, dtype=np.float64)
    for m, s in zip(unit_maps, unit_starts, strict=True):
        if s % hop_length:
            raise ValueError(f"unit start {s} is not a whole number of {hop_length}-sample frames")
        a = s // hop_length
        b = min(a + m.shape[-1], n_frames)
        total[:, a:b] += m[:, : b - a]
        count[a:b] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def by_shape(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Indices of the arrays grouped by shape, in first-seen order: batch functions that
    stack (B, F, T) maps run once per group when clips differ in length."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault(tuple(a.shape), []).append(i)
    return [np.asarray(g) for g in groups.values()]


def on_original(rel: np.ndarray, prepared: Prepared) -> np.ndarray:
    """A clip's (F, T) map on its model timeline -> (F, 1 + N // hop) on the ORIGINAL audio
    (N samples at the front-end's rate), zero where the model saw nothing.

    Frames of padding are dropped; the content's frames move by the trim offset less the
    padding, rounded to whole frames (at most half a frame, hop / 2 samples, off)."""
    fe = prepared.frontend
    sr, hop = fe.sample_rate, fe.hop_length
    n_orig = int(round(prepared.original_duration_s * sr))
    out = np.zeros((rel.shape[0], 1 + n_orig // hop), dtype=np.float32)
    pad = int(round(prepared.pad_offset_s * sr))
    end = pad + int(round(prepared.content_s * sr))
    first, last = -(-pad // hop), min(end // hop + 1, rel.shape[1])  # frames centred in content
    shift = int(round((prepared.trim_offset_s * sr - pad) / hop))
    lo, hi = max(first, -shift), min(last, out.shape[1] - shift)
    if hi > lo:
        out[:, lo + shift:hi + shift] = rel[:, lo:hi]
    return out

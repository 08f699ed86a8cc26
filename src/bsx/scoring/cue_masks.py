"""Expert-cue masks: where in a clip each cue is most extreme in the direction theory expects.

The paper's "explanation score" windows: slide 100 ms windows with a 30 ms hop over the clip,
score each by the cue's mean there, and keep the k = 5 highest (expected up) or lowest
(expected down). Frames follow bsx.cues.speech's policy: voiced frames for voiced cues,
speech frames for level cues (loudness, slope), so the sad-loudness mask (the quietest
100 ms) lands on quiet speech, not on a pause; a window of a voiced cue counts with
MIN_VOICED voiced frames, one of a level cue when at least MIN_WINDOW_SHARE of its frames
are speech. As in the paper the
kept windows may overlap. Windows are found on the cue tracks' (original-file) timeline and
mapped onto the model's spectrogram with `to_model`, so the masks line up
with the attribution maps Quantus localisation compares them with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bsx.cues.base import CueTracks
from bsx.cues.profile import DERIVED, MIN_VOICED
from bsx.cues.speech import MIN_WINDOW_SHARE, frame_kind, frames_for, speech_frames
from bsx.expert import ExpertTable

Window = tuple[float, float]


def _window_scores(tracks: CueTracks, cue: str, starts: np.ndarray, win_s: float,
                   speech: np.ndarray | None = None) -> np.ndarray:
    src = DERIVED.get(cue, cue)
    v = tracks.values[src]
    use = frames_for(tracks, cue, speech=speech)
    voiced = frame_kind(tracks, cue) == "voiced"
    out = np.full(starts.size, np.nan)
    for i, a in enumerate(starts):
        sl = tracks.frames(float(a), float(a) + win_s)
        x = v[sl][use[sl]]
        need = (MIN_VOICED if voiced else
                max(MIN_VOICED, int(np.ceil(MIN_WINDOW_SHARE * (sl.stop - sl.start)))))
        if x.size >= need:
            out[i] = x.std(ddof=1) if cue in DERIVED else x.mean()
    return out


def expert_cue_windows(
    tracks: CueTracks, emotion: str, expert: ExpertTable, *, win_s: float = 0.1,
    hop_s: float = 0.03, k: int = 5, span: Window | None = None,
) -> dict[str, list[Window]]:
    """Per cue with a definite up/down expectation: the top-k windows (seconds on the tracks'
    timeline, inside `span`, default the whole clip), most extreme first."""
    lo, hi = span if span is not None else (0.0, tracks.n_frames * tracks.frame_s)
    count = int(np.floor((hi - lo - win_s) / hop_s + 1e-9)) + 1
    starts = lo + hop_s * np.arange(max(count, 0))
    out: dict[str, list[Window]] = {}
    speech = speech_frames(tracks)
    for ex in expert.expectations(emotion):
        if not ex.definite or ex.expected == 0:
            continue
        if DERIVED.get(ex.cue, ex.cue) not in tracks.values:
            continue
        score = _window_scores(tracks, ex.cue, starts, win_s, speech) * ex.expected
        ok = np.flatnonzero(np.isfinite(score))
        best = ok[np.argsort(-score[ok], kind="stable")][:k]
        out[ex.cue] = [(float(starts[i]), float(starts[i] + win_s)) for i in best]
    return out


def windows_to_mask(
    windows: Sequence[Window], *, to_model: Callable[[np.ndarray], np.ndarray],
    frame_s: float, n_frames: int, n_mels: int = 128,
) -> np.ndarray:
    """(n_mels, n_frames) bool: spectrogram frames whose centre (k * frame_s, librosa's
    centred frames) lies in a window mapped to the model's timeline; all mel bands."""
    mask = np.zeros((n_mels, n_frames), dtype=bool)
    for a, b in windows:
        ma, mb = (float(x) for x in np.asarray(to_model(np.array([a, b], dtype=np.float64))))
        first = max(0, int(np.ceil(ma / frame_s - 1e-9)))
        stop = min(n_frames, int(np.ceil(mb / frame_s - 1e-9)))
        if stop > first:
            mask[:, first:stop] = True
    return mask


@dataclass(frozen=True)
class CueWindowing:
    """How expert_cue_windows slides and keeps windows: `win_s` long every `hop_s`, the top
    `k`, inside `span` (seconds on the tracks' timeline; None: the whole clip)."""

    win_s: float = 0.1
    hop_s: float = 0.03
    k: int = 5
    span: Window | None = None


def expert_cue_masks(
    tracks: CueTracks, emotion: str, expert: ExpertTable, *,
    to_model: Callable[[np.ndarray], np.ndarray], frame_s: float, n_frames: int,
    n_mels: int = 128, windowing: CueWindowing | None = None,
) -> dict[str, np.ndarray]:
    """Per cue: (n_mels, n_frames) bool mask of its top-k expert windows on the spectrogram.
    Cues without a definite up/down expectation get no mask; drop empty masks before Quantus
    localisation (its PointingGame scores an empty mask as a hit)."""
    w = windowing or CueWindowing()
    wins = expert_cue_windows(tracks, emotion, expert, win_s=w.win_s, hop_s=w.hop_s, k=w.k,
                              span=w.span)
    return {
        cue: windows_to_mask(ws, to_model=to_model, frame_s=frame_s, n_frames=n_frames,
                             n_mels=n_mels)
        for cue, ws in wins.items()
    }


def _union(windows: Sequence[Window]) -> list[Window]:
    merged: list[list[float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in windows if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _length(u: Sequence[Window]) -> float:
    return float(sum(b - a for a, b in u))


def overlap_coverage(
    salient_windows: Sequence[Window], cue_windows: Sequence[Window],
) -> tuple[float, float]:
    """(overlap %, coverage %) of the paper's explanation score, read as time measures on the
    unions of the window sets S (salient) and C (cue):
    overlap = |S & C| / |S| * 100 (how much of the salient time the cue windows confirm);
    coverage = |S & C| / |C| * 100 (how much of the cue's extreme time the salient windows
    cover). NaN when the denominator is empty."""
    s, c = _union(salient_windows), _union(cue_windows)
    inter = 0.0
    for a, b in s:
        for x, y in c:
            inter += max(0.0, min(b, y) - max(a, x))
    ls, lc = _length(s), _length(c)
    return (100.0 * inter / ls if ls > 0 else float("nan"),
            100.0 * inter / lc if lc > 0 else float("nan"))

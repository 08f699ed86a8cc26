"""What a cue extractor provides: per-clip cue tracks on a common 10 ms grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

FRAME_S = 0.01  # the common cue grid: 10 ms frames, frame i centred near i * 10 ms


@dataclass
class CueTracks:
    """Per-clip cue tracks. values[name]: (N,) float on the 10 ms grid starting at t=0 of the
    waveform given (NaN where undefined). voiced: (N,) bool; `voiced_only` names cues that
    exist only in voiced frames (F0, jitter, shimmer, HNR), which must be masked before
    averaging. `reasons` explains NaNs (e.g. 'too few periods')."""

    values: dict[str, np.ndarray]
    voiced: np.ndarray
    voiced_only: frozenset[str] = frozenset()
    frame_s: float = FRAME_S
    extractor: str = ""
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.voiced.shape[0])

    def frames(self, start_s: float, end_s: float) -> slice:
        """Frame slice covering [start_s, end_s) on this track's timeline."""
        a = max(0, int(np.floor(start_s / self.frame_s + 1e-9)))
        b = min(self.n_frames, int(np.ceil(end_s / self.frame_s - 1e-9)))
        return slice(a, max(a, b))


class CueExtractor(Protocol):
    """Built by its spec's factory(options=...); reused across clips (build once)."""

    cues: tuple[str, ...]

    def extract(self, waveform: np.ndarray, sample_rate: int) -> CueTracks:
        """One clip's tracks, computed once; windows slice them afterwards."""
        ...

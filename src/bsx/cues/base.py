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


# --- shared helpers for extractors (added with the built-in extractors) ---------------------

PAPER_CUES: tuple[str, ...] = (
    "Loudness", "Pitch_lvl", "Freq_var", "Amp_var", "Breathiness", "Shrillness",
)
"""The paper's six cue names; every extractor uses them for the concepts it measures."""

F0_REF_HZ = 27.5  # semitone reference of eGeMAPS' F0semitoneFrom27.5Hz


def grid_frames(n_samples: int, sample_rate: int, frame_s: float = FRAME_S) -> int:
    """Frames of the common grid for a waveform: frame i is centred at i * frame_s."""
    return 1 + int(np.floor(n_samples / sample_rate / frame_s + 1e-9))


def semitones(f0_hz: np.ndarray) -> np.ndarray:
    """F0 in Hz -> semitones re 27.5 Hz (eGeMAPS' scale); NaN where F0 <= 0 or NaN."""
    f = np.asarray(f0_hz, dtype=np.float64)
    out = np.full(f.shape, np.nan)
    ok = np.isfinite(f) & (f > 0)
    out[ok] = 12.0 * np.log2(f[ok] / F0_REF_HZ)
    return out


def check_waveform(waveform: np.ndarray, sample_rate: int, who: str) -> np.ndarray:
    """A 1-D finite float waveform, or a ValueError naming the extractor."""
    y = np.asarray(waveform, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"{who}: expected a non-empty 1-D waveform, got shape {y.shape}")
    if sample_rate <= 0:
        raise ValueError(f"{who}: sample rate must be positive, got {sample_rate}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{who}: waveform holds NaN or infinite samples")
    return y

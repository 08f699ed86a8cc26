"""Options of the built-in cue extractors, kept light so registering imports no audio library."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EgemapsOptions(BaseModel):
    """openSMILE eGeMAPSv02 low-level descriptors (Eyben et al. 2016)."""

    model_config = ConfigDict(extra="forbid")
    all_llds: bool = False  # True: all 25 LLDs under their openSMILE names, beside the six


class PraatOptions(BaseModel):
    """Praat (parselmouth) analysis settings; the defaults are Praat's voice-report ones."""

    model_config = ConfigDict(extra="forbid")
    pitch_floor: float = 75.0
    pitch_ceiling: float = 600.0
    window_s: float = 0.1  # jitter/shimmer: the sliding window each 10 ms frame is measured in
    period_floor: float = 0.0001
    period_ceiling: float = 0.02
    max_period_factor: float = 1.3
    max_amplitude_factor: float = 1.6


class LibrosaOptions(BaseModel):
    """librosa analysis settings."""

    model_config = ConfigDict(extra="forbid")
    fmin: float = 65.0
    fmax: float = 600.0
    frame_s: float = 0.04  # analysis window (pyin needs >= 2 periods of fmin)

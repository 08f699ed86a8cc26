"""Which frames a cue is measured over: the one speech/voicing policy of every cue, profile and
mask in bsx.

Pauses are not quiet speech. A salient window sits on speech while the rest of a clip and a
neutral clip hold pauses too, so a level cue averaged over all frames makes "louder" agree
trivially for angry and happy and fail for sad, and the sad-loudness mask (the quietest 100 ms)
lands on a pause. Hence two frame sets, one rule each:

- voiced frames, for the cues that exist only where the voice is periodic (F0, jitter,
  shimmer, HNR: the extractor's `voiced_only` cues and cues derived from them);
- speech frames, for every other cue (loudness, spectral slope / shrillness, centroid, ...):
  a frame is speech when it is voiced, or when its loudness (the tracks' own `Loudness`) is
  above a quarter of the way from the clip's floor (its 5% quantile) up to its quiet voiced
  level (the 10% quantile of the voiced frames): an energy VAD anchored on the clip's own
  voicing and silence, so it needs no absolute level and works on sones or dB alike.
  Unvoiced consonants (fricatives sit well above the floor) count; pauses, breaths at the
  noise floor and trailing silence do not. Measured on the synth test clips, the old
  all-frames rule put 67% of the Shrillness expert-cue windows' frames and 33% of the
  Loudness ones on such non-speech frames.

Tracks without a `Loudness` track, or without a voiced frame to anchor on, fall back to every
frame with a value (nothing tells speech from a pause there).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from bsx.cues.base import CueTracks

LOUDNESS = "Loudness"
SPEECH_QUANTILE = 0.10   # the quiet voiced level: 10% quantile of the voiced frames' loudness
FLOOR_QUANTILE = 0.05    # the clip's floor: 5% quantile of every frame's loudness
FLOOR_SHARE = 0.25       # speech: louder than floor + 0.25 x (quiet voiced level - floor)
MIN_FRAMES = 3           # a voiced cue (or a spread) needs 3 voiced frames for a number
MIN_WINDOW_SHARE = 0.5   # an expert-cue window of a level cue needs half its frames speech

FrameKind = Literal["voiced", "speech"]
DERIVED: dict[str, str] = {"Pitch_var": "Pitch_lvl"}  # derived cue -> source cue (its std)


def frame_kind(tracks: CueTracks, cue: str, extra_voiced: frozenset[str] = frozenset()
               ) -> FrameKind:
    """"voiced" for the extractor's voiced-only cues (and cues derived from them, and any
    named in extra_voiced), "speech" for every other cue."""
    src = DERIVED.get(cue, cue)
    voiced = tracks.voiced_only | extra_voiced
    return "voiced" if (cue in voiced or src in voiced) else "speech"


def speech_frames(tracks: CueTracks) -> np.ndarray:
    """(N,) bool: voiced, or at least as loud as the SPEECH_QUANTILE of the voiced frames.

    Every frame when the tracks hold no `Loudness` or no voiced frame with a loudness."""
    n = tracks.n_frames
    voiced = np.asarray(tracks.voiced, dtype=bool)
    loud = tracks.values.get(LOUDNESS)
    if loud is None:
        return np.ones(n, dtype=bool)
    loud = np.asarray(loud, dtype=np.float64)
    anchor = loud[voiced & np.isfinite(loud)]
    if anchor.size == 0:
        return np.ones(n, dtype=bool)
    level = float(np.quantile(anchor, SPEECH_QUANTILE))
    floor = float(np.quantile(loud[np.isfinite(loud)], FLOOR_QUANTILE))
    if floor < level:  # a quarter of the way up from the clip's floor to its quiet voicing
        level = floor + FLOOR_SHARE * (level - floor)
    with np.errstate(invalid="ignore"):
        return voiced | (np.isfinite(loud) & (loud >= level))


def frames_for(tracks: CueTracks, cue: str, *, speech: np.ndarray | None = None,
               extra_voiced: frozenset[str] = frozenset()) -> np.ndarray:
    """(N,) bool: the frames `cue` is measured over (voiced or speech, see the module), with a
    value. Pass a precomputed speech_frames(tracks) as `speech` to reuse it across cues."""
    src = DERIVED.get(cue, cue)
    v = tracks.values[src]
    if frame_kind(tracks, cue, extra_voiced) == "voiced":
        kind = np.asarray(tracks.voiced, dtype=bool)
    else:
        kind = speech_frames(tracks) if speech is None else speech
    return kind & np.isfinite(v)

"""Which frames a cue is measured over: the one speech/voicing policy of every cue, profile and
mask in bsx.

Pauses are not quiet speech. A salient window sits on speech while the rest of a clip and a
neutral clip hold pauses too, so a level cue averaged over all frames makes "louder" agree
trivially for angry and happy and fail for sad, and the sad-loudness mask (the quietest 100 ms)
lands on a pause. Hence two frame sets, one rule each:

- voiced frames, for the cues that exist only where the voice is periodic (F0, jitter,
  shimmer, HNR: the extractor's `voiced_only` cues and cues derived from them);
- speech frames, for every other cue (loudness, spectral slope / shrillness, centroid, ...):
  a frame is speech when it is voiced, or when its loudness (the tracks' own `Loudness`) is at
  least the SPEECH_QUANTILE quantile of the clip's voiced frames' loudness, i.e. as loud as
  the quieter voiced speech of the same clip (an energy VAD anchored on the voicing, so it is
  the same for any monotonic loudness scale: sones, dB intensity, dB RMS). Unvoiced
  consonants as loud as speech count; pauses, breaths at the noise floor and trailing
  silence do not.

Tracks without a `Loudness` track, or without a voiced frame to anchor on, fall back to every
frame with a value (nothing tells speech from a pause there).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from bsx.cues.base import CueTracks

LOUDNESS = "Loudness"
SPEECH_QUANTILE = 0.10   # speech: at least as loud as the quietest tenth of the voiced frames
MIN_FRAMES = 3           # a voiced cue (or a spread) needs 3 voiced frames for a number
MIN_WINDOW_SHARE = 0.5   # an expert-cue window needs half its frames of its kind

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

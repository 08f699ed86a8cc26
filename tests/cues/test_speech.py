"""The speech/voicing policy: pauses never count as quiet speech, in profiles and in masks."""

from __future__ import annotations

import numpy as np
import pytest

from bsx.cues.base import CueTracks
from bsx.cues.profile import cue_profile
from bsx.cues.speech import frame_kind, speech_frames
from bsx.expert import load_expert
from bsx.scoring.agreement import agreement
from bsx.scoring.cue_masks import expert_cue_windows


def _tracks(loud: np.ndarray, voiced: np.ndarray) -> CueTracks:
    pitch = np.where(voiced, 40.0, np.nan)
    return CueTracks(values={"Loudness": loud, "Pitch_lvl": pitch}, voiced=voiced,
                     voiced_only=frozenset({"Pitch_lvl"}), extractor="hand")


def test_speech_frames_voiced_or_well_above_the_floor() -> None:
    loud = np.array([1.0, 1.0, 8.0, 9.0, 10.0, 7.5, 1.2, 9.0, 8.0, 1.0])
    voiced = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 0], bool)  # frame 5: a fricative
    t = _tracks(loud, voiced)
    # floor (5% quantile) 1.0, quiet voiced level (10% quantile of 8, 8, 9, 9, 10) 8.0:
    # speech above 1 + 0.25 * 7 = 2.75: the fricative is speech, 1.2 (a breath) is not
    assert speech_frames(t).tolist() == [False, False, True, True, True, True, False, True,
                                         True, False]
    # in dB the same frames (floor 0 dB, quiet voicing 18.1 dB: above 4.5 dB)
    db = _tracks(20 * np.log10(t.values["Loudness"]), voiced)
    assert speech_frames(db).tolist() == speech_frames(t).tolist()
    t.values["Loudness"][5] = 2.5  # barely above the floor: a pause
    assert not speech_frames(t)[5]
    assert frame_kind(t, "Pitch_lvl") == "voiced" and frame_kind(t, "Pitch_var") == "voiced"
    assert frame_kind(t, "Loudness") == "speech"
    no_voice = _tracks(loud, np.zeros(10, bool))
    assert speech_frames(no_voice).all()  # nothing to anchor on: every frame


def _clip_with_pause(pause_at: int) -> CueTracks:
    """1 s: speech alternating 9/11 dB-ish (mean 10), the planted span (frames 40-55) at 11,
    a pause of 8 frames at loudness 1 (unvoiced) starting at frame `pause_at`."""
    loud = np.where(np.arange(100) % 2 == 0, 9.0, 11.0)
    loud[40:56] = 11.0
    voiced = np.ones(100, bool)
    loud[pause_at:pause_at + 8] = 1.0
    voiced[pause_at:pause_at + 8] = False
    return _tracks(loud, voiced)


@pytest.mark.parametrize("pause_at", [56, 80, 10])
def test_agreement_does_not_move_with_the_pause(pause_at: int) -> None:
    """The salient windows (0.36-0.64 s) hold the planted span, LOUDER than the rest: for sad
    ("quieter") loudness disagrees. Counting the pause as quiet speech made it agree when the
    pause sat beside the span inside the window (salient mean (40 + 176 + 8) / 28 = 8.0)."""
    t = _clip_with_pause(pause_at)
    p = cue_profile(t, [(0.36, 0.64)])
    sal = p.get("Loudness", "salient")
    if pause_at == 56:  # inside the window: frames 36-55 remain, (9+11)*2 + 16*11 = 216 / 20
        assert (sal.mean, sal.n) == (pytest.approx(10.8), 20)
    else:               # frames 36-63: (216 + 4 * 20) / 28
        assert (sal.mean, sal.n) == (pytest.approx(296 / 28), 28)
    assert p.get("Loudness", "rest").mean == pytest.approx(10.0)
    row = next(r for r in agreement(p, "sad", load_expert()) if r.cue == "Loudness")
    assert row.expected == -1 and row.effect_vs_rest > 0 and row.agrees_vs_rest is False


def test_sad_loudness_mask_lands_on_quiet_speech_not_on_the_pause() -> None:
    loud = np.where(np.arange(100) % 2 == 0, 9.0, 11.0)
    voiced = np.ones(100, bool)
    loud[40:56] = 6.0                 # quiet speech (voiced)
    loud[70:86] = 0.5                 # a 160 ms pause
    voiced[70:86] = False
    wins = expert_cue_windows(_tracks(loud, voiced), "sad", load_expert(), k=3)["Loudness"]
    assert len(wins) == 3
    for a, b in wins:  # on the grid of 30 ms hops: 0.42, 0.45 and 0.39 or 0.48
        assert 0.40 <= (a + b) / 2 <= 0.56  # centred in the quiet speech, not at 0.70-0.86
    voiced[:] = True  # the same pause read as voiced speech: then it is the quietest
    wins = expert_cue_windows(_tracks(loud, voiced), "sad", load_expert(), k=1)["Loudness"]
    assert 0.70 <= wins[0][0] and wins[0][1] <= 0.86


def test_a_pause_in_real_egemaps_tracks_is_not_speech() -> None:
    """openSMILE on a 150 Hz harmonic 'vowel' with 300 ms of silence in the middle: the
    silence is no speech frame, the vowel is."""
    from bsx.plugins import build

    sr = 16000
    t = np.arange(int(1.2 * sr)) / sr
    y = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 8)) * 0.2
    y[int(0.45 * sr):int(0.75 * sr)] = 0.0
    y = y + 1e-4 * np.random.default_rng(0).standard_normal(y.size)
    tracks = build("cue", "egemaps").extract(y.astype(np.float32), sr)
    speech = speech_frames(tracks)
    assert not speech[50:70].any()            # 0.50-0.70 s: inside the silence
    assert speech[10:40].mean() > 0.9 and speech[85:110].mean() > 0.9

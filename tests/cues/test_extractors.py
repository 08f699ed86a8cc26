"""Extractors against planted truth: a set F0, a louder span, a jitter/shimmer/noise span."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.cues.base import grid_frames
from bsx.cues.profile import cue_profile
from bsx.errors import BadOptions
from bsx.plugins import build, lookup

SR = 16000

NAMES = ("egemaps", "praat", "librosa")
SPAN = (0.6, 1.2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("f0", [120.0, 220.0])
def test_set_f0_within_a_semitone(extractors, make_vowel, name: str, f0: float) -> None:
    tracks = extractors[name].extract(make_vowel(f0), SR)
    truth = 12 * math.log2(f0 / 27.5)
    pitch = tracks.values["Pitch_lvl"][tracks.voiced]
    assert tracks.voiced.mean() > 0.8
    assert abs(np.nanmedian(pitch) - truth) < 1.0
    assert abs(cue_profile(tracks, []).get("Pitch_lvl", "whole").mean - truth) < 1.0


@pytest.mark.parametrize("name", NAMES)
def test_grid_and_voiced_mask(extractors, make_vowel, name: str) -> None:
    y = make_vowel(150.0, dur=1.0)
    y[: int(0.4 * SR)] = 0.0  # 400 ms of silence first: unvoiced, F0 undefined
    tracks = extractors[name].extract(y, SR)
    assert tracks.n_frames == grid_frames(y.size, SR) == 101
    assert all(v.shape == (101,) for v in tracks.values.values())
    assert not tracks.voiced[5:35].any() and tracks.voiced[50:90].all()
    assert "Pitch_lvl" in tracks.voiced_only
    assert np.isnan(tracks.values["Pitch_lvl"][5:35]).all()


@pytest.mark.parametrize("name", NAMES)
def test_louder_span_has_higher_loudness(extractors, make_vowel, name: str) -> None:
    tracks = extractors[name].extract(make_vowel(150.0, span=SPAN, gain=3.0), SR)
    p = cue_profile(tracks, [SPAN])
    assert p.get("Loudness", "salient").mean > p.get("Loudness", "rest").mean
    outside = cue_profile(tracks, [(0.1, 0.5)])  # a window outside the span: no louder
    assert outside.get("Loudness", "salient").mean < outside.get("Loudness", "rest").mean


@pytest.mark.parametrize("name", ["egemaps", "praat"])
def test_planted_irregularity_raises_jitter_shimmer_lowers_hnr(
    extractors, make_vowel, name: str
) -> None:
    y = make_vowel(150.0, span=SPAN, jitter=0.04, shimmer=0.4, noise=0.3)
    p = cue_profile(extractors[name].extract(y, SR), [SPAN])
    s, r = (lambda c: p.get(c, "salient").mean), (lambda c: p.get(c, "rest").mean)
    assert s("Freq_var") > 2 * r("Freq_var")
    assert s("Amp_var") > 2 * r("Amp_var")
    assert s("Breathiness") < r("Breathiness") - 3.0  # HNR dB


def test_praat_profile_windows_exact_and_too_few_periods(extractors, make_vowel) -> None:
    y = make_vowel(150.0, span=SPAN, jitter=0.04)
    out = extractors["praat"].profile_windows(y, SR, [(0.1, 0.4), (0.7, 1.0), (0.5, 0.505)])
    steady, jittered, tiny = out.values()
    assert abs(steady["F0_Hz"] - 150.0) < 2.0 and "reason" not in steady
    assert jittered["Freq_var"] > 2 * steady["Freq_var"]
    assert math.isnan(tiny["Freq_var"]) and "too few periods" in tiny["reason"]


def test_registered_with_options(make_vowel) -> None:
    assert {s for s in NAMES} <= {lookup("cue", n).name for n in NAMES}
    with pytest.raises(BadOptions, match="all_llds"):
        build("cue", "egemaps", options={"all_lld": True})
    full = build("cue", "egemaps", options={"all_llds": True})
    tracks = full.extract(make_vowel(150.0, dur=0.5), SR)
    assert len(tracks.values) == 6 + 25 and "F1frequency_sma3nz" in tracks.voiced_only
    assert np.allclose(tracks.values["Loudness"], tracks.values["Loudness_sma3"], equal_nan=True)


def test_bad_waveform_is_rejected(extractors) -> None:
    with pytest.raises(ValueError, match="praat: .*NaN"):
        extractors["praat"].extract(np.array([0.0, np.nan, 0.1], dtype=np.float32), SR)


def test_praat_too_short_clip_is_nan_with_reason(extractors) -> None:
    y = (0.1 * np.sin(np.arange(800) / SR * 2 * np.pi * 150)).astype(np.float32)
    tracks = extractors["praat"].extract(y, SR)
    assert tracks.n_frames == 6 and np.isnan(tracks.values["Pitch_lvl"]).all()
    assert "shorter than Praat's analysis window" in tracks.reasons["Loudness"]


@pytest.mark.parametrize("name", ["egemaps", "librosa"])
def test_flatter_spectrum_raises_shrillness(extractors, make_vowel, name: str) -> None:
    p = cue_profile(extractors[name].extract(make_vowel(150.0, span=SPAN, tilt=0.6), SR), [SPAN])
    assert p.get("Shrillness", "salient").mean > p.get("Shrillness", "rest").mean

"""The cue planters against Praat on a signal of known pulses (an independent truth)."""

from __future__ import annotations

import numpy as np
import parselmouth
import pytest
from parselmouth.praat import call
from scipy.signal import lfilter

from bsx.synth import voice_quality as vq

SR = 16000


def _vowel(f0: float = 125.0, seconds: float = 0.6) -> np.ndarray:
    """An impulse train at f0 (125 Hz: 128 samples, no rounding jitter) through two formant
    resonators (500, 1500 Hz)."""
    x = np.zeros(int(seconds * SR))
    x[(np.arange(0.02, seconds - 0.02, 1 / f0) * SR).astype(int)] = 1.0
    for fc in (500.0, 1500.0):
        r = 0.97
        x = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * fc / SR), r * r], x)
    return x / np.abs(x).max() * 0.5


def _praat(y: np.ndarray) -> dict[str, float]:
    snd = parselmouth.Sound(y, SR)
    f = snd.to_pitch_cc(0.01, 60, 600).selected_array["frequency"]
    pp = call(snd, "To PointProcess (periodic, cc)", 60, 600)
    return {
        "f0": float(np.median(f[f > 0])),
        "jitter": call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3),
        "shimmer": call([snd, pp], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6),
        "hnr": call(snd.to_harmonicity_cc(0.01, 60, 0.1, 1.0), "Get mean", 0, 0),
    }


@pytest.fixture(scope="module")
def vowel() -> tuple[np.ndarray, vq.Pulses]:
    y = _vowel()
    return y, vq.find_pulses(y, SR)


def test_find_pulses_sees_the_impulse_train(vowel):
    _, pulses = vowel
    assert len(pulses.runs) == 1
    assert np.median(np.diff(pulses.runs[0])) == pytest.approx(1 / 125.0, rel=0.01)


@pytest.mark.parametrize("semitones", [-4.0, 3.0, 8.0])
def test_psola_shifts_f0_by_the_planted_semitones(vowel, semitones):
    y, pulses = vowel
    out = vq.psola(y, SR, pulses, semitones=semitones)
    measured = 12 * np.log2(_praat(out)["f0"] / _praat(y)["f0"])
    assert measured == pytest.approx(semitones, abs=0.3)
    assert len(out) == len(y)  # duration unchanged


def test_psola_plants_jitter_and_shimmer_of_the_intended_size(vowel):
    y, pulses = vowel
    base = _praat(vq.psola(y, SR, pulses))
    assert base["jitter"] < 0.002 and base["shimmer"] < 0.01
    jit = _praat(vq.psola(y, SR, pulses, jitter=0.03, rng=np.random.default_rng(1)))
    shim = _praat(vq.psola(y, SR, pulses, shimmer=0.08, rng=np.random.default_rng(1)))
    assert jit["jitter"] == pytest.approx(0.03, rel=0.35)
    assert shim["shimmer"] == pytest.approx(0.08, rel=0.35)
    assert jit["shimmer"] < 0.03 and shim["jitter"] < 0.005  # each cue alone


def test_tilt_changes_the_slope_by_the_planted_db_per_octave(vowel):
    y, _ = vowel
    out = vq.tilt(y, SR, 4.0)
    f = np.fft.rfftfreq(len(y), 1 / SR)
    gain_db = 10 * np.log10(np.abs(np.fft.rfft(out)) ** 2 / np.abs(np.fft.rfft(y)) ** 2)

    def at(hz: float) -> float:
        return float(np.median(gain_db[np.abs(f - hz) < 50]))

    assert at(1000) == pytest.approx(0.0, abs=0.3)
    assert at(2000) - at(1000) == pytest.approx(4.0, abs=0.3)   # one octave
    assert at(4000) - at(1000) == pytest.approx(8.0, abs=0.3)   # two octaves
    assert at(500) - at(1000) == pytest.approx(-4.0, abs=0.3)
    assert np.array_equal(vq.tilt(y, SR, 0.0), y)


def test_breath_lowers_hnr(vowel):
    y, _ = vowel
    clean = _praat(y)["hnr"]
    noisy = _praat(vq.breath(y, SR, -10.0, np.random.default_rng(0)))["hnr"]
    assert noisy < clean - 5.0
    assert np.array_equal(vq.breath(y, SR, -60.0, np.random.default_rng(0)), y)

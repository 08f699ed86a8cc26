"""Synthetic vowels with known truth: a glottal pulse train through formant resonators."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

SR = 16000
FORMANTS = ((700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0))  # /a/-like


def vowel(
    f0: float = 150.0, dur: float = 1.8, *, span: tuple[float, float] | None = None,
    jitter: float = 0.0, shimmer: float = 0.0, noise: float = 0.0, gain: float = 1.0,
    tilt: float | None = None, seed: int = 0,
) -> np.ndarray:
    """A vowel at `f0` Hz; inside `span` (seconds) periods jitter by +-`jitter` (relative),
    pulse amplitudes by +-`shimmer`, white noise at `noise` x the signal RMS is added and the
    level is multiplied by `gain`; `tilt` (a glottal roll-off pole below the usual 0.97) gives
    the span a flatter spectrum at the same RMS."""
    rng = np.random.default_rng(seed)
    n = int(dur * SR)
    src = np.zeros(n)
    t = 0.01
    lo, hi = span if span is not None else (-1.0, -1.0)
    while t < dur - 0.01:
        inside = lo <= t < hi
        amp = 1.0 + (shimmer * rng.choice([-1.0, 1.0]) if inside else 0.0)
        pos = t * SR  # split the pulse between two samples: no integer-period artefacts
        i, frac = int(pos), pos - int(pos)
        src[i] += amp * (1.0 - frac)
        src[i + 1] += amp * frac
        period = 1.0 / f0
        if inside and jitter:
            period *= 1.0 + jitter * rng.choice([-1.0, 1.0])
        t += period
    y = _voice(src, 0.97)  # glottal roll-off
    if tilt is not None:
        a, b = int(lo * SR), int(hi * SR)
        flat = _voice(src, tilt)
        y[a:b] = flat[a:b] * np.sqrt(np.mean(y[a:b] ** 2) / np.mean(flat[a:b] ** 2))
    y = y / np.max(np.abs(y)) * 0.3
    if span is not None:
        a, b = int(lo * SR), int(hi * SR)
        if noise:
            rms = np.sqrt(np.mean(y[a:b] ** 2))
            y[a:b] += noise * rms * rng.standard_normal(b - a)
        y[a:b] *= gain
    return y.astype(np.float32)


def _voice(src: np.ndarray, pole: float) -> np.ndarray:
    y = lfilter([1.0], [1.0, -pole], src)
    for f, bw in FORMANTS:
        r = np.exp(-np.pi * bw / SR)
        y = lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * f / SR), r * r], y)
    return np.asarray(y)


@pytest.fixture(scope="session")
def make_vowel():  # type: ignore[no-untyped-def]
    """The vowel generator (conftest modules are not importable from tests)."""
    return vowel


@pytest.fixture(scope="session")
def extractors():  # type: ignore[no-untyped-def]
    from bsx.plugins import build

    return {name: build("cue", name) for name in ("egemaps", "praat", "librosa")}

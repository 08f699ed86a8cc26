"""Plant voice-quality and prosody cues into a word by signal processing.

F0 level and range, jitter and shimmer are planted in one TD-PSOLA pass (Moulines &
Charpentier 1990): two-period Hann grains centred on the input's glottal pulses are
overlap-added at new pulse times. We choose every output pulse ourselves, so the planted
period sequence (jitter) and per-period gains (shimmer) are exact by construction; the
input pulses come from Praat's cross-correlation pulse finder (parselmouth). Unvoiced
stretches are copied through with 10 ms pseudo-pulses at unchanged positions.

Breathiness adds aspiration noise that follows the voiced envelope (lowers HNR);
spectral tilt is a zero-phase filter of `tilt_db_oct` dB per octave around 1 kHz (flatter
slope = more high-frequency energy, as in angry or happy speech).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIVOT_HZ = 1000.0
UNVOICED_STEP_S = 0.01
MAX_PERIOD_S = 1 / 60.0


@dataclass(frozen=True)
class Pulses:
    """Glottal pulse times (seconds) grouped into voiced runs."""

    runs: tuple[np.ndarray, ...]


def find_pulses(y: np.ndarray, sr: int, f0_min: float = 60.0, f0_max: float = 500.0) -> Pulses:
    """Praat's "To PointProcess (periodic, cc)", split into runs at gaps > 1.25 max period."""
    import parselmouth
    from parselmouth.praat import call

    snd = parselmouth.Sound(y.astype(np.float64), sampling_frequency=sr)
    pp = call(snd, "To PointProcess (periodic, cc)", f0_min, f0_max)
    n = int(call(pp, "Get number of points"))
    t = np.array([call(pp, "Get time from index", i + 1) for i in range(n)], dtype=np.float64)
    if t.size < 3:
        return Pulses(runs=())
    cut = np.flatnonzero(np.diff(t) > 1.25 / f0_min) + 1
    runs = tuple(r for r in np.split(t, cut) if r.size >= 3)
    return Pulses(runs=runs)


def _smooth(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average over k points, shrinking at the edges."""
    if x.size < 2:
        return x.copy()
    kern = np.ones(min(k, x.size))
    return np.convolve(x, kern, mode="same") / np.convolve(np.ones_like(x), kern, mode="same")


def _hann(n: int) -> np.ndarray:
    return np.hanning(n + 2)[1:-1] if n > 0 else np.zeros(0)


def psola(
    y: np.ndarray,
    sr: int,
    pulses: Pulses,
    *,
    semitones: float = 0.0,
    f0_range: float = 1.0,
    jitter: float = 0.0,
    shimmer: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Shift F0 by `semitones`, scale its excursions (in semitones around the run-wide median)
    by `f0_range` (its smoothed contour only, so that range does not scale micro-variation),
    and perturb each output period by a factor (1 + e), e ~ N(0, s) with
    s = jitter * sqrt(pi) / 2, and each period's gain likewise for shimmer, so that the
    expected local jitter (mean |T_k - T_k+1| / mean T) of the perturbation alone is `jitter`
    and likewise for shimmer on peak amplitudes (a gain held over each output period).
    Duration is unchanged."""
    rng = rng if rng is not None else np.random.default_rng(0)
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros_like(y)
    marks_in: list[float] = []
    marks_out: list[float] = []
    gains: list[float] = []
    halfs: list[float] = []
    all_pulses = np.concatenate(pulses.runs) if pulses.runs else np.zeros(0)
    f_ref = float(np.exp(np.median(np.log(1.0 / np.diff(all_pulses))))) if all_pulses.size > 1 \
        else 100.0
    s_j = jitter * np.sqrt(np.pi) / 2.0
    s_s = shimmer * np.sqrt(np.pi) / 2.0
    voiced: list[tuple[float, float]] = []
    voiced_marks: list[np.ndarray] = []
    for run in pulses.runs:
        per = np.diff(run)
        t_mid = run[:-1] + per / 2
        f_in = 1.0 / per
        st_in = 12.0 * np.log2(f_in / f_ref)
        smooth = _smooth(st_in, 5)  # the contour; what is left is espeak's micro-variation
        f_out = f_ref * 2.0 ** ((semitones + f0_range * smooth + (st_in - smooth)) / 12.0)
        t = float(run[0])
        end = float(run[-1])
        run_marks: list[float] = []
        while t <= end:
            k_near = int(np.argmin(np.abs(run - t)))
            f = float(np.interp(t, t_mid, f_out))
            marks_in.append(float(run[k_near]))
            marks_out.append(t)
            halfs.append(float(per[min(k_near, len(per) - 1)]))
            gains.append(1.0)
            run_marks.append(t)
            step = (1.0 / f) * (1.0 + s_j * float(rng.standard_normal()) if jitter > 0 else 1.0)
            t += max(step, 0.5 / f)
        voiced.append((float(run[0]), float(run[-1])))
        voiced_marks.append(np.array(run_marks))
    # unvoiced stretches: pseudo-pulses, identity positions
    dur = len(y) / sr
    edges = [0.0] + [v for span in voiced for v in span] + [dur]
    for a, b in zip(edges[0::2], edges[1::2], strict=True):
        lo = a + (UNVOICED_STEP_S if a > 0 else 0.0)
        hi = b - (UNVOICED_STEP_S if b < dur else 0.0)
        for t in np.arange(lo, hi + 1e-9, UNVOICED_STEP_S):
            marks_in.append(float(t))
            marks_out.append(float(t))
            halfs.append(UNVOICED_STEP_S)
            gains.append(1.0)
    for ti, to, h, g in zip(marks_in, marks_out, halfs, gains, strict=True):
        half = max(int(round(h * sr)), 2)
        ci, co = int(round(ti * sr)), int(round(to * sr))
        win = _hann(2 * half + 1)
        src_lo = ci - half
        dst_lo = co - half
        a = max(0, -src_lo, -dst_lo)
        b = min(2 * half + 1, len(y) - src_lo, len(y) - dst_lo)
        if b <= a:
            continue
        out[dst_lo + a: dst_lo + b] += g * win[a:b] * y[src_lo + a: src_lo + b]
    if shimmer > 0:
        out *= _period_gains(len(out), sr, voiced_marks, s_s, rng)
    return out


def _period_gains(
    n: int, sr: int, runs: list[np.ndarray], sd: float, rng: np.random.Generator
) -> np.ndarray:
    """A gain (1 + e_k), e_k ~ N(0, sd), held over each output period (midpoint to midpoint
    around pulse k), with 1 ms ramps between periods; 1 outside voiced runs."""
    g = np.ones(n)
    for marks in runs:
        if marks.size < 2:
            continue
        mids = (marks[:-1] + marks[1:]) / 2
        edges = np.concatenate([[marks[0] - (mids[0] - marks[0])], mids,
                                [marks[-1] + (marks[-1] - mids[-1])]])
        idx = np.clip(np.round(edges * sr).astype(int), 0, n)
        for k in range(marks.size):
            g[idx[k]: idx[k + 1]] = max(1.0 + sd * float(rng.standard_normal()), 0.05)
    k = max(int(0.001 * sr), 1)
    return np.convolve(g, np.ones(k) / k, mode="same")


def tilt(y: np.ndarray, sr: int, db_per_octave: float) -> np.ndarray:
    """Zero-phase spectral tilt: gain db_per_octave * log2(f / 1 kHz), flat below 250 Hz."""
    if db_per_octave == 0.0:
        return np.asarray(y, dtype=np.float64).copy()
    n = len(y)
    nfft = 1 << int(np.ceil(np.log2(n + 1024)))
    spec = np.fft.rfft(np.asarray(y, dtype=np.float64), nfft)
    f = np.fft.rfftfreq(nfft, 1.0 / sr)
    gain_db = db_per_octave * np.log2(np.maximum(f, 250.0) / PIVOT_HZ)
    return np.fft.irfft(spec * 10 ** (gain_db / 20.0), nfft)[:n]


def envelope(y: np.ndarray, sr: int, smooth_s: float = 0.01) -> np.ndarray:
    """RMS envelope, smoothed over smooth_s."""
    k = max(int(smooth_s * sr), 1)
    kern = np.ones(k) / k
    return np.sqrt(np.convolve(np.asarray(y, dtype=np.float64) ** 2, kern, mode="same"))


def breath(y: np.ndarray, sr: int, noise_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add aspiration noise (white, 400 Hz high-passed) following the word's envelope, at
    noise_db relative to the word's RMS (None-like values <= -60 add nothing)."""
    y = np.asarray(y, dtype=np.float64)
    if noise_db <= -60.0:
        return y.copy()
    noise = rng.standard_normal(len(y))
    spec = np.fft.rfft(noise)
    f = np.fft.rfftfreq(len(noise), 1.0 / sr)
    spec[f < 400.0] = 0.0
    noise = np.fft.irfft(spec, len(noise)) * envelope(y, sr)
    scale = np.sqrt(np.mean(y**2) / max(np.mean(noise**2), 1e-20)) * 10 ** (noise_db / 20.0)
    return y + scale * noise

"""Praat cue tracks through parselmouth (Boersma & Weenink, Praat; Jadoul et al. 2018).

Computed the way Praat users do: one Pitch, Intensity, Harmonicity (cc) and PointProcess (cc)
object per clip; jitter (local) and shimmer (local, dB) are Praat queries over a time range of
that point process. Tracks hold, for each 10 ms frame, the query over a sliding window of
`window_s` centred on the frame; `profile_windows` answers the same queries over arbitrary
windows (e.g. salient ones) exactly. Where a range holds too few periods Praat answers
undefined, kept as NaN with a reason. Praat is not thread-safe: parallelise across processes.
"""

from __future__ import annotations

import math

import numpy as np

from bsx.cues.base import CueTracks, check_waveform, grid_frames, semitones
from bsx.cues.options import PraatOptions

TOO_FEW_PERIODS = "too few periods in the window (Praat answers undefined)"


class Praat:
    """Praat F0, intensity, jitter, shimmer and HNR; build once, extract per clip."""

    cues: tuple[str, ...] = (
        "Loudness", "Pitch_lvl", "F0_Hz", "Freq_var", "Amp_var", "Breathiness",
    )

    def __init__(self, options: PraatOptions | None = None) -> None:
        self.options = options or PraatOptions()

    def _analyse(self, y: np.ndarray, sr: int):  # type: ignore[no-untyped-def]
        import parselmouth
        from parselmouth.praat import call

        o = self.options
        snd = parselmouth.Sound(y.astype(np.float64), sampling_frequency=float(sr))
        pitch = snd.to_pitch(time_step=0.01, pitch_floor=o.pitch_floor,
                             pitch_ceiling=o.pitch_ceiling)
        points = call([snd, pitch], "To PointProcess (cc)")
        return snd, pitch, points

    def _jitter(self, points, a: float, b: float) -> float:  # type: ignore[no-untyped-def]
        from parselmouth.praat import call

        o = self.options
        return float(call(points, "Get jitter (local)", a, b, o.period_floor,
                          o.period_ceiling, o.max_period_factor))

    def _shimmer(self, snd, points, a: float, b: float) -> float:  # type: ignore[no-untyped-def]
        from parselmouth.praat import call

        o = self.options
        return float(call([snd, points], "Get shimmer (local_dB)", a, b, o.period_floor,
                          o.period_ceiling, o.max_period_factor, o.max_amplitude_factor))

    def extract(self, waveform: np.ndarray, sample_rate: int) -> CueTracks:
        """One analysis per clip -> tracks on the 10 ms grid (frame i centred at i*10 ms)."""
        y = check_waveform(waveform, sample_rate, "praat")
        n = grid_frames(y.size, sample_rate)
        times = np.arange(n) * 0.01
        o = self.options
        if y.size / sample_rate < 6.4 / o.pitch_floor:  # Praat's shortest intensity analysis
            why = f"clip shorter than Praat's analysis window ({6.4 / o.pitch_floor:.3f} s)"
            return CueTracks(
                values={c: np.full(n, np.nan) for c in self.cues}, voiced=np.zeros(n, bool),
                voiced_only=frozenset(self.cues) - {"Loudness"}, extractor="praat",
                reasons=dict.fromkeys(self.cues, why),
            )
        snd, pitch, points = self._analyse(y, sample_rate)

        f0 = _sample(pitch.xs(), pitch.selected_array["frequency"], times, zero_is_nan=True)
        voiced = np.isfinite(f0)
        intensity = snd.to_intensity(minimum_pitch=o.pitch_floor, time_step=0.01)
        loud = _sample(intensity.xs(), intensity.values[0], times)
        harm = snd.to_harmonicity_cc(time_step=0.01, minimum_pitch=o.pitch_floor)
        hnr = _sample(harm.xs(), harm.values[0], times)
        hnr[hnr <= -199.0] = np.nan  # Praat's code for "no periodicity"
        hnr[~voiced] = np.nan

        jit = np.full(n, np.nan)
        shim = np.full(n, np.nan)
        half = o.window_s / 2
        for i in np.flatnonzero(voiced):  # queries only where a frame is voiced
            a, b = max(0.0, times[i] - half), times[i] + half
            jit[i] = self._jitter(points, a, b)
            shim[i] = self._shimmer(snd, points, a, b)
        return CueTracks(
            values={"Loudness": loud, "Pitch_lvl": semitones(f0), "F0_Hz": f0,
                    "Freq_var": jit, "Amp_var": shim, "Breathiness": hnr},
            voiced=voiced,
            voiced_only=frozenset({"Pitch_lvl", "F0_Hz", "Freq_var", "Amp_var", "Breathiness"}),
            extractor="praat",
            reasons={"Freq_var": TOO_FEW_PERIODS, "Amp_var": TOO_FEW_PERIODS,
                     "Pitch_lvl": "unvoiced frames are NaN", "F0_Hz": "unvoiced frames are NaN",
                     "Breathiness": "unvoiced frames are NaN"},
        )

    def profile_windows(
        self, waveform: np.ndarray, sample_rate: int, windows: list[tuple[float, float]]
    ) -> dict[str, dict[str, float | str]]:
        """Praat's own per-window answers: jitter, shimmer (over the window's periods), mean F0
        and mean HNR, one analysis per clip. {"start-end": {cue: value, "reason": ...}}."""
        from parselmouth.praat import call

        y = check_waveform(waveform, sample_rate, "praat")
        snd, pitch, points = self._analyse(y, sample_rate)
        harm = snd.to_harmonicity_cc(time_step=0.01, minimum_pitch=self.options.pitch_floor)
        out: dict[str, dict[str, float | str]] = {}
        for a, b in windows:
            f0 = float(call(pitch, "Get mean", a, b, "Hertz"))
            row: dict[str, float | str] = {
                "F0_Hz": f0,
                "Pitch_lvl": float(semitones(np.array([f0]))[0]),
                "Freq_var": self._jitter(points, a, b),
                "Amp_var": self._shimmer(snd, points, a, b),
                "Breathiness": float(call(harm, "Get mean", a, b)),
            }
            if any(isinstance(v, float) and math.isnan(v) for v in row.values()):
                row["reason"] = TOO_FEW_PERIODS
            out[f"{a:.3f}-{b:.3f}"] = row
        return out


def _sample(xs: np.ndarray, v: np.ndarray, times: np.ndarray, *, zero_is_nan: bool = False
            ) -> np.ndarray:
    """Praat frames (centre times xs) -> grid times: nearest frame, NaN beyond half a frame."""
    xs = np.asarray(xs, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64).copy()
    if zero_is_nan:
        v[v <= 0] = np.nan
    out = np.full(times.shape, np.nan)
    if xs.size == 0:
        return out
    step = xs[1] - xs[0] if xs.size > 1 else 0.01
    k = np.rint((times - xs[0]) / step).astype(np.int64)
    ok = (k >= 0) & (k < xs.size)
    out[ok] = v[k[ok]]
    return out

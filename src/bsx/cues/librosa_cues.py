"""librosa cue tracks: RMS loudness, pYIN F0 (Mauch & Dixon 2014), spectral centroid, spectral
slope, the eGeMAPS-style 500-1500 Hz slope ("Shrillness") and zero-crossing rate.

All frames are centred (librosa's center=True) with a 10 ms hop, so frame i sits at i * 10 ms,
the common grid. One STFT serves every spectral cue.
"""

from __future__ import annotations

import numpy as np

from bsx.cues.base import FRAME_S, CueTracks, check_waveform, grid_frames, semitones
from bsx.cues.options import LibrosaOptions


class LibrosaCues:
    """librosa tracks; build once, extract per clip."""

    cues: tuple[str, ...] = (
        "Loudness", "Pitch_lvl", "F0_Hz", "Shrillness", "Spectral_centroid", "Spectral_slope",
        "ZCR",
    )

    def __init__(self, options: LibrosaOptions | None = None) -> None:
        self.options = options or LibrosaOptions()

    def extract(self, waveform: np.ndarray, sample_rate: int) -> CueTracks:
        import librosa

        y = check_waveform(waveform, sample_rate, "librosa")
        sr = sample_rate
        n = grid_frames(y.size, sr)
        hop = max(1, int(round(sr * FRAME_S)))
        n_fft = int(2 ** np.ceil(np.log2(self.options.frame_s * sr)))
        win = min(n_fft, int(round(self.options.frame_s * sr)))

        def fit(v: np.ndarray) -> np.ndarray:
            out = np.full(n, np.nan)
            m = min(n, v.shape[-1])
            out[:m] = v[:m]
            return out

        rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)[0]
        loud = 20.0 * np.log10(np.maximum(rms, 1e-10))
        # pyin's frame must hold two periods of fmin
        pyin_len = int(2 ** np.ceil(np.log2(2.2 * sr / self.options.fmin)))
        f0, voiced_flag, _ = librosa.pyin(
            y, fmin=self.options.fmin, fmax=self.options.fmax, sr=sr,
            frame_length=pyin_len, hop_length=hop,
        )
        f0 = fit(np.where(voiced_flag, f0, np.nan))
        voiced = np.isfinite(f0)
        spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win)) ** 2
        freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
        centroid = librosa.feature.spectral_centroid(S=np.sqrt(spec), sr=sr, n_fft=n_fft)[0]
        db = 10.0 * np.log10(np.maximum(spec, 1e-12))
        zcr = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)[0]
        return CueTracks(
            values={
                "Loudness": fit(loud), "Pitch_lvl": semitones(f0), "F0_Hz": f0,
                "Shrillness": fit(_slope(db, freqs, 500.0, 1500.0)),
                "Spectral_centroid": fit(centroid),
                "Spectral_slope": fit(_slope(db, freqs, 0.0, min(sr / 2, 8000.0))),
                "ZCR": fit(zcr),
            },
            voiced=voiced, voiced_only=frozenset({"Pitch_lvl", "F0_Hz"}),
            extractor="librosa", reasons={"Pitch_lvl": "unvoiced frames are NaN"},
        )


def _slope(db: np.ndarray, freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Least-squares slope (dB per Hz) of each frame's power spectrum between lo and hi Hz."""
    sel = (freqs >= lo) & (freqs <= hi)
    x = freqs[sel] - freqs[sel].mean()
    return (x @ db[sel]) / float(x @ x)

"""openSMILE eGeMAPSv02 low-level descriptors as cue tracks (Eyben et al. 2016, GeMAPS).

One openSMILE pass per clip gives 10 ms frames; windows slice the tracks afterwards (the
paper's scripts re-ran openSMILE per window). Frames are re-aligned to the common grid by
their centres: openSMILE's frame k starts at k * 10 ms and spans 20 ms for energy/spectral
LLDs and 60 ms for the F0-based ("_nz") ones, so its centre lies 1 or 3 grid frames later.
"_nz" LLDs are 0 where openSMILE found no voicing; we mask them with the voicing decision
(F0 > 0), not with their own zeros, because a perfectly steady voiced frame has shimmer 0.
"""

from __future__ import annotations

import numpy as np

from bsx.cues.base import CueTracks, check_waveform, grid_frames
from bsx.cues.options import EgemapsOptions

# the paper's cue names -> eGeMAPSv02 LLD columns
PAPER_COLUMNS: dict[str, str] = {
    "Loudness": "Loudness_sma3",
    "Pitch_lvl": "F0semitoneFrom27.5Hz_sma3nz",
    "Freq_var": "jitterLocal_sma3nz",
    "Amp_var": "shimmerLocaldB_sma3nz",
    "Breathiness": "HNRdBACF_sma3nz",
    "Shrillness": "slope500-1500_sma3",
}
F0_COLUMN = "F0semitoneFrom27.5Hz_sma3nz"
SHIFT_FRAMES = {"short": 1, "nz": 3}  # openSMILE frame centre - frame start, in 10 ms frames


class Egemaps:
    """eGeMAPSv02 LLD tracks; build once, call extract per clip (the Smile object is reused)."""

    def __init__(self, options: EgemapsOptions | None = None) -> None:
        import opensmile

        self.options = options or EgemapsOptions()
        self._smile = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02,
            feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
        )
        names = list(PAPER_COLUMNS)
        if self.options.all_llds:
            names += list(self._smile.feature_names)
        self.cues: tuple[str, ...] = tuple(names)

    def extract(self, waveform: np.ndarray, sample_rate: int) -> CueTracks:
        """One openSMILE pass over the clip -> tracks on the 10 ms grid from t=0."""
        y = check_waveform(waveform, sample_rate, "egemaps")
        n = grid_frames(y.size, sample_rate)
        df = self._smile.process_signal(y, sample_rate)
        starts = df.index.get_level_values("start").total_seconds().to_numpy()
        k = np.rint(starts / 0.01).astype(np.int64)

        def on_grid(col: str) -> np.ndarray:
            out = np.full(n, np.nan)
            j = k + SHIFT_FRAMES["nz" if col.endswith("nz") else "short"]
            ok = (j >= 0) & (j < n)
            out[j[ok]] = df[col].to_numpy(dtype=np.float64)[ok]
            return out

        f0 = on_grid(F0_COLUMN)
        voiced = np.isfinite(f0) & (f0 > 0)
        values: dict[str, np.ndarray] = {}
        voiced_only: set[str] = set()
        columns = dict(PAPER_COLUMNS)
        if self.options.all_llds:
            columns.update({c: c for c in self._smile.feature_names})
        for name, col in columns.items():
            v = on_grid(col)
            if col.endswith("nz"):
                v[~voiced] = np.nan
                voiced_only.add(name)
            values[name] = v
        reasons = {c: "unvoiced frames are NaN" for c in voiced_only}
        return CueTracks(
            values=values, voiced=voiced, voiced_only=frozenset(voiced_only),
            extractor="egemaps", reasons=reasons,
        )

"""Zero-crossing rate on bsx's common 10 ms grid, as a worked cue-extractor example."""

from __future__ import annotations

import numpy as np

from bsx.cues.base import FRAME_S, CueTracks


class ZeroCrossingRate:
    """Share of sign changes per frame (frame_ms long, 10 ms hop), centred on each 10 ms step."""

    cues = ("ZCR",)

    def __init__(self, options=None) -> None:  # type: ignore[no-untyped-def]
        self.frame_ms = getattr(options, "frame_ms", 25.0)

    def extract(self, waveform: np.ndarray, sample_rate: int) -> CueTracks:
        hop = int(round(FRAME_S * sample_rate))
        frame = max(2, int(round(self.frame_ms / 1000 * sample_rate)))
        n = max(1, int(np.ceil(len(waveform) / hop)))
        crossings = np.abs(np.diff(np.signbit(waveform).astype(np.int8))).astype(np.float64)
        csum = np.concatenate([[0.0], np.cumsum(crossings)])
        centres = np.arange(n) * hop + hop // 2
        lo = np.clip(centres - frame // 2, 0, len(crossings))
        hi = np.clip(centres + frame // 2, 0, len(crossings))
        zcr = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
        return CueTracks(values={"ZCR": zcr}, voiced=np.ones(n, dtype=bool), extractor="zcr")

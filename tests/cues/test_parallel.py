"""extract_many: process-pool extraction equals in-process extraction, in order."""

from __future__ import annotations

import numpy as np

from bsx.cues.parallel import extract_many

SR = 16000


def test_process_pool_matches_serial(make_vowel) -> None:
    clips = [make_vowel(f0, dur=0.6) for f0 in (110.0, 180.0, 260.0)]
    serial = extract_many("praat", clips, SR, workers=1)
    pooled = extract_many("praat", clips, SR, workers=2)
    for a, b, f0 in zip(serial, pooled, (110.0, 180.0, 260.0), strict=True):
        assert np.allclose(a.values["F0_Hz"], b.values["F0_Hz"], equal_nan=True)
        assert abs(np.nanmedian(b.values["F0_Hz"]) - f0) < 3.0

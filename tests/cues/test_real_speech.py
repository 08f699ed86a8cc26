"""Real acted speech (EmoDB, $BSX_REAL_SPEECH/emodb): angry F0 above the same speaker's neutral."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bsx.audio import load_audio
from bsx.cues.profile import cue_profile, neutral_baseline
from bsx.expert import load_expert
from bsx.scoring.agreement import agreement

ROOT = os.environ.get("BSX_REAL_SPEECH")
pytestmark = pytest.mark.skipif(not ROOT, reason="BSX_REAL_SPEECH is not set (EmoDB clips)")
PAIRS = {"03": ("03a01Wa.wav", "03a01Nc.wav"), "09": ("09a01Wb.wav", "09a01Nb.wav")}


@pytest.mark.parametrize("name", ["egemaps", "praat", "librosa"])
def test_angry_f0_above_same_speaker_neutral(extractors, name: str) -> None:
    ext = extractors[name]
    for speaker, (angry, neutral) in PAIRS.items():
        tracks = {}
        for f in (angry, neutral):
            y, _ = load_audio(Path(ROOT, "emodb", f), 16000)  # type: ignore[arg-type]
            tracks[f] = ext.extract(y, 16000)
        base = neutral_baseline([tracks[neutral]], [speaker])
        prof = cue_profile(tracks[angry], [])
        neutral_f0 = cue_profile(tracks[neutral], []).get("Pitch_lvl", "whole").mean
        assert prof.get("Pitch_lvl", "whole").mean > neutral_f0 + 2.0  # semitones
        # the whole clip as the "salient" region: agreement against the speaker's neutral
        whole = cue_profile(tracks[angry], [prof.content])
        rows = {r.cue: r for r in agreement(whole, "angry", load_expert(), base, speaker)}
        assert rows["Pitch_lvl"].agrees_vs_neutral is True

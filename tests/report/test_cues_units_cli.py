"""`bsx cues` says each number's unit: Praat's dB intensity is not eGeMAPS' loudness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from bsx.cli.main import app

SR = 16000


def _tone(path: Path) -> Path:
    t = np.arange(int(1.2 * SR)) / SR
    f0 = 150.0
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    sf.write(path, (0.2 * y / np.abs(y).max()).astype(np.float32), SR)
    return path


def test_cues_json_and_table_carry_units_and_feature_names(tmp_path: Path) -> None:
    wav = _tone(tmp_path / "tone.wav")
    res = CliRunner().invoke(app, ["cues", str(wav), "--cues", "egemaps,praat", "--json"])
    assert res.exit_code == 0, res.output
    ext = json.loads(res.stdout)["extractors"]
    eg = {r["cue"]: r for r in ext["egemaps"]}
    pr = {r["cue"]: r for r in ext["praat"]}
    assert eg["Loudness"]["unit"] == "a.u., sone-like"
    assert eg["Loudness"]["feature"] == "Loudness_sma3"
    assert pr["Loudness"]["unit"] == "dB" and pr["F0_Hz"]["unit"] == "Hz"
    assert abs(pr["F0_Hz"]["mean"] - 150.0) < 2.0  # the unit names what the number is
    table = CliRunner().invoke(app, ["cues", str(wav), "--cues", "praat"],
                               env={"COLUMNS": "200"})
    assert table.exit_code == 0
    line = next(ln for ln in table.stdout.splitlines() if "F0_Hz" in ln)
    assert "│ Hz " in line and "Pitch (To Pitch)" in line

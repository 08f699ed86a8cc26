"""`bsx cues FILE`: a profile of a planted louder span; bad windows exit 2 in one sentence."""

from __future__ import annotations

import json
import subprocess
import sys

import soundfile as sf
from typer.testing import CliRunner

from bsx.cli.main import app

SR = 16000


def test_cues_json_shows_the_louder_window(tmp_path, make_vowel) -> None:
    wav = tmp_path / "v.wav"
    sf.write(wav, make_vowel(150.0, span=(0.6, 1.2), gain=3.0), SR)
    res = CliRunner().invoke(app, ["cues", str(wav), "--cues", "egemaps,praat",
                                   "--windows", "0.60-1.20", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["windows"] == [[0.6, 1.2]]
    for name in ("egemaps", "praat"):
        rows = {(r["cue"], r["region"]): r for r in report["extractors"][name]}
        assert rows[("Loudness", "salient")]["mean"] > rows[("Loudness", "rest")]["mean"]
        assert abs(rows[("Pitch_lvl", "whole")]["mean"] - 29.37) < 1.0
    table = CliRunner().invoke(app, ["cues", str(wav)], env={"COLUMNS": "160"})
    assert table.exit_code == 0 and "Pitch_lvl" in table.stdout and "whole" in table.stdout
    res = CliRunner().invoke(app, ["cues", str(wav), "--windows", "0.6-1.2", "--emotion",
                                   "sadness", "--json"])
    agree = {a["cue"]: a for a in json.loads(res.stdout)["agreement"]["egemaps"]}
    assert agree["Loudness"]["expected"] == -1 and agree["Loudness"]["agrees_vs_rest"] is False
    assert agree["Loudness"]["effect_vs_rest"] > 1.0


def test_bad_windows_exit_2_without_traceback(tmp_path, make_vowel) -> None:
    wav = tmp_path / "v.wav"
    sf.write(wav, make_vowel(150.0, dur=0.5), SR)
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "cues", str(wav), "--windows", "0.2"],
        capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "'0.2' is not a window" in res.stderr

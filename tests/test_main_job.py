"""The README's main job, exactly as a new user runs it: default corpus, packaged model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_readme_main_job_runs_and_finds_the_planted_spans(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"pip install \. && (bsx evaluate[^\n`]*)", readme)
    assert command, "README lost its main-job command"
    args = command.group(1).split()[1:]
    assert args[:4] == ["evaluate", "--method", "crp", "--cues"]
    res = subprocess.run([sys.executable, "-m", "bsx.cli", *args, "--out", "run"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    out = tmp_path / "run"
    for name in ("results.parquet", "results.csv", "summary.json", "report.html"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["uar"] > 0.6  # chance is 0.2
    scores = {(m["method"], m["metric"], m["against"]): m["mean"] for m in summary["metrics"]}
    assert scores["crp", "gt-precision", "planted"] > 0.8
    assert "crp" in res.stdout and "gt-precision" in res.stdout

"""The committed example leaderboard reproduces its committed baseline (what CI would check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsx.leaderboard.check import compare, failures, load_table
from bsx.leaderboard.run import run_leaderboard

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_example_grid_matches_the_committed_baseline(tmp_path: Path) -> None:
    report = run_leaderboard(ROOT / "examples" / "leaderboard.toml", tmp_path, workers=1,
                             progress=False)
    assert not report.failed
    current = load_table(tmp_path)
    baseline = load_table(ROOT / "examples" / "leaderboard-baseline.csv")
    diff = compare(current, baseline, tolerance=0.05)
    assert len(diff) >= 32
    assert failures(diff).empty, failures(diff).to_string()

"""Ranking honours each metric's direction; `check` fails on regressions, passes otherwise."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bsx.cli.main import app
from bsx.engine import EvalConfig
from bsx.leaderboard.check import compare, failures, load_table, parse_tolerances
from bsx.leaderboard.config import Cell
from bsx.leaderboard.show import heatmap, leaderboard_table, mean_ranks, render
from bsx.leaderboard.store import Store

# (relevance-mass-accuracy: higher is better, complexity: lower is better)
SCORES = {"gradcam": (0.60, 3.0), "crp": (0.40, 5.0), "random": (0.20, 9.0),
          "saliency": (float("nan"), 4.0)}


def make_store(path: Path, scores: dict[str, tuple[float, float]]) -> Path:
    with Store(path) as st:
        run = st.start_run(name="t", config_hash="h")
        cells = [Cell(hash=f"{m}-{path.stem}", dataset="synth", model="default", method=m,
                      config=EvalConfig(methods=[m])) for m in scores]
        st.add_cells(run, cells)
        for c in cells:
            ram, cx = scores[c.method]
            st.finish_cell(c, run, {"n_clips": 8, "metrics": [
                {"method": c.method, "cues": "egemaps", "metric": "relevance-mass-accuracy",
                 "against": "expert-cues", "mean": ram, "ci_low": ram - 0.1,
                 "ci_high": ram + 0.1, "n": 8, "direction": "higher",
                 "category": "localisation"},
                {"method": c.method, "cues": "", "metric": "complexity", "against": "",
                 "mean": cx, "ci_low": cx - 1, "ci_high": cx + 1, "n": 8,
                 "direction": "lower", "category": "complexity"}]}, seconds=1.0)
        st.finish_run(run, "done")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return make_store(tmp_path / "leaderboard.sqlite", SCORES)


def test_ranks_honour_direction_and_nan_goes_last(store: Path) -> None:
    with Store(store) as st:
        t = leaderboard_table(st.results())
    ram = t[t["metric"] == "relevance-mass-accuracy"]
    cx = t[t["metric"] == "complexity"]
    assert list(ram["method"]) == ["gradcam", "crp", "random", "saliency"]
    assert list(cx["method"]) == ["gradcam", "saliency", "crp", "random"]
    assert list(cx["rank"]) == [1, 2, 3, 4]
    # margin over random, positive = better: complexity 9 - 3, accuracy 0.6 - 0.2
    assert cx.set_index("method")["vs_random"]["gradcam"] == pytest.approx(6.0)
    assert ram.set_index("method")["vs_random"]["gradcam"] == pytest.approx(0.4)
    assert math.isnan(ram.set_index("method")["vs_random"]["random"])
    assert list(t.loc[t["baseline"], "method"]) == ["random", "random"]
    mr = mean_ranks(t)
    assert mr.iloc[0]["method"] == "gradcam" and mr.iloc[0]["mean_rank"] == 1.0


def test_formats_and_figure(store: Path, tmp_path: Path) -> None:
    with Store(store) as st:
        t = leaderboard_table(st.results())
    md = render(t, "markdown")
    assert "| complexity ↓ |" in md and "random (baseline)" in md
    assert "gradcam | 1.00 |" in md  # mean-rank table
    html = render(t, "html")
    assert html.count('class="baseline"') == 2 and "<table>" in html
    csv = tmp_path / "board.csv"
    csv.write_text(render(t, "csv"))
    back = load_table(csv)
    pd.testing.assert_series_equal(back["mean"], t["mean"], check_names=False)
    js = tmp_path / "board.json"
    js.write_text(render(t, "json"))
    assert len(load_table(js)) == len(t)
    import matplotlib.image as mpimg

    img = mpimg.imread(heatmap(t, tmp_path / "h.png"))
    assert img.shape[0] > 50 and img.shape[1] > 50


def test_check_passes_unchanged_and_fails_a_planted_regression(store: Path,
                                                               tmp_path: Path) -> None:
    baseline = load_table(store)
    assert failures(compare(load_table(store), baseline)).empty
    worse = dict(SCORES, gradcam=(0.52, 3.04), crp=(0.40, 5.2))  # -0.08 acc, +0.2 complexity
    current = load_table(make_store(tmp_path / "worse.sqlite", worse))
    diff = compare(current, baseline, 0.05)
    bad = failures(diff)
    assert sorted(zip(bad["method"], bad["metric"], strict=True)) == [
        ("crp", "complexity"), ("gradcam", "relevance-mass-accuracy")]
    assert bad.set_index("method").loc["gradcam", "change"] == pytest.approx(-0.08)
    # gradcam complexity rose by 0.04 < 0.05: fine; per-metric tolerances loosen or tighten
    default, over = parse_tolerances(["0.1", "complexity=0.01"])
    bad = failures(compare(current, baseline, default, over))
    assert sorted(zip(bad["method"], bad["metric"], strict=True)) == [
        ("crp", "complexity"), ("gradcam", "complexity")]
    # a dropped method is a failure, not a silent pass
    gone = load_table(make_store(tmp_path / "gone.sqlite",
                                 {k: v for k, v in SCORES.items() if k != "crp"}))
    assert set(failures(compare(gone, baseline))["status"]) == {"missing"}


def test_check_cli_exit_codes(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["leaderboard", "show", "--store", str(store), "--format", "csv",
                              "--output", str(tmp_path / "base.csv")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(tmp_path / "base.csv"),
                              "--store", str(store)])
    assert res.exit_code == 0 and "no regressions" in res.output
    worse = make_store(tmp_path / "w" / "leaderboard.sqlite", dict(SCORES, random=(0.0, 9.0)))
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(tmp_path / "base.csv"),
                              "--out", str(worse.parent)])
    assert res.exit_code == 1 and "regressed" in res.output and "random" in res.output
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(tmp_path / "base.csv"),
                              "--out", str(worse.parent), "--tolerance", "0.25"])
    assert res.exit_code == 0
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(tmp_path / "nope.csv"),
                              "--store", str(store)])
    assert res.exit_code != 0

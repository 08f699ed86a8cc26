"""Ranking honours each metric's direction; `check` fails on regressions, passes otherwise."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bsx.cli.main import app
from bsx.evaluation import EvalConfig
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


def test_equal_means_share_a_rank(tmp_path: Path) -> None:
    from bsx.leaderboard.show import tied_ranks

    assert tied_ranks([0.5, 0.7, 0.5, float("nan"), 0.2], "higher") == [2, 1, 2, 5, 4]
    assert tied_ranks([0.5, 0.7, 0.5, float("nan"), 0.2], "lower") == [2, 4, 2, 5, 1]
    tied = dict(SCORES, crp=(0.60, 3.0))  # crp ties gradcam on both metrics
    with Store(make_store(tmp_path / "t.sqlite", tied)) as st:
        t = leaderboard_table(st.results())
    ram = t[t["metric"] == "relevance-mass-accuracy"].set_index("method")["rank"]
    assert ram.to_dict() == {"gradcam": 1, "crp": 1, "random": 3, "saliency": 4}


def make_paired_store(root: Path, shift: dict[str, float], n_speakers: int = 5,
                      per: int = 4) -> Path:
    """A store whose cells wrote per-clip results: random's value per clip varies widely,
    each method adds `shift[method]` plus small clip noise."""
    rng = np.random.default_rng(0)
    clips = [(f"s{s}-c{j}", f"s{s}") for s in range(n_speakers) for j in range(per)]
    base = rng.normal(0.5, 0.3, len(clips))
    path = root / "leaderboard.sqlite"
    with Store(path) as st:
        run = st.start_run(name="t", config_hash="h")
        cells = [Cell(hash=f"h-{m}", dataset="synth", model="default", method=m,
                      config=EvalConfig(methods=[m])) for m in shift]
        st.add_cells(run, cells)
        for c in cells:
            out = root / "cells" / c.hash
            out.mkdir(parents=True)
            st.start_cell(c.hash, run, str(out))
            v = base + shift[c.method] + (0 if c.method == "random" else
                                          rng.normal(0, 0.01, len(clips)))
            pd.DataFrame({"clip_id": [a for a, _ in clips], "speaker": [b for _, b in clips],
                          "method": c.method, "cues": "", "metric": "complexity",
                          "against": "", "value": v}).to_parquet(out / "results.parquet")
            st.finish_cell(c, run, {"n_clips": len(clips), "metrics": [
                {"method": c.method, "cues": "", "metric": "complexity", "against": "",
                 "mean": float(v.mean()), "ci_low": float(v.mean() - 0.15),
                 "ci_high": float(v.mean() + 0.15), "n": len(clips), "direction": "lower",
                 "category": "complexity"}]}, seconds=1.0)
        st.finish_run(run, "done")
    return path


def test_delta_random_is_paired_by_clip_with_a_clustered_ci(tmp_path: Path) -> None:
    from bsx.leaderboard.show import from_store

    # complexity: lower is better. gradcam is 0.05 below random on every clip: a margin of
    # +0.05 with a tight CI although the means' own CIs (+-0.15) overlap; crp equals random.
    path = make_paired_store(tmp_path, {"random": 0.0, "gradcam": -0.05, "crp": 0.0})
    with Store(path) as st:
        t = from_store(st).set_index("method")
    g, c = t.loc["gradcam"], t.loc["crp"]
    assert g["vs_random"] == pytest.approx(0.05, abs=0.005)
    assert 0.04 < g["vs_random_ci_low"] < 0.05 < g["vs_random_ci_high"] < 0.06
    assert g["vs_random_n"] == 20 and g["vs_random_p"] == pytest.approx(2 / 2**5)
    assert g["vs_random_p"] <= g["vs_random_p_fdr"] <= 2 * g["vs_random_p"]  # BH, 2 tests
    assert c["vs_random_ci_low"] < 0 < c["vs_random_ci_high"] and c["vs_random_p"] > 0.2
    assert math.isnan(t.loc["random", "vs_random"])
    # 5 speakers: the smallest sign-flip p is 2/2^5 > 0.05, so the one rule says untestable
    assert g["vs_random_n_clusters"] == 5 and g["vs_random_status"] == "untestable"
    assert pd.isna(t.loc["random", "vs_random_status"])
    md = render(from_store(Store(path)), "markdown")
    assert f"{g['vs_random']:+.3f} [+0.04" in md and "cannot be tested" in md
    # the CSV export and check still work with the new columns
    csv = tmp_path / "b.csv"
    csv.write_text(render(from_store(Store(path)), "csv"))
    assert failures(compare(load_table(path), load_table(csv))).empty
    # without the cells' files: the unpaired difference of means and no interval
    import shutil

    shutil.rmtree(tmp_path / "cells")
    with Store(path) as st:
        t = from_store(st).set_index("method")
    assert t.loc["gradcam", "vs_random"] == pytest.approx(0.05, abs=0.005)
    assert math.isnan(t.loc["gradcam", "vs_random_ci_low"])


def test_heatmap_colours_by_value_with_direction() -> None:
    from bsx.leaderboard.show import value_scores

    t = pd.DataFrame({"column": ["a"] * 3 + ["b"] * 3 + ["c"] * 2,
                      "mean": [0.9, 0.8, 0.0, 3.0, 5.0, 9.0, 1.0, 1.0],
                      "direction": ["higher"] * 3 + ["lower"] * 3 + ["higher"] * 2})
    s = value_scores(t).round(6).tolist()
    # a near-tie stays near (0.9 vs 0.8), where ranks would put it a full step apart
    assert s == [1.0, pytest.approx(0.888889), 0.0, 1.0, pytest.approx(4 / 6), 0.0, 0.5, 0.5]

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


def _board(rows: list[tuple[str, str, str, float, float, float]]) -> pd.DataFrame:
    """(method, metric, direction, mean, ci_low, ci_high) rows -> a ranked leaderboard."""
    df = pd.DataFrame([dict(dataset="d", model="m", metric=metric, cues="", against="",
                            category="x", direction=d, method=method, mean=mean, ci_low=lo,
                            ci_high=hi, n=10)
                       for method, metric, d, mean, lo, hi in rows])
    return leaderboard_table(df)


def test_heatmap_colours_sit_on_the_scores_fixed_range_not_min_max() -> None:
    from bsx.leaderboard.show import range_scores

    t = _board([("crp", "pointing-game", "higher", 0.72, 0.60, 0.84),
                ("gradcam", "pointing-game", "higher", 0.67, 0.55, 0.79),
                ("random", "pointing-game", "higher", 0.20, 0.10, 0.30),
                ("crp", "sparseness", "lower", 0.25, 0.2, 0.3),  # lower: turned, 1 = best
                ("crp", "faithfulness-correlation", "higher", 0.0, -0.1, 0.1),
                ("crp", "complexity", "lower", 9.0, 8.0, 10.0)])  # unbounded: no colour
    got = dict(zip(t["metric"] + "/" + t["method"], range_scores(t), strict=True))
    # 0.72 vs 0.67 on a 0-1 score stay 0.72 vs 0.67 (min-max made them 1.00 vs 0.41)
    assert got["pointing-game/crp"] == pytest.approx(0.72)
    assert got["pointing-game/gradcam"] == pytest.approx(0.67)
    assert got["sparseness/crp"] == pytest.approx(0.75)
    assert got["faithfulness-correlation/crp"] == pytest.approx(0.5)
    assert math.isnan(got["complexity/crp"])


def test_heatmap_is_viridis_with_a_colour_bar_and_outlines_ties_by_ci() -> None:
    import matplotlib.pyplot as plt

    from bsx.leaderboard.show import heatmap_figure, tied_with_best

    t = _board([("crp", "pointing-game", "higher", 0.72, 0.60, 0.84),
                ("gradcam", "pointing-game", "higher", 0.67, 0.55, 0.79),   # overlaps crp
                ("random", "pointing-game", "higher", 0.20, 0.10, 0.30)])   # does not
    ties = dict(zip(t["method"], tied_with_best(t.assign(column=t["metric"])), strict=True))
    assert ties == {"crp": True, "gradcam": True, "random": False}
    fig = heatmap_figure(t)
    ax, bar = fig.axes
    (im,) = ax.get_images()
    assert im.get_cmap().name.startswith("viridis") and im.get_clim() == (0.0, 1.0)
    assert "fixed range" in bar.get_ylabel() and "1 = best" in bar.get_ylabel()
    rows = [lab.get_text() for lab in ax.get_yticklabels()]
    assert rows == ["crp", "gradcam", "random"]
    cells = np.asarray(im.get_array()).ravel()
    assert cells == pytest.approx([0.72, 0.67, 0.20])
    outlined = {round(p.get_y() + p.get_height() / 2) for p in ax.patches
                if p.get_gid() == "tie"}
    assert outlined == {0, 1}  # crp and gradcam rows; random's CI lies below crp's
    texts = [x.get_text() for x in ax.texts]
    assert "0.720\n[0.600, 0.840]" in texts  # mean and CI with the same decimals
    plt.close(fig)


def test_html_leaderboard_embeds_the_heatmap_with_its_legend() -> None:
    from bsx.leaderboard.show import to_html

    t = _board([("crp", "pointing-game", "higher", 0.72, 0.60, 0.84),
                ("random", "pointing-game", "higher", 0.20, 0.10, 0.30)])
    page = to_html(t)
    assert page.count("data:image/png;base64,") == 1
    assert "one colour scale for every score and direction" in page
    assert "0.720 [0.600, 0.840]" in page


def test_html_of_an_empty_board_has_no_figure() -> None:
    from bsx.leaderboard.show import COLUMNS, to_html

    page = to_html(pd.DataFrame(columns=COLUMNS))
    assert "<table>" in page and "data:image/png" not in page

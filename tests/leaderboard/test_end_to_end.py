"""A real leaderboard: the evaluate engine and the packaged default model on a tiny synth set.

Two methods (gradcam, random) x two metrics; the planted spans are the independent truth:
random attribution must rank last on localisation against them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from bsx.cli.main import app
from bsx.evaluation import EvalConfig, run_evaluation
from bsx.leaderboard.run import evaluate_runner, run_leaderboard
from bsx.leaderboard.store import Store

pytestmark = pytest.mark.slow

GRID = """
name = "e2e"
[grid]
methods = ["gradcam", "random"]
cues = ["egemaps"]
metrics = ["relevance-mass-accuracy", "gt-precision"]
split = "all"
limit = 8
batch_size = 4
workers = 1
device = "cpu"
[[datasets]]
name = "synth"
options = { per_class = 4, seed = 3 }
"""


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[list[str]]]:
    """Run once with a failure injected into the random cell after its first batch, then
    again; returns (config, out, engine calls of each run)."""
    root = tmp_path_factory.mktemp("lb")
    config = root / "lb.toml"
    config.write_text(GRID)
    out = root / "out"
    calls: list[list[str]] = [[], []]
    attempt = 0

    def counting(cfg: EvalConfig, where: Path) -> dict[str, Any]:
        calls[attempt].append(cfg.methods[0])
        if attempt == 0 and cfg.methods == ["random"]:
            def boom(done: int, total: int) -> None:
                raise RuntimeError("injected failure after the first batch")
            return run_evaluation(cfg, where, resume=True, progress=False, on_batch=boom)
        return evaluate_runner(cfg, where)

    first = run_leaderboard(config, out, workers=1, progress=False, runner=counting)
    assert [c.method for c, _ in first.failed] == ["random"]
    assert [c.method for c in first.computed] == ["gradcam"]
    attempt = 1
    second = run_leaderboard(config, out, workers=1, progress=False, runner=counting)
    assert second.ok and [c.method for c in second.cached] == ["gradcam"]
    return config, out, calls


def test_resumes_without_recomputing_finished_cells(board: tuple[Path, Path, list]) -> None:  # type: ignore[type-arg]
    _, out, calls = board
    assert calls == [["gradcam", "random"], ["random"]]
    with Store(out / "leaderboard.sqlite") as st:
        cells = st.cells()
    assert set(cells["status"]) == {"done"} and set(cells["n_clips"]) == {8}
    # the random cell resumed from the batch the failed attempt had written
    random_dir = out / "cells" / cells.set_index("method").loc["random", "cell_hash"]
    assert len(list((random_dir / "parts").glob("clips-*.parquet"))) == 2


def test_random_baseline_ranks_last_on_localisation(board: tuple[Path, Path, list]) -> None:  # type: ignore[type-arg]
    _, out, _ = board
    t = pd.read_csv(out / "leaderboard.csv", keep_default_na=False, na_values=[""])
    planted = t[t["against"] == "planted"]
    assert set(planted["metric"]) == {"relevance-mass-accuracy", "gt-precision"}
    for _, g in planted.groupby("metric"):
        assert list(g["method"]) == ["gradcam", "random"]
        assert g.iloc[0]["vs_random"] > 0.1


def test_check_passes_unchanged_and_fails_a_planted_regression(
        board: tuple[Path, Path, list], tmp_path: Path) -> None:  # type: ignore[type-arg]
    config, out, _ = board
    runner = CliRunner()
    base = tmp_path / "baseline.csv"
    shutil.copy(out / "leaderboard.csv", base)
    res = runner.invoke(app, ["leaderboard", "run", str(config), "--out", str(out),
                              "--workers", "1", "--no-progress"])
    assert res.exit_code == 0 and "0 cells computed, 2 reused" in res.output  # unchanged
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(base), "--out", str(out)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(base, keep_default_na=False, na_values=[""])
    hit = (t["method"] == "gradcam") & (t["metric"] == "gt-precision")
    t.loc[hit, "mean"] += 0.2  # the baseline was better: today's run regressed by 0.2
    t.to_csv(base, index=False)
    res = runner.invoke(app, ["leaderboard", "check", "--baseline", str(base), "--out", str(out)])
    assert res.exit_code == 1 and "gt-precision" in res.output and "-0.200" in res.output


def test_ray_executor_gives_the_same_table(board: tuple[Path, Path, list],
                                           tmp_path: Path) -> None:  # type: ignore[type-arg]
    ray = pytest.importorskip("ray", reason="the ray extra (pip install 'bsx[ray]') is absent")
    config, out, _ = board
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rep = run_leaderboard(config, tmp_path / "ray", executor="ray", workers=2,
                              progress=False)
    finally:
        ray.shutdown()
    assert rep.ok and len(rep.computed) == 2
    local = pd.read_csv(out / "leaderboard.csv")
    remote = pd.read_csv(tmp_path / "ray" / "leaderboard.csv")
    pd.testing.assert_frame_equal(local, remote)

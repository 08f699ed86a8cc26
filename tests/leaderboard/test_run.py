"""Leaderboard runs with an injected cell runner: caching, resume after failure and crash."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bsx.evaluation import EvalConfig
from bsx.leaderboard.run import run_leaderboard
from bsx.leaderboard.store import Store

# Planted per-method scores: the ranking the leaderboard must reproduce.
PLANTED = {"gradcam": 0.7, "crp": 0.5, "random": 0.1}

GRID = """
name = "tiny"
[grid]
methods = ["gradcam", "crp", "random"]
cues = ["egemaps"]
metrics = ["relevance-mass-accuracy", "complexity"]
limit = 8
[[datasets]]
name = "synth"
options = {{ per_class = 4 }}
{extra}
"""


def fake_runner(cfg: EvalConfig, out: Path) -> dict[str, Any]:
    """Stands in for the engine: logs the call, fails or crashes on request, planted scores."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "calls.log").open("a").write(f"{cfg.methods[0]}\n")
    root = out.parent.parent
    method = cfg.methods[0]
    if (root / f"FAIL-{method}").exists():
        (root / f"FAIL-{method}").unlink()
        raise RuntimeError(f"injected failure in {method}")
    if (root / f"CRASH-{method}").exists():
        (root / f"CRASH-{method}").unlink()
        os._exit(3)
    v = PLANTED[method]
    return {"n_clips": 8, "model": {"accuracy": 0.9, "uar": 0.9}, "metrics": [
        {"method": method, "cues": "egemaps", "metric": "relevance-mass-accuracy",
         "against": "expert-cues", "mean": v, "ci_low": v - 0.05, "ci_high": v + 0.05,
         "n": 8, "direction": "higher", "category": "localisation"},
        {"method": method, "cues": "", "metric": "complexity", "against": "",
         "mean": 10 * (1 - v), "ci_low": 9 * (1 - v), "ci_high": 11 * (1 - v), "n": 8,
         "direction": "lower", "category": "complexity"},
    ]}


def calls(out: Path) -> list[str]:
    return sorted(line for f in (out / "cells").glob("*/calls.log")
                  for line in f.read_text().split())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    p = tmp_path / "lb.toml"
    p.write_text(GRID.format(extra=""))
    return p


def test_runs_every_cell_then_reuses_them(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert rep.ok and len(rep.computed) == 3 and not rep.cached
    assert calls(out) == ["crp", "gradcam", "random"]
    with Store(out / "leaderboard.sqlite") as st:
        res = st.results()
        cells = st.cells()
    assert len(res) == 6 and set(cells["status"]) == {"done"}
    ram = res[res["metric"] == "relevance-mass-accuracy"].set_index("method")["mean"]
    assert ram.to_dict() == pytest.approx(PLANTED)
    rep2 = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert len(rep2.cached) == 3 and not rep2.computed
    assert len(calls(out)) == 3  # nothing recomputed
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 6


def test_changed_grid_computes_only_new_cells(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    config.write_text(GRID.format(extra="").replace('"crp", ', '"crp", "saliency", '))
    PLANTED["saliency"] = 0.3
    try:
        rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    finally:
        del PLANTED["saliency"]
    assert [c.method for c in rep.computed] == ["saliency"] and len(rep.cached) == 3
    # a changed limit changes every cell's hash
    config.write_text(GRID.format(extra="").replace("limit = 8", "limit = 6"))
    rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert len(rep.computed) == 3 and not rep.cached


def test_resumes_after_an_injected_failure(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "FAIL-crp").touch()
    rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert [c.method for c, _ in rep.failed] == ["crp"]
    assert "injected failure" in rep.failed[0][1]
    with Store(out / "leaderboard.sqlite") as st:
        status = st.cells().set_index("method")["status"].to_dict()
        assert set(st.results()["method"]) == {"gradcam", "random"}
    assert status == {"gradcam": "done", "crp": "failed", "random": "done"}
    rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert rep.ok and [c.method for c in rep.computed] == ["crp"]
    assert calls(out) == ["crp", "crp", "gradcam", "random"]  # finished cells not recomputed


def test_resumes_after_the_process_is_killed(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "CRASH-crp").touch()  # gradcam runs first, then the whole process dies in crp
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_run import fake_runner
        from bsx.leaderboard.run import run_leaderboard
        run_leaderboard({str(config)!r}, {str(out)!r}, workers=1, runner=fake_runner,
                        progress=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    with Store(out / "leaderboard.sqlite") as st:
        status = st.cells().set_index("method")["status"].to_dict()
        runs = st.runs()
    # the run's process is gone: opening the store marks it killed and its unfinished cells
    # failed (issue 17: a killed run does not stay "running" forever)
    assert status == {"gradcam": "done", "crp": "failed", "random": "failed"}
    assert calls(out) == ["crp", "gradcam"]  # random never started
    assert list(runs["status"]) == ["killed"]
    rep = run_leaderboard(config, out, workers=1, runner=fake_runner, progress=False)
    assert rep.ok and sorted(c.method for c in rep.computed) == ["crp", "random"]
    assert [c.method for c in rep.cached] == ["gradcam"]
    assert calls(out) == ["crp", "crp", "gradcam", "random"]


def test_process_pool_gives_the_same_scores_as_inline(config: Path, tmp_path: Path) -> None:
    a = run_leaderboard(config, tmp_path / "a", workers=1, runner=fake_runner, progress=False)
    b = run_leaderboard(config, tmp_path / "b", workers=2, runner=fake_runner, progress=False)
    assert a.ok and b.ok and len(b.computed) == 3
    ta = pd.read_csv(tmp_path / "a" / "leaderboard.csv")
    tb = pd.read_csv(tmp_path / "b" / "leaderboard.csv")
    pd.testing.assert_frame_equal(ta, tb)
    pids = {f.parent.name for f in (tmp_path / "b" / "cells").glob("*/calls.log")}
    assert len(pids) == 3

"""The SQLite results store: schema, NaN round trip, several processes writing at once."""

from __future__ import annotations

import math
import multiprocessing as mp
import sqlite3
from pathlib import Path
from typing import Any

from bsx.evaluation import EvalConfig
from bsx.leaderboard.config import Cell
from bsx.leaderboard.store import Store

N_PROCS, N_CELLS, N_METRICS = 4, 12, 5


def _cell(tag: str, i: int) -> Cell:
    return Cell(hash=f"{tag}-{i:03d}", dataset="synth", model=f"m{tag}", method="gradcam",
                config=EvalConfig(methods=["gradcam"], seed=i))


def _summary(i: int) -> dict:  # type: ignore[type-arg]
    return {"n_clips": 8, "model": {"accuracy": 0.5, "uar": float("nan")}, "metrics": [
        {"method": "gradcam", "cues": "egemaps", "metric": f"metric-{k}", "against": "",
         "mean": i + k / 10, "ci_low": float("nan"), "ci_high": i + 1.0, "n": 8,
         "direction": "higher", "category": "localisation"} for k in range(N_METRICS)]}


def _writer(path: str, tag: str, gate: Any) -> None:
    """One process: its own run, N_CELLS cells, each finished in its own transaction."""
    gate.wait()  # every process opens the store (and creates the schema) at the same time
    with Store(path, timeout_s=120) as st:
        cells = [_cell(tag, i) for i in range(N_CELLS)]
        run = st.start_run(name=tag, config_hash=tag)
        st.add_cells(run, cells)
        for i, c in enumerate(cells):
            st.start_cell(c.hash, run, "")
            st.finish_cell(c, run, _summary(i), seconds=0.1)
        st.finish_run(run, "done")


def test_concurrent_writers_do_not_corrupt_the_store(tmp_path: Path) -> None:
    path = tmp_path / "lb.sqlite"
    ctx = mp.get_context("spawn")
    gate = ctx.Barrier(N_PROCS)
    procs = [ctx.Process(target=_writer, args=(str(path), f"p{j}", gate))
             for j in range(N_PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * N_PROCS
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with Store(path) as st:
        runs = st.runs()
        assert len(runs) == N_PROCS and set(runs["status"]) == {"done"}
        everything = st.results(latest=False)
        assert len(everything) == N_PROCS * N_CELLS * N_METRICS
        # each run sees exactly its own cells, with the values its process wrote
        for run_id, tag in zip(runs["run_id"], runs["name"], strict=True):
            res = st.results(run_id)
            assert len(res) == N_CELLS * N_METRICS and set(res["model"]) == {f"m{tag}"}
            one = res[(res["cell_hash"] == f"{tag}-007") & (res["metric"] == "metric-3")]
            assert one["mean"].item() == 7.3


def test_nan_round_trips_and_done_cells_are_reported_cached(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as st:
        run = st.start_run(name="a", config_hash="x")
        c = _cell("a", 1)
        assert st.add_cells(run, [c]) == set()
        st.finish_cell(c, run, _summary(1), seconds=1.0)
        res = st.results(run)
        assert math.isnan(res["ci_low"].iloc[0]) and res["ci_high"].iloc[0] == 2.0
        assert math.isnan(st.cells()["uar"].iloc[0])
        run2 = st.start_run(name="b", config_hash="x")
        assert st.add_cells(run2, [c]) == {c.hash}
        assert st.latest_run() == run2
        assert len(st.results()) == N_METRICS  # the newest run includes the cached cell
        st.fail_cell(c.hash, "late failure")  # never downgrades a done cell
        assert st.cells()["status"].item() == "done"

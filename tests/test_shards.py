"""Sharded evaluation: shards are whole batches of the single run's order, and a sharded Ray
run gives the same tables and summary as a single local run (tiny synth set)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bsx.errors import BsxError
from bsx.evaluation import EvalConfig, run_evaluation
from bsx.evaluation.tail import merge_parts, read_parts
from bsx.shards import plan_shards, run_sharded


def test_plan_shards_cuts_at_whole_batches() -> None:
    ids = [f"c{i}" for i in range(10)]
    assert plan_shards(ids, 2, 3) == [ids[0:6], ids[6:10]]   # 4 batches: 2 + 2
    assert plan_shards(ids, 3, 3) == [ids[0:3], ids[3:6], ids[6:10]]
    assert plan_shards(ids, 9, 3) == [ids[0:3], ids[3:6], ids[6:9], ids[9:10]]  # 4 batches
    assert plan_shards(ids, 1, 4) == [ids]
    assert plan_shards([], 2, 4) == []
    with pytest.raises(BsxError, match="--shards must be at least 1"):
        plan_shards(ids, 0, 4)


def test_merge_parts_renumbers_in_shard_then_batch_order(tmp_path: Path) -> None:
    for shard, batches in ((0, [1, 2]), (1, [1])):
        parts = tmp_path / "shards" / str(shard) / "parts"
        parts.mkdir(parents=True)
        for b in batches:
            for name in ("results", "clips"):
                pq.write_table(pa.table({"who": [f"{shard}.{b}"]}),
                               parts / f"{name}-{b:06d}.parquet")
    n = merge_parts([tmp_path / "shards" / "0", tmp_path / "shards" / "1"], tmp_path / "out")
    assert n == 3
    got = {f.name: pq.read_table(f)["who"][0].as_py()
           for f in sorted((tmp_path / "out" / "parts").iterdir())}
    assert got == {"clips-000001.parquet": "0.1", "clips-000002.parquet": "0.2",
                   "clips-000003.parquet": "1.1", "results-000001.parquet": "0.1",
                   "results-000002.parquet": "0.2", "results-000003.parquet": "1.1"}


def cfg(**kw: object) -> EvalConfig:
    base = dict(dataset_options={"per_class": 6, "seed": 3}, split="all", limit=6,
                methods=["gradcam", "random"], cues=["egemaps"], batch_size=2, workers=1,
                device="cpu", metrics=["gt-precision", "cue-agreement-rest",
                                       "cue-agreement-neutral", "sparseness"])
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


COLS = ["clip_id", "method", "cues", "metric", "against", "value"]


def _table(out: Path) -> pd.DataFrame:
    res = pd.read_parquet(out / "results.parquet")
    res = res[~res["metric"].str.startswith("time-")][COLS]
    return res.sort_values(COLS[:5]).reset_index(drop=True)


@pytest.mark.slow
def test_sharded_ray_run_equals_a_local_run(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    local = run_evaluation(cfg(), tmp_path / "local", resume=False, progress=False)
    sharded = run_sharded(cfg(), tmp_path / "ray", shards=2, executor="ray", workers=2,
                          progress=False)
    # both shards ran, each on its own clips (3 batches of 2: shards of 2 and 4 clips)
    sizes = [read_parts(tmp_path / "ray" / "shards" / str(i)).n_clips for i in (0, 1)]
    assert sizes == [2, 4]
    a, b = _table(tmp_path / "local"), _table(tmp_path / "ray")
    assert len(a) and set(a["metric"]) >= {"cue-agreement-neutral", "gt-precision"}
    # neutral agreement needs the neutral clip of the OTHER shard: computed after the merge
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)
    for name in ("clips.csv", "windows.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "local" / name),
                                      pd.read_csv(tmp_path / "ray" / name))
    assert sharded["model"] == local["model"] and sharded["n_clips"] == local["n_clips"] == 6
    strip = [{k: v for k, v in m.items() if k != "seconds"} for m in local["metrics"]]
    assert [{k: v for k, v in m.items() if k != "seconds"} for m in sharded["metrics"]] == strip
    assert json.loads((tmp_path / "ray" / "config.json").read_text())["config"][
        "clip_ids"] is None


def test_cli_unknown_executor_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bsx.cli.main import app

    res = CliRunner().invoke(app, ["evaluate", "--method", "gradcam", "--executor", "dask",
                                   "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, BsxError)  # the console entry point: one line, exit 2
    assert "--executor 'dask' is not one of: local, ray, ray-actors" in str(res.exception)

"""Attribution on Ray actors and cues on Ray tasks give the tables of a local run (tiny synth
set, the packaged model, CPU actors on one local Ray started once for the module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bsx.errors import BsxError
from bsx.evaluation import EvalConfig, run_evaluation
from bsx.ray_actors import check_cpus, gpu_share, run_on_actors


def test_gpu_share_splits_the_cluster_gpus_over_the_actors() -> None:
    assert gpu_share("auto", 1.0, 2) == 0.5        # 2 methods share the one GPU
    assert gpu_share("cuda", 4.0, 2) == 1.0        # never more than one each
    assert gpu_share("cuda:0", 2.0, 3) == pytest.approx(2 / 3)
    assert gpu_share("cpu", 4.0, 2) == 0.0         # --device cpu keeps them off the GPUs
    assert gpu_share("auto", 0.0, 2) == 0.0        # a CPU cluster: CPU actors
    with pytest.raises(BsxError, match="--device cuda with --executor ray-actors, but the Ray "
                       "cluster has no GPU"):
        gpu_share("cuda", 0.0, 2)


def test_too_few_cpus_is_an_error_not_a_wait() -> None:
    check_cpus(3.0, 2, 0.0)
    with pytest.raises(BsxError, match="the Ray cluster has 2 CPUs, fewer than the 2 "
                       "attribution actor"):
        check_cpus(2.0, 2, 0.0)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def cfg() -> EvalConfig:
    return EvalConfig(dataset_options={"per_class": 3, "seed": 5}, split="all", limit=5,
                      methods=["gradcam", "saliency"], cues=["egemaps"], batch_size=2,
                      workers=1, device="cpu", metrics=["sparseness"])


def _without_time(out: Path, name: str) -> pd.DataFrame:
    t = pd.read_csv(out / name) if name.endswith(".csv") else pd.read_parquet(out / name)
    if "metric" in t:
        t = t[~t["metric"].str.startswith("time-")].reset_index(drop=True)
    return t.drop(columns=[c for c in t.columns if "seconds" in c])


def test_actor_run_equals_a_local_run(ray_cluster: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from bsx.cues import parallel
    from bsx.evaluation.placement import LocalPlacement

    local = run_evaluation(cfg(), tmp_path / "local", resume=False, progress=False)

    def not_here(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("attributed or measured cues in the driver")

    # the Ray run must neither attribute nor measure cues in this process
    monkeypatch.setattr(LocalPlacement, "attribute", not_here)
    monkeypatch.setattr(LocalPlacement, "submit_cues", not_here)
    monkeypatch.setattr(parallel, "extract_many", not_here)
    actors = run_on_actors(cfg(), tmp_path / "ray", workers=1, resume=False, progress=False)
    assert ray_cluster.is_initialized()  # the caller's Ray is used and left running
    a, b = _without_time(tmp_path / "local", "results.csv"), _without_time(tmp_path / "ray",
                                                                           "results.csv")
    assert set(a["method"]) == {"gradcam", "saliency"} and len(a) == 10
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # the cue tracks came from the Ray tasks: the cue profiles and agreements equal too
    for name in ("windows.csv", "clips.csv", "profiles.parquet", "agreement.parquet"):
        pd.testing.assert_frame_equal(_without_time(tmp_path / "local", name),
                                      _without_time(tmp_path / "ray", name), check_exact=True)
    strip = [{k: v for k, v in m.items() if k != "seconds"} for m in local["metrics"]]
    assert [{k: v for k, v in m.items() if k != "seconds"} for m in actors["metrics"]] == strip


def test_cli_ray_actors_refuses_shards(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bsx.cli.main import app

    res = CliRunner().invoke(app, ["evaluate", "--method", "gradcam", "--executor",
                                   "ray-actors", "--shards", "2", "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, BsxError)
    assert "--executor ray-actors spreads one run's attribution and cues over Ray: leave out " \
           "--shards" in str(res.exception)

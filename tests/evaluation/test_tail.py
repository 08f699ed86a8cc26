"""One tail for every run: a sharded run merges its parts and runs the tail once over them,
with the skip lists of ALL parts, and its summary is the local run's. A clip is planted as
unusable (conftest.plant_skip) in a shard that is not the first, where a tail that read the
first part's skips only would lose it (the cross-validated case: tests/evaluation/
test_folds.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bsx.evaluation import EvalConfig, run_evaluation
from bsx.evaluation.tail import RunParts, merged, read_parts
from bsx.shards import plan_shards, run_sharded, selected_clip_ids


def test_merged_parts_add_up_and_keep_every_skip_once() -> None:
    named = ("x.wav", "bad name")  # a file the corpus listing skipped: every part lists it
    a = RunParts(n_clips=4, skipped=(named, ("c1", "short")), training={"warning": None},
                 meta_clips=1)
    b = RunParts(n_clips=3, skipped=(named, ("c6", "silent")),
                 training={"warning": "may include training data"}, meta_clips=2)
    m = merged([a, b])
    assert m.n_clips == 7 and m.meta_clips == 3
    assert m.skipped == (named, ("c1", "short"), ("c6", "silent"))
    assert m.training["warning"] == "may include training data"


def cfg(**kw: object) -> EvalConfig:
    base = dict(dataset_options={"per_class": 6, "seed": 3}, split="all", limit=6,
                methods=["gradcam"], cues=["egemaps"], batch_size=2, workers=1,
                device="cpu", metrics=["gt-precision", "cue-agreement-rest",
                                       "cue-agreement-neutral"])
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


def _without_seconds(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if k != "timing"}
    out["metrics"] = [{k: v for k, v in m.items() if k != "seconds"} for m in out["metrics"]]
    return out


@pytest.mark.slow
def test_a_sharded_run_keeps_a_later_shards_skip_and_equals_the_local_run(
        tmp_path: Path, plant_skip: Callable[[str], str]) -> None:
    ids = selected_clip_ids(cfg())
    shards = plan_shards(ids, 2, 2)
    assert [len(s) for s in shards] == [2, 4]
    planted = shards[1][-1]  # in the second shard's last batch
    reason = plant_skip(planted)
    local = run_evaluation(cfg(), tmp_path / "local", resume=False, progress=False)
    sharded = run_sharded(cfg(), tmp_path / "sharded", shards=2, executor="local", workers=1,
                          progress=False)
    assert read_parts(tmp_path / "sharded" / "shards" / "0").skipped == ()
    for summary in (local, sharded):
        assert summary["skipped"] == [{"clip_id": planted, "reason": reason}]
        assert summary["n_skipped"] == 1 and summary["n_clips"] == 5
    assert _without_seconds(sharded) == _without_seconds(local)
    on_disk = json.loads((tmp_path / "sharded" / "summary.json").read_text())
    assert on_disk["skipped"] == sharded["skipped"]
    assert json.loads((tmp_path / "sharded" / "config.json").read_text())["config"][
        "clip_ids"] is None

"""Cross-validated evaluate: a `bsx train --cv` folder as --checkpoint evaluates each fold's
model on its own held-out speakers and merges them into one run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from bsx.evaluation import EvalConfig, run_evaluation
from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path
from bsx.plugins import build
from bsx.results import ResultWriter

TINY = {"per_class": 4, "seed": 3}


def _cv_folder(tmp: Path) -> tuple[Path, dict[str, str]]:
    """Two LOSO folds of the packaged model (same weights), each holding out one synth
    speaker, as `bsx train --cv loso` lays them out. Returns the folder and fold -> speaker."""
    speakers = sorted({c.speaker for c in build("dataset", "synth", options=TINY).clips()})
    held = {"fold-a": speakers[0], "fold-b": speakers[-1]}
    meta = json.loads(sidecar_path(DEFAULT_MODEL_FILE).read_text())
    for fold, spk in held.items():
        d = tmp / "cv" / fold
        d.mkdir(parents=True)
        shutil.copy(DEFAULT_MODEL_FILE, d / "model.pt")
        rest = [s for s in speakers if s != spk]
        meta["split"] = {"mode": "loso", "test_speakers": [spk], "val_speakers": rest[:1],
                         "train_speakers": rest[1:], "dataset_options": TINY}
        (d / "model.json").write_text(json.dumps(meta))
    (tmp / "cv" / "cv.json").write_text(json.dumps({"protocol": "leave-one-speaker-out"}))
    return tmp / "cv", held


def cfg(checkpoint: Path, **kw: object) -> EvalConfig:
    base = dict(dataset_options=TINY, split="test", methods=["gradcam"], cues=["egemaps"],
                metrics=["gt-precision", "cue-agreement-rest"], batch_size=4, workers=1,
                device="cpu", checkpoint=checkpoint)
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


@pytest.mark.slow
def test_each_clip_is_explained_by_the_fold_that_held_its_speaker_out(tmp_path: Path) -> None:
    folder, held = _cv_folder(tmp_path)
    out = tmp_path / "run"
    summary = run_evaluation(cfg(folder), out, resume=False, progress=False)
    clips = pd.read_csv(out / "clips.csv")
    # every clip of the two held-out speakers, each once, and nothing else
    want = sorted(c.id for c in build("dataset", "synth", options=TINY).clips()
                  if c.speaker in held.values())
    assert sorted(clips["clip_id"]) == want and summary["n_clips"] == len(want)
    # each fold ran on its own speaker only, and the merged table is the folds' tables
    merged = pd.read_parquet(out / "results.parquet").sort_values(
        ["clip_id", "metric", "cues"]).reset_index(drop=True)
    per_fold = []
    for fold, spk in held.items():  # each fold leaves its batches, not a run of its own
        assert not (out / "folds" / fold / "summary.json").exists()
        written = ResultWriter(out / "folds" / fold, resume=True)
        assert set(written.read("clips")["speaker"].astype(str)) == {spk}
        per_fold.append(written.read("results"))
    folds = pd.concat(per_fold)
    folds = folds[~folds["metric"].str.startswith("time-")]  # timings.csv holds those
    assert set(folds["metric"]) == {"gt-precision"}  # agreement is the tail's, over all folds
    folds = folds.sort_values(["clip_id", "metric", "cues"]).reset_index(drop=True)
    merged = merged[merged["metric"].isin(folds["metric"])].reset_index(drop=True)
    keep = ["clip_id", "method", "metric", "cues", "value"]
    pd.testing.assert_frame_equal(merged[keep], folds[keep])
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["checkpoint"] == str(folder)
    assert config["checkpoint"]["path"] == str(folder)
    assert [f["fold"] for f in config["cross_validation"]["folds"]] == ["fold-a", "fold-b"]
    assert (out / "report.html").is_file() and "claims" in summary


@pytest.mark.slow
def test_a_cross_validated_run_keeps_the_skips_of_a_later_fold(
        tmp_path: Path, plant_skip: Callable[[str], str]) -> None:
    from bsx.evaluation.tail import read_parts

    folder, held = _cv_folder(tmp_path)
    speaker = held["fold-b"]  # the second fold's held-out speaker
    clips = [c for c in build("dataset", "synth", options=TINY).clips()
             if c.speaker == speaker]
    planted = clips[0].id
    reason = plant_skip(planted)
    summary = run_evaluation(cfg(folder), tmp_path / "run", resume=False, progress=False)
    assert summary["skipped"] == [{"clip_id": planted, "reason": reason}]
    assert summary["n_skipped"] == 1
    n_held = sum(read_parts(tmp_path / "run" / "folds" / f).n_clips for f in held)
    assert summary["n_clips"] == n_held - 1
    assert read_parts(tmp_path / "run").n_clips == n_held


def test_a_cv_folder_refuses_other_splits_in_one_line(tmp_path: Path) -> None:
    folder, _ = _cv_folder(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "evaluate", "--dataset", "synth", "--checkpoint",
         str(folder), "--split", "all", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"})
    assert res.returncode == 2, res.stderr
    assert "evaluates each fold's model on its own held-out speakers" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_an_empty_cv_folder_says_what_is_missing(tmp_path: Path) -> None:
    from bsx.errors import BsxError

    (tmp_path / "cv.json").write_text("{}")
    with pytest.raises(BsxError, match="no fold-\\*/model.pt"):
        run_evaluation(cfg(tmp_path), tmp_path / "o", resume=False, progress=False)

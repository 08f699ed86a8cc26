"""Leave-one-speaker-out: fold bookkeeping, the t-interval, whole-utterance units, and the
whole `bsx train --cv loso` path on a tiny tone corpus registered in the test."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from bsx.audio import Frontend
from bsx.datasets.base import Clip
from bsx.errors import BsxError
from bsx.models.checkpoint import load_model
from bsx.models.crossval import cross_validate, loso_folds, mean_ci
from bsx.models.recipe import TrainConfig
from bsx.models.train import Corpus, _per_group, _Units, balanced_weights
from bsx.plugins import Spec, get_registry

# 0.3 s units every 0.15 s: a 0.6 s tone is three units
WHOLE = Frontend(name="test-whole", n_samples=4800, n_fft=512, win_length=400, hop_length=160,
                 n_mels=40, keep="whole")


def clip(spk: str, label: str, k: int = 0) -> Clip:
    return Clip(path=Path(f"/x/{spk}_{label}_{k}.wav"), label=label, speaker=spk, corpus="t")


def test_loso_folds_test_each_speaker_once_val_is_the_next() -> None:
    clips = [clip(s, lab, k) for s in ("a", "b", "c", "d") for lab in ("x", "y") for k in (0, 1)]
    folds = loso_folds(clips)
    assert [(f.test_speaker, f.val_speaker) for f in folds] == [
        ("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    for f in folds:
        assert {c.speaker for c in f.test} == {f.test_speaker}
        assert {c.speaker for c in f.val} == {f.val_speaker}
        assert {c.speaker for c in f.train} == {"a", "b", "c", "d"} - {f.test_speaker,
                                                                       f.val_speaker}
        assert len(f.train) + len(f.val) + len(f.test) == len(clips)
    assert [f.test_speaker for f in loso_folds(clips, only=["c"])] == ["c"]
    with pytest.raises(BsxError, match="no speaker 'z'"):
        loso_folds(clips, only=["z"])
    with pytest.raises(BsxError, match="at least 3 speakers"):
        loso_folds([clip("a", "x"), clip("b", "x")])


def test_mean_ci_is_the_student_t_interval() -> None:
    m, lo, hi = mean_ci([0.5, 0.7])
    # sd = 0.1414, se = 0.1, t(0.975, df 1) = 12.706
    assert m == pytest.approx(0.6) and hi - m == pytest.approx(1.27062, rel=1e-4)
    assert m - lo == pytest.approx(hi - m)
    m, lo, hi = mean_ci([0.6, 0.6, 0.6, 0.6])
    assert (m, lo, hi) == pytest.approx((0.6, 0.6, 0.6))
    assert math.isnan(mean_ci([0.4])[1])


def test_one_unit_per_clip_per_epoch_and_clip_logits_are_unit_means() -> None:
    groups = np.array([0, 0, 0, 1, 2, 2])
    units = _Units(groups, 6)
    for seed in range(5):
        rows = units.draw(torch.Generator().manual_seed(seed)).numpy()
        assert sorted(groups[rows]) == [0, 1, 2]
    logits = np.array([[1, 0], [2, 0], [3, 0], [0, 5], [1, 1], [3, 3]], dtype=np.float32)
    assert _per_group(logits, groups, mean=True).tolist() == [[2, 0], [0, 5], [2, 2]]
    assert _per_group(np.array([4, 4, 4, 1, 6, 6]), groups).tolist() == [4, 1, 6]
    assert balanced_weights(np.array([0, 0, 0, 1]), 3).tolist() == pytest.approx(
        [4 / 9, 4 / 3, 0.0])


def sound(label: str, f0: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(16000 * 0.6)) / 16000
    y = (np.sin(2 * np.pi * f0 * t) if label == "pure"
         else rng.standard_normal(t.size))
    return (0.3 * y / np.abs(y).max() + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


@dataclass
class Tones:
    name: str
    labels: tuple[str, ...]
    root: Path

    def clips(self) -> list[Clip]:
        out, rng = [], np.random.default_rng(0)
        for spk in range(3):
            for lab in self.labels:
                for k in range(4):
                    path = self.root / f"s{spk}_{lab}_{k}.wav"
                    if not path.exists():
                        sf.write(path, sound(lab, 200.0 * (1 + 0.3 * spk + 0.1 * k), rng), 16000)
                    out.append(Clip(path=path, label=lab, speaker=f"s{spk}", corpus="tones"))
        return out


@pytest.fixture
def tones(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("tones")
    reg = get_registry()
    reg.add(Spec(name="tones-cv", kind="dataset", description="test tones",
                 factory=lambda options: Tones("tones-cv", ("pure", "noisy"), root)))
    yield "tones-cv"
    reg.specs["dataset"].pop("tones-cv")


@pytest.mark.slow
def test_cross_validate_writes_one_model_per_fold_and_the_report(tones: str,
                                                                  tmp_path: Path) -> None:
    from bsx.models.augment import AugmentOptions

    # ema off: 8 epochs of 12 tiny batches are ~100 steps, too few for a 0.98 average to
    # forget the initial weights
    cfg = TrainConfig.loso(model="resnet-small", frontend=WHOLE, epochs=8, batch_size=4,
                           lr=3e-3, patience=8, device="cpu", augment=AugmentOptions(),
                           ema=None, select="best")
    corpus = Corpus(tones, workers=1, cache=tmp_path / "cache")
    rep = cross_validate(corpus, cfg, out=tmp_path / "cv", progress=False)
    assert [f["test_speaker"] for f in rep["folds"]] == ["s0", "s1", "s2"]
    assert [f["n_test"] for f in rep["folds"]] == [8, 8, 8]  # clips, not units
    uars = [f["uar"] for f in rep["folds"]]
    assert rep["uar_mean"] == pytest.approx(np.mean(uars))
    assert rep["pooled"]["n"] == 24
    assert rep["uar_mean"] > 0.7  # tone vs noise; chance 0.5
    with (tmp_path / "cv" / "cv.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["test_speaker"] for r in rows] == ["s0", "s1", "s2", "mean"]
    assert float(rows[-1]["uar"]) == pytest.approx(rep["uar_mean"])
    m = load_model(tmp_path / "cv" / "fold-s1" / "model.pt")
    assert m.labels == ("pure", "noisy") and m.frontend == WHOLE
    assert m.meta["split"]["test_speakers"] == ["s1"] and m.meta["split"]["val_speakers"] == [
        "s2"]
    # resume reads finished folds back instead of training again
    again = cross_validate(corpus, cfg, out=tmp_path / "cv", resume=True, progress=False)
    assert [f["uar"] for f in again["folds"]] == uars


def test_cli_cv_and_seeds(tones: str, tmp_path: Path) -> None:
    from bsx.cli.main import app

    res = CliRunner().invoke(app, [
        "train", "--dataset", tones, "--cv", "loso", "--folds", "s0", "--epochs", "1",
        "--batch-size", "8", "--device", "cpu", "--workers", "1", "--quiet",
        "--seeds", "0,1", "--out", str(tmp_path / "cli"),
    ])
    assert res.exit_code == 0, res.output
    assert "leave-one-speaker-out" in res.output
    for s in (0, 1):
        rep = json.loads((tmp_path / "cli" / f"seed-{s}" / "cv.json").read_text())
        recipe = TrainConfig.from_json(rep["recipe"])
        assert recipe.seed == s and recipe.class_weight == "balanced" and recipe.cv == "loso"
        assert recipe.monitor == "uar" and rep["frontend"]["keep"] == "whole"
        assert (tmp_path / "cli" / f"seed-{s}" / "fold-s0" / "model.pt").is_file()
    bad = CliRunner().invoke(app, ["train", "--cv", "kfold", "--out", str(tmp_path / "x")])
    assert isinstance(bad.exception, BsxError) and "accepted: loso" in str(bad.exception)


def test_cosine_schedule_and_uar_monitor(tiny_data) -> None:  # type: ignore[no-untyped-def]
    from bsx.models.train import TrainData, fit

    Xt, yt, Xv, yv = tiny_data
    cfg = TrainConfig(epochs=4, batch_size=16, lr=1e-3, seed=0, lr_schedule="cosine",
                      monitor="uar", class_weight=(1.0, 1.0, 2.0))
    res = fit(TrainData(Xt, yt, Xv, yv, 3), cfg, progress=False)
    lrs = [h["lr"] for h in res.history]
    assert lrs == pytest.approx([1e-3 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])
    assert res.best_val_accuracy == max(h["val_uar"] for h in res.history)  # the monitored score
    with pytest.raises(BsxError, match="accepted: constant, cosine"):
        cfg.replace(lr_schedule="step")


def test_loso_with_select_last_trains_on_the_val_speaker(tones: str, tmp_path: Path) -> None:
    from bsx.cli.main import app
    from bsx.models.checkpoint import load_model

    res = CliRunner().invoke(app, [
        "train", "--dataset", tones, "--cv", "loso", "--folds", "s0", "--epochs", "1",
        "--batch-size", "8", "--device", "cpu", "--workers", "1", "--quiet",
        "--select", "last", "--augment-option", "mixup=0.4", "--augment-option", "warp=0.1",
        "--out", str(tmp_path / "cv"),
    ])
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "cv" / "cv.json").read_text())
    recipe = TrainConfig.from_json(rep["recipe"])
    assert recipe.select == "last" and recipe.augment is not None
    assert recipe.augment.mixup == 0.4 and recipe.augment.warp == 0.1
    split = load_model(tmp_path / "cv" / "fold-s0" / "model.pt").meta["split"]
    assert split["test_speakers"] == ["s0"] and split["val_speakers"] == []
    assert split["train_speakers"] == ["s1", "s2"]  # s1, the val speaker of fold s0, trains
    bad = CliRunner().invoke(app, ["train", "--dataset", tones, "--cv", "loso",
                                   "--augment-option", "swirl=1", "--out", str(tmp_path / "x")])
    assert isinstance(bad.exception, BsxError) and "swirl" in str(bad.exception)

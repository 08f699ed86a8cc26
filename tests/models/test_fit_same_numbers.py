"""fit(TrainData, TrainConfig) trains exactly as the 24-parameter fit() did.

data/fit_before_trainconfig.json was written by the code before TrainConfig (commit "Record
fit()'s numbers before the TrainConfig change"): the same two tiny runs on the CPU with
keyword arguments, their per-epoch history, best epoch, the sum of every weight tensor, and
the settings key that last.pt held. Same seed -> same weights, metrics and last.pt key.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.models.augment import AugmentOptions
from bsx.models.recipe import TrainConfig
from bsx.models.train import LAST, TrainData, TrainResult, fit

BEFORE = json.loads((Path(__file__).parent / "data" / "fit_before_trainconfig.json").read_text())


def plain(tone_span_data) -> tuple[TrainData, TrainConfig]:  # type: ignore[no-untyped-def]
    Xt, yt = tone_span_data(24, 0)
    Xv, yv = tone_span_data(12, 1)
    data = TrainData(Xt, yt, Xv, yv, 3)
    return data, TrainConfig(epochs=2, batch_size=8, seed=0, device="cpu")


def careful(tone_span_data) -> tuple[TrainData, TrainConfig]:  # type: ignore[no-untyped-def]
    """Two units per clip, class weights, augmentation, UAR monitor, cosine schedule."""
    Xt, yt = tone_span_data(24, 0)
    Xv, yv = tone_span_data(12, 1)
    data = TrainData(
        Xt,
        np.repeat(yt[:12], 2),
        Xv,
        np.repeat(yv[:6], 2),
        3,
        groups_train=np.repeat(np.arange(12), 2),
        groups_val=np.repeat(np.arange(6), 2),
    )
    cfg = TrainConfig(
        model="crnn",
        epochs=2,
        batch_size=8,
        lr=1e-3,
        patience=3,
        seed=1,
        device="cpu",
        class_weight=(1.0, 0.5, 2.0),
        augment=AugmentOptions(),
        monitor="uar",
        lr_schedule="cosine",
    )
    return data, cfg


def check(res: TrainResult, before: dict) -> None:
    assert res.best_epoch == before["best_epoch"]
    assert res.stopped_early == before["stopped_early"]
    assert res.best_val_accuracy == pytest.approx(before["best_val_accuracy"], abs=1e-6)
    assert len(res.history) == len(before["history"])
    for got, want in zip(res.history, before["history"], strict=True):
        assert set(got) == set(want)
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-6, rel=1e-6), k
    sums = {k: float(v.double().sum()) for k, v in res.state_dict.items() if v.is_floating_point()}
    assert set(sums) == set(before["weights"])
    for k, v in before["weights"].items():
        # resnet-small trains channels-last on the CPU now (bsx.models.train.nhwc): its conv
        # kernels sum in another order, which moves weight sums by ~2e-6 relative; the
        # metrics above still agree to 1e-6
        assert sums[k] == pytest.approx(v, abs=1e-6, rel=2e-5), k


@pytest.mark.parametrize("case", [plain, careful], ids=["plain", "careful"])
def test_same_seed_same_weights_and_metrics_as_before(case, span_data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, cfg = case(span_data)
    res = fit(data, cfg, out=tmp_path, progress=False)
    before = BEFORE[case.__name__]
    check(res, before)
    # last.pt keeps its old settings key, so epoch checkpoints of the old code still resume
    saved = json.loads(torch.load(tmp_path / LAST, weights_only=True)["config"])
    assert saved == before["last_config"]


def test_the_numbers_can_fail(span_data) -> None:  # type: ignore[no-untyped-def]
    """Another seed gives other weights: the comparison above is not vacuous."""
    data, cfg = plain(span_data)
    res = fit(data, cfg.replace(seed=1), progress=False)
    with pytest.raises(AssertionError):
        check(res, BEFORE["plain"])

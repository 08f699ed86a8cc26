"""Selecting the last epoch (no early stopping, no validation needed, the val speaker trains
in LOSO), the mel-axis warp and mixup: planted bins move where the warp factor says, mixed
batches are the stated convex combinations, and the CLI carries both into the recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.errors import BsxError
from bsx.models.augment import AugmentOptions, augment_batch, mix_pairs, warp_by
from bsx.models.recipe import TrainConfig
from bsx.models.train import LAST, TrainData, fit


def test_warp_moves_a_planted_bin_to_k_over_a() -> None:
    x = torch.full((3, 1, 64, 5), -80.0)
    x[:, 0, 40] = 0.0  # a bright bin at 40
    y = warp_by(x, torch.tensor([1.25, 0.8, 1.0]))
    assert int(y[0, 0, :, 2].argmax()) == 32  # bin 32 reads 32 * 1.25 = 40
    assert int(y[1, 0, :, 2].argmax()) == 50  # bin 50 reads 50 * 0.8 = 40
    assert torch.equal(y[2], x[2])
    # between grid points the read is linear: on a ramp x[i] = i, y[i] = i * a (clamped)
    ramp = torch.arange(64.0).view(1, 1, 64, 1)
    got = warp_by(ramp, torch.tensor([1.3]))[0, 0, :, 0]
    assert torch.allclose(got, (torch.arange(64.0) * 1.3).clamp(max=63), atol=1e-4)


def test_mixup_is_the_stated_convex_combination_and_seeded() -> None:
    x = torch.randn(6, 1, 8, 10)
    mixed, perm, lam = mix_pairs(x, 0.4, torch.Generator().manual_seed(5))
    assert 0.0 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(6))
    assert torch.allclose(mixed, lam * x + (1 - lam) * x[perm])
    again = mix_pairs(x, 0.4, torch.Generator().manual_seed(5))
    assert torch.equal(again[0], mixed) and again[2] == lam


def test_augment_with_warp_is_seeded_and_keeps_the_shape() -> None:
    x = torch.randn(4, 1, 32, 20) - 40
    opts = AugmentOptions(warp=0.1)
    a = augment_batch(x, torch.Generator().manual_seed(1), opts)
    b = augment_batch(x, torch.Generator().manual_seed(1), opts)
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, augment_batch(x, torch.Generator().manual_seed(1),
                                            AugmentOptions()))


def test_select_last_trains_every_epoch_and_keeps_the_final_weights(
        tiny_data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    Xt, yt, Xv, yv = tiny_data
    cfg = TrainConfig(epochs=4, patience=1, batch_size=16, lr=1e-3, select="last",
                      augment=AugmentOptions(mixup=0.4))
    res = fit(TrainData(Xt, yt, Xv, yv, 3), cfg, out=tmp_path, progress=False)
    assert len(res.history) == 4 and res.best_epoch == 4 and not res.stopped_early
    final = torch.load(tmp_path / LAST, weights_only=True)["net"]  # the epoch checkpoint
    assert all(torch.equal(res.state_dict[k], final[k]) for k in final)


def test_no_validation_clips_need_select_last(tiny_data) -> None:  # type: ignore[no-untyped-def]
    Xt, yt, _, _ = tiny_data
    empty = TrainData(Xt, yt, np.zeros((0, 1, 32, 48), np.float32), np.zeros(0, np.int64), 3)
    with pytest.raises(BsxError, match="no validation clips to choose the best epoch"):
        fit(empty, TrainConfig(epochs=1), progress=False)
    res = fit(empty, TrainConfig(epochs=2, select="last", batch_size=16), progress=False)
    assert len(res.history) == 2 and all(np.isnan(h["val_uar"]) for h in res.history)

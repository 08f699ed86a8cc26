"""fit(): learns a planted time-span rule, writes loadable checkpoints, resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.audio import get_frontend
from bsx.errors import BadCheckpoint, BsxError
from bsx.models.checkpoint import CheckpointInfo, load_model, save_checkpoint
from bsx.models.recipe import TrainConfig
from bsx.models.train import LAST, TrainData, fit, predict


def test_fit_learns_the_planted_span_and_checkpoint_reloads(tiny_data, tmp_path: Path) -> None:
    Xt, yt, Xv, yv = tiny_data
    res = fit(TrainData(Xt, yt, Xv, yv, 3), TrainConfig(epochs=4, batch_size=16, seed=0),
              out=tmp_path, progress=False)
    losses = [h["train_loss"] for h in res.history]
    assert losses[-1] < 0.5 * losses[0]
    assert res.best_val_accuracy == max(h["val_accuracy"] for h in res.history)
    assert res.best_val_accuracy >= 0.9  # chance is 1/3
    assert (tmp_path / LAST).is_file()

    fe = get_frontend("paper")
    path = save_checkpoint(
        tmp_path / "model.pt", res.net, CheckpointInfo(
            model_name="resnet-small", model_options={}, labels=["early", "middle", "late"],
            frontend=fe, dataset="tiny", split={"mode": "random"},
            metrics={"val_accuracy": res.best_val_accuracy}, epoch=res.best_epoch),
    )
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["labels"] == ["early", "middle", "late"] and meta["epoch"] == res.best_epoch
    loaded = load_model(path)
    assert loaded.labels == ("early", "middle", "late")
    assert loaded.frontend == fe and loaded.model_name == "resnet-small"
    assert not loaded.net.training
    np.testing.assert_allclose(predict(loaded.net, Xv), predict(res.net, Xv), atol=1e-5)
    acc = (predict(loaded.net, Xv).argmax(1) == yv).mean()
    assert acc == pytest.approx(res.best_val_accuracy)


def test_resume_after_interrupt_ends_where_an_uninterrupted_run_ends(
    tiny_data, tmp_path: Path
) -> None:
    Xt, yt, Xv, yv = tiny_data
    data = TrainData(Xt, yt, Xv, yv, 3)
    cfg = TrainConfig(model="crnn", epochs=4, batch_size=16, lr=3e-3, seed=3)
    full = fit(data, cfg, out=tmp_path / "full", progress=False)

    def stop_after_two(epoch: int, _rec: dict) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(data, cfg, out=tmp_path / "cut", on_epoch=stop_after_two, progress=False)
    seen: list[int] = []
    resumed = fit(data, cfg, out=tmp_path / "cut", resume=True,
                  on_epoch=lambda e, _r: seen.append(e), progress=False)
    assert resumed.resumed_from == 2 and seen == [3, 4]
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    for a, b in zip(full.history, resumed.history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    for k, v in full.state_dict.items():
        torch.testing.assert_close(v, resumed.state_dict[k], rtol=1e-5, atol=1e-6)

    with pytest.raises(BsxError, match="other settings.*lr"):
        fit(data, cfg.replace(lr=1e-3), out=tmp_path / "cut", resume=True, progress=False)


def test_corrupt_epoch_checkpoint_is_one_clear_error(tiny_data, tmp_path: Path) -> None:
    Xt, yt, Xv, yv = tiny_data
    (tmp_path / LAST).write_bytes(b"not a checkpoint")
    with pytest.raises(BadCheckpoint, match=r"last\.pt: not a readable bsx epoch checkpoint"):
        fit(TrainData(Xt, yt, Xv, yv, 3), TrainConfig(epochs=1), out=tmp_path, resume=True,
            progress=False)


def test_bad_arrays_are_rejected(tiny_data) -> None:
    Xt, yt, Xv, yv = tiny_data
    with pytest.raises(BsxError, match="labels must lie in"):
        TrainData(Xt, yt + 5, Xv, yv, 3)
    with pytest.raises(BsxError, match="training split is empty"):
        TrainData(Xt[:0], yt[:0], Xv, yv, 3)
    # no validation rows are allowed (select='last' needs none); fit refuses them for 'best'
    # (tests/models/test_select_and_mix.py)
    assert len(TrainData(Xt, yt, Xv[:0], yv[:0], 3).X_val) == 0

"""Checkpoint bad input: missing, corrupt, misfitting, unlabeled; front-end mismatch warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bsx.audio import get_frontend
from bsx.errors import BadCheckpoint, BsxError
from bsx.models.checkpoint import CheckpointInfo, load_model, save_checkpoint
from bsx.models.crnn import Crnn
from bsx.models.resnet_small import ResNetSmall

LABELS = ["a", "b", "c"]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path / "model.pt", ResNetSmall(3), CheckpointInfo(
            model_name="resnet-small", model_options={}, labels=LABELS,
            frontend=get_frontend("paper-tess-train"), dataset="tiny",
            split={"mode": "speaker", "seed": 42}, metrics={"uar": float("nan")}, epoch=3),
    )


def test_saved_weights_are_plain_tensors_and_metadata_is_json(saved: Path) -> None:
    state = torch.load(saved, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads(saved.with_suffix(".json").read_text())
    assert meta["model"] == {"name": "resnet-small", "options": {}}
    assert meta["frontend"]["hop_length"] == 512 and meta["metrics"]["uar"] is None
    assert meta["dataset"] == "tiny" and meta["split"]["mode"] == "speaker"


def test_missing_and_corrupt_files(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(BadCheckpoint, match=r"nope\.pt: no such checkpoint file"):
        load_model(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(BadCheckpoint, match=r"bad\.pt: not a readable PyTorch state dict"):
        load_model(bad, labels=LABELS)
    # truncated weights behind a valid sidecar
    blob = saved.read_bytes()
    saved.write_bytes(blob[: len(blob) // 2])
    with (pytest.warns(UserWarning, match="weights changed"),
          pytest.raises(BadCheckpoint, match="model.pt: not a readable")):
        load_model(saved)


def test_corrupt_sidecar(saved: Path) -> None:
    saved.with_suffix(".json").write_text("{ not json")
    with pytest.raises(BadCheckpoint, match=r"model\.json: the metadata beside model\.pt"):
        load_model(saved)


def test_label_count_and_shape_mismatch(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(BadCheckpoint, match="trained with 3 labels .* but 2 were given"):
        load_model(saved, labels=["x", "y"])
    plain = tmp_path / "plain.pt"
    torch.save(ResNetSmall(3).state_dict(), plain)
    with pytest.raises(BadCheckpoint, match="output layer 'fc' has 3 classes but 7 labels"):
        load_model(plain, label_preset="paper7")
    with pytest.raises(BadCheckpoint, match="does not fit model 'crnn'"):
        load_model(plain, labels=LABELS, model="crnn")
    wrong = ResNetSmall(3).state_dict()
    wrong["conv1.weight"] = torch.zeros(32, 1, 5, 5)
    torch.save(wrong, plain)
    with pytest.raises(BadCheckpoint, match=r"'conv1.weight' has shape \(32, 1, 5, 5\)"):
        load_model(plain, labels=LABELS)


def test_plain_state_dict_needs_labels(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    torch.save(Crnn(3).state_dict(), plain)
    with pytest.raises(BadCheckpoint, match="plain state dict .* give labels or a label preset"):
        load_model(plain, model="crnn")
    m = load_model(plain, model="crnn", labels="x, y ,z")
    assert m.labels == ("x", "y", "z") and m.frontend.name == "paper"


def test_frontend_mismatch_warns_and_uses_the_given_one(saved: Path) -> None:
    with pytest.warns(UserWarning, match="trained through front-end 'paper-tess-train'"):
        m = load_model(saved, frontend="paper")
    assert m.frontend == get_frontend("paper")
    assert load_model(saved).frontend == get_frontend("paper-tess-train")


def test_other_model_name_and_missing_default(saved: Path, monkeypatch) -> None:
    with pytest.raises(BadCheckpoint, match="holds a 'resnet-small' model, not 'crnn'"):
        load_model(saved, model="crnn")
    from bsx.models import checkpoint

    monkeypatch.setattr(checkpoint, "DEFAULT_MODEL_FILE", saved.with_name("absent.pt"))
    with pytest.raises(BsxError, match="no packaged default model"):
        load_model(None)


def test_packaged_default_model_loads_with_its_metadata() -> None:
    from bsx.models import checkpoint

    if not checkpoint.DEFAULT_MODEL_FILE.is_file():
        pytest.fail("the packaged default model is missing from src/bsx/data/default_model")
    m = load_model()
    # the paper's front-end on whole utterances (docs/model-contract.md)
    assert m.model_name == "resnet-small" and m.frontend == get_frontend("paper-whole")
    assert m.frontend.model_copy(update={"keep": "first-interval", "name": "paper"}) == (
        get_frontend("paper"))
    assert m.meta["dataset"] == "synth" and len(m.labels) == m.meta["n_classes"]
    assert m.meta["metrics"]["test"]["uar"] > 2 / len(m.labels)  # far above chance
    x = torch.randn(2, 1, 128, 134)
    with torch.no_grad():
        assert m.net(x).shape == (2, len(m.labels))

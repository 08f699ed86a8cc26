"""hf-probe: a frozen SSL encoder (tiny configs, built offline) with a trained probe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bsx.datasets.base import Clip
from bsx.errors import BadCheckpoint
from bsx.models.hf import build_config
from bsx.models.hf_config import WAVEFORM_TYPES

SYNTH = {"per_class": 3, "seed": 3}


def _encoder(d: Path, kind: str = "wav2vec2", seed: int = 0) -> Path:
    """A tiny base model (no classifier head) saved as a user's SSL weights would be."""
    from transformers import AutoModel, Wav2Vec2FeatureExtractor

    torch.manual_seed(seed)
    AutoModel.from_config(build_config(kind, ["a", "b"])).save_pretrained(d)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(encoder directory, run folder) of a 2-epoch probe with attentive pooling on synth."""
    from bsx.models.recipe import TrainConfig
    from bsx.models.train import Corpus, train_dataset

    root = tmp_path_factory.mktemp("probe")
    enc = _encoder(root / "enc", "wavlm")
    cfg = TrainConfig(model="hf-probe", epochs=2, batch_size=4, device="cpu",
                      model_options={"checkpoint": str(enc), "pooling": "attentive", "mlp": 16})
    train_dataset(Corpus("synth", options=SYNTH, workers=1), cfg, out=root / "run",
                  progress=False)
    return enc, root / "run"


@pytest.mark.parametrize("kind", WAVEFORM_TYPES)
def test_every_waveform_family_builds_a_probe_over_all_hidden_states(
        tmp_path: Path, kind: str) -> None:
    from bsx.plugins import build

    d = _encoder(tmp_path / kind, kind)
    net = build("model", "hf-probe", 4, options={"checkpoint": str(d)})
    x = torch.randn(2, 8000)
    assert net(x).shape == (2, 4)
    n_layers = json.loads((d / "config.json").read_text())["num_hidden_layers"]
    assert net.head.layer_logits.shape == (n_layers + 1,)  # the conv projection + each layer
    assert all(k.startswith("head.") for k in net.state_dict())  # the encoder is not saved
    assert not any(p.requires_grad for p in net.model.parameters())


def test_training_records_the_encoder_and_the_saved_model_explains_end_to_end(
        trained: tuple[Path, Path]) -> None:
    import bsx
    from bsx.models.checkpoint import load_model
    from bsx.models.probe import encoder_hash
    from bsx.plugins import build

    enc, run = trained
    meta = json.loads((run / "model.json").read_text())
    assert meta["model"]["name"] == "hf-probe"
    opts = meta["model"]["options"]
    assert opts["checkpoint"] == str(enc.resolve()) and opts["encoder_sha256"] == encoder_hash(enc)
    assert meta["frontend"]["input"] == "waveform"
    assert json.loads((run / "report.json").read_text())["train"]["epochs_run"] == 2

    loaded = load_model(run / "model.pt")
    assert loaded.model_name == "hf-probe" and type(loaded.net).input_kind == "waveform"
    clip = build("dataset", "synth", options=SYNTH).clips()[0]
    duration = sf.info(str(clip.path)).duration
    e = bsx.explain(str(run / "model.pt"), clip.path, method="saliency", cues=None, k=3,
                    device="cpu")
    assert len(e.windows_original) == 3
    assert all(0 <= w.start_s < w.end_s <= duration + 1e-6 for w in e.windows_original)
    assert abs(sum(e.probabilities) - 1) < 1e-5


@pytest.mark.parametrize("pooling", ["mean", "attentive"])
def test_cached_hidden_states_give_the_logits_of_the_waveform_model(
        tmp_path: Path, pooling: str) -> None:
    """What fit trains on (packed, padded states) equals the saved model on the waveform: the
    packing, the padding mask and both poolings are checked against the end-to-end path."""
    from bsx.audio import prepare_waveform
    from bsx.models.probe import encode_prepared, fit_recipe, pin
    from bsx.models.recipe import TrainConfig
    from bsx.plugins import build

    d = _encoder(tmp_path / "enc")
    cfg = pin(TrainConfig(model="hf-probe", device="cpu",
                          model_options={"checkpoint": str(d), "pooling": pooling}))
    rng = np.random.default_rng(0)
    waves = {"short": rng.standard_normal(6000), "long": rng.standard_normal(16000)}
    prepared = {k: prepare_waveform(0.1 * v, cfg.frontend) for k, v in waves.items()}  # type: ignore[arg-type]
    packed = encode_prepared(cfg, prepared, progress=False)
    head = build("model", "hf-probe-head", 3, options=fit_recipe(cfg).model_options).eval()
    probe = build("model", "hf-probe", 3, options=cfg.model_options).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in head.named_parameters():  # small attention scores: padding would count
            p.copy_(torch.randn_like(p) * (0.01 if "attention" in name else 1.0))
        probe.load_state_dict(head.state_dict())
        for k, p in prepared.items():
            unit = packed[k].units()[0]  # type: ignore[union-attr]
            via_cache = head(torch.from_numpy(unit)[None, None])
            via_wave = probe(torch.as_tensor(p.units()[0], dtype=torch.float32)[None])
            torch.testing.assert_close(via_cache, via_wave, rtol=1e-4, atol=1e-5)
    assert packed["short"].units()[0][-1].sum() < packed["long"].units()[0][-1].sum()  # type: ignore[union-attr]


def test_a_changed_encoder_is_refused_on_load(trained: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    import shutil

    from bsx.models.checkpoint import load_model

    enc, run = trained
    meta = json.loads((run / "model.json").read_text())
    other = _encoder(tmp_path / "other", "wavlm", seed=5)
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    meta["model"]["options"]["checkpoint"] = str(other)
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(BadCheckpoint, match="encoder's weights differ"):
        load_model(copy / "model.pt")


def test_a_non_waveform_encoder_is_refused(tmp_path: Path) -> None:
    from bsx.models.probe import encoder_dir

    d = tmp_path / "whisper"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    with pytest.raises(BadCheckpoint, match="not a waveform encoder; hf-probe takes wav2vec2"):
        encoder_dir(d)
    with pytest.raises(BadCheckpoint, match="needs the encoder's save_pretrained directory"):
        encoder_dir(None)


def test_a_bad_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "train", "--model", "hf-probe", "--checkpoint",
         str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "nope: not a directory" in res.stderr
    assert not (tmp_path / "out" / "split.json").exists()  # refused before any work


@dataclass
class _Tones:
    """Pure tones against noise, 3 speakers (f0 differs by speaker): a planted difference any
    working probe separates."""

    root: Path
    name: str = "tones-probe"
    labels: tuple[str, ...] = ("pure", "noisy")

    def clips(self) -> list[Clip]:
        out, rng = [], np.random.default_rng(0)
        t = np.arange(int(16000 * 0.6)) / 16000
        for spk in range(3):
            for lab in self.labels:
                for k in range(4):
                    path = self.root / f"s{spk}_{lab}_{k}.wav"
                    f0 = 200.0 * (1 + 0.3 * spk + 0.1 * k)
                    y = (np.sin(2 * np.pi * f0 * t) if lab == "pure"
                         else rng.standard_normal(t.size))
                    sf.write(path, (0.3 * y / np.abs(y).max()).astype(np.float32), 16000)
                    out.append(Clip(path=path, label=lab, speaker=f"s{spk}", corpus=self.name))
        return out


def test_loso_cross_validation_trains_the_probe_on_a_planted_difference(tmp_path: Path) -> None:
    from bsx.models.crossval import cross_validate
    from bsx.models.recipe import TrainConfig
    from bsx.models.train import Corpus
    from bsx.plugins import Spec, get_registry

    reg = get_registry()
    (tmp_path / "tones").mkdir()
    reg.add(Spec(name="tones-probe", kind="dataset", description="test tones",
                 factory=lambda options: _Tones(tmp_path / "tones")))
    try:
        enc = _encoder(tmp_path / "enc")
        cfg = TrainConfig.loso(model="hf-probe", epochs=20, batch_size=4, lr=3e-3, device="cpu",
                               ema=None, folds=("s1",),
                               model_options={"checkpoint": str(enc), "mlp": 16})
        rep = cross_validate(Corpus("tones-probe", workers=1), cfg, out=tmp_path / "cv",
                             progress=False)
    finally:
        reg.specs["dataset"].pop("tones-probe")
    assert [f["test_speaker"] for f in rep["folds"]] == ["s1"]
    assert rep["folds"][0]["n_test"] == 8
    assert rep["uar_mean"] > 0.8  # tone vs noise; chance 0.5
    meta = json.loads((tmp_path / "cv" / "fold-s1" / "model.json").read_text())
    assert meta["model"]["name"] == "hf-probe" and meta["split"]["test_speakers"] == ["s1"]

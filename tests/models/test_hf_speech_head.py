"""audeering's custom wav2vec2 head (config.json architectures Wav2Vec2ForSpeechClassification
or EmotionModel: mean-pooled hidden states -> dense -> tanh -> out_proj, outputs arousal,
dominance, valence) loads from `--checkpoint DIR` in core bsx, offline.

Known answers: the outputs equal the head computed by hand from the saved weights (a plain
transformers Wav2Vec2Model, the time mean, the two linear layers); the weight-norm names the
released checkpoints were saved with (weight_g / weight_v) load to the same outputs; a
directory missing the head's weights is refused in one sentence naming the weights file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from bsx.audio import prepare
from bsx.cli.main import app
from bsx.errors import BadCheckpoint
from bsx.models.hf import build_config, load_hf, save_hf
from bsx.models.hf_speech_head import new_speech_head

DIMS = ("arousal", "dominance", "valence")
SR = 16000


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_config("wav2vec2", DIMS, problem_type="regression", pooling_mode="mean")
    return save_hf(new_speech_head(cfg, seed=4), tmp_path_factory.mktemp("audeering"))


def by_hand(d: Path, x: np.ndarray, pooling: str = "mean") -> np.ndarray:
    """The documented head from the saved weights, without bsx: normalise, encoder, pool,
    dense, tanh, out_proj."""
    from safetensors.torch import load_file
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    w = load_file(str(d / "model.safetensors"))
    enc = Wav2Vec2Model(Wav2Vec2Config.from_pretrained(d)).eval()
    enc.load_state_dict({k.removeprefix("wav2vec2."): v for k, v in w.items()
                         if k.startswith("wav2vec2.")})
    v = torch.from_numpy(x)[None]
    v = (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-7)
    with torch.no_grad():
        h = enc(v)[0]
        h = h.mean(dim=1) if pooling == "mean" else h.max(dim=1).values
        h = torch.tanh(h @ w["classifier.dense.weight"].T + w["classifier.dense.bias"])
        return (h @ w["classifier.out_proj.weight"].T + w["classifier.out_proj.bias"])[0].numpy()


def _copy(src: Path, dst: Path, **config: object) -> Path:
    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps({**cfg, **config}))
    return dst


def test_the_layout_loads_with_its_head_weights(head_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    cfg = json.loads((head_dir / "config.json").read_text())
    assert cfg["architectures"] == ["Wav2Vec2ForSpeechClassification"]
    x = np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32)
    net, labels, _ = load_hf(head_dir)
    assert labels == DIMS
    with torch.no_grad():
        got = net(torch.from_numpy(x)[None])[0].numpy()
    want = by_hand(head_dir, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert np.abs(want).max() > 1e-3  # a real signal, not zeros on both sides
    # the other architecture name, and the weight-norm names of transformers 4.x checkpoints
    old = _copy(head_dir, tmp_path / "old", architectures=["EmotionModel"])
    w = load_file(str(old / "model.safetensors"))
    save_file({k.replace("parametrizations.weight.original0", "weight_g")
               .replace("parametrizations.weight.original1", "weight_v"): v
               for k, v in w.items()}, str(old / "model.safetensors"), metadata={"format": "pt"})
    with torch.no_grad():
        np.testing.assert_allclose(load_hf(old)[0](torch.from_numpy(x)[None])[0].numpy(),
                                   want, rtol=1e-4, atol=1e-6)
    # max pooling is the head's other common mode
    mx = _copy(head_dir, tmp_path / "max", pooling_mode="max")
    with torch.no_grad():
        np.testing.assert_allclose(load_hf(mx)[0](torch.from_numpy(x)[None])[0].numpy(),
                                   by_hand(mx, x, "max"), rtol=1e-4, atol=1e-6)


def test_explain_from_the_directory(head_dir: Path, wav: Path, tmp_path: Path,
                                    explain_json) -> None:  # type: ignore[no-untyped-def]
    e = explain_json(wav, head_dir, tmp_path / "a", "--target", "arousal")
    _, _, fe = load_hf(head_dir)
    want = by_hand(head_dir, prepare(wav, fe).waveform.astype(np.float32))
    assert e["task"] == "regression" and e["labels"] == list(DIMS) and e["target"] == 0
    np.testing.assert_allclose(e["values"], want, rtol=1e-4, atol=1e-6)
    assert e["windows_original"]
    for w in e["windows_original"]:
        assert 0.0 <= w["start_s"] < w["end_s"] <= 2.5


def test_evaluate_one_dimension_from_the_directory(head_dir: Path, tmp_path: Path) -> None:
    import pandas as pd

    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    root = tmp_path / "corpus"
    Synth(SynthOptions(data_root=root, per_class=1, speakers=3, workers=1,
                       variant="arousal")).clips()
    res = CliRunner().invoke(app, [
        "evaluate", "--checkpoint", str(head_dir), "--dimension", "arousal", "--method",
        "saliency", "--cues", "librosa", "--dataset", "synth", "--data-root", str(root),
        "--split", "all", "--workers", "1", "--metrics", "dimension-cue-rho",
        "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task"] == "regression" and summary["dimension"] == "arousal"
    assert [r for r in summary["dimensional"] if r["expected"] == "up"]
    clips = pd.read_csv(tmp_path / "run" / "clips.csv")
    assert len(clips) == 3 and (clips["target"] == "arousal").all()
    assert clips["value_arousal"].nunique() == 3  # the loaded head, one value per clip


def test_a_directory_without_the_head_weights_is_refused(head_dir: Path, tmp_path: Path,
                                                         wav: Path) -> None:
    from safetensors.torch import load_file, save_file

    broken = _copy(head_dir, tmp_path / "broken")
    w = load_file(str(broken / "model.safetensors"))
    save_file({k: v for k, v in w.items() if not k.startswith("classifier.")},
              str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(BadCheckpoint, match=r"broken/model.safetensors: lacks "
                                            r"'classifier.dense.bias' \(4 weight\(s\) missing\)"):
        load_hf(broken)
    res = CliRunner().invoke(app, ["explain", str(wav), "--checkpoint", str(broken),
                                   "--method", "saliency"])
    assert isinstance(res.exception, BadCheckpoint)  # the CLI's entry point: one line, exit 2
    assert "lacks 'classifier.dense.bias'" in str(res.exception)
    assert "\n" not in str(res.exception)
    extra = _copy(head_dir, tmp_path / "extra")
    save_file({**load_file(str(head_dir / "model.safetensors")),
               "projector.weight": torch.zeros(2, 2)}, str(extra / "model.safetensors"),
              metadata={"format": "pt"})
    with pytest.raises(BadCheckpoint, match="holds 'projector.weight'"):
        load_hf(extra)
    with pytest.raises(BadCheckpoint, match="pooling_mode 'attentive' is not one of"):
        load_hf(_copy(head_dir, tmp_path / "pool", pooling_mode="attentive"))

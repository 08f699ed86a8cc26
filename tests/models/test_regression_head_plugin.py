"""The example plugin's custom wav2vec2 regression head (mean-pooled hidden states -> dense ->
tanh -> out_proj, 3 outputs), loaded from a local directory offline as a bsx.Model.

Known answers: the loaded model's outputs equal the head computed by hand from the saved
weights (mean of Wav2Vec2Model's hidden states, then the two linear layers); each dimension
is explained by the gradient of its own output; a directory whose weights miss the head is
refused in one sentence, never run with a random head."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.errors import BadCheckpoint

ROOT = Path(__file__).resolve().parents[2]
SR = 16000


def _plugin():  # type: ignore[no-untyped-def]
    """The module from this checkout (the installed bsx-example may be another checkout's)."""
    path = ROOT / "plugins" / "bsx-example" / "src" / "bsx_example" / "regression_head.py"
    spec = importlib.util.spec_from_file_location("bsx_example_regression_head", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import Wav2Vec2Config

    rh = _plugin()
    cfg = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, conv_dim=(8, 8), conv_stride=(5, 4),
                         conv_kernel=(10, 4), num_conv_pos_embeddings=4,
                         num_conv_pos_embedding_groups=2, num_labels=3, final_dropout=0.1)
    torch.manual_seed(3)
    return rh.save_speech_regressor(rh.SpeechRegressor(cfg), tmp_path_factory.mktemp("head"))


def _wave(seed: int = 0) -> np.ndarray:
    t = np.arange(SR) / SR
    rng = np.random.default_rng(seed)
    return (0.3 * np.sin(2 * np.pi * 150 * t) * (t > 0.5) + 0.01 * rng.normal(size=SR)
            ).astype(np.float32)


def test_head_loads_offline_and_computes_the_documented_head(head_dir: Path) -> None:
    from safetensors.torch import load_file
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    model = _plugin().load_speech_regressor(head_dir)
    assert model.task == "regression" and model.labels == ("arousal", "dominance", "valence")
    loaded = model.loaded("cpu")
    assert loaded.meta["task"] == "regression"
    x = torch.from_numpy(_wave())[None]
    with torch.no_grad():
        got = loaded.net(x)[0].numpy()
    # by hand: the encoder on the normalised input, the time mean, dense, tanh, out_proj
    w = load_file(str(head_dir / "model.safetensors"))
    enc = Wav2Vec2Model(Wav2Vec2Config.from_pretrained(head_dir)).eval()
    enc.load_state_dict({k[len("wav2vec2."):]: v for k, v in w.items()
                         if k.startswith("wav2vec2.")}, strict=False)
    xn = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
    with torch.no_grad():
        h = enc(xn)[0].mean(dim=1)
        h = torch.tanh(h @ w["classifier.dense.weight"].T + w["classifier.dense.bias"])
        want = (h @ w["classifier.out_proj.weight"].T + w["classifier.out_proj.bias"])[0]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-5)


def test_each_dimension_is_explained_with_windows_in_the_file(head_dir: Path) -> None:
    import bsx

    model = _plugin().load_speech_regressor(head_dir)
    wins = {}
    for i, dim in enumerate(model.labels):
        e = bsx.explain(model, _wave(), SR, method="saliency", target=dim, cues=None)
        assert e.task == "regression" and e.target == i and e.predicted is None
        assert set(e.prediction) == set(model.labels)
        assert e.windows and all(0.0 <= a < b <= 1.0 + 1e-6 for a, b in e.windows)
        wins[dim] = tuple(e.windows)
    assert len(set(wins.values())) > 1  # three outputs, not one map three times


def test_a_directory_without_the_head_is_refused(head_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    rh = _plugin()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((head_dir / "config.json").read_text())
    w = {k: v for k, v in load_file(str(head_dir / "model.safetensors")).items()
         if not k.startswith("classifier.")}
    save_file(w, str(broken / "model.safetensors"))
    with pytest.raises(BadCheckpoint, match="lacks 'classifier.dense.bias'"):
        rh.load_speech_regressor(broken)
    with pytest.raises(BadCheckpoint, match="no config.json"):
        rh.load_speech_regressor(tmp_path / "nothing")

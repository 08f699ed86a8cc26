"""HuggingFace waveform classifiers: tiny wav2vec2 / HuBERT / WavLM built from configs offline,
written with save_pretrained and read back through load_hf."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.errors import BadCheckpoint, BsxError
from bsx.models.hf import build_config, load_hf, new_classifier, save_hf
from bsx.models.hf_config import DEFAULT_WAVEFORM_MODEL_DIR, emotion_labels, hf_frontend

TYPES = ("wav2vec2", "hubert", "wavlm")
LABELS = ("angry", "happy", "sad")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for kind in TYPES:
        d = tmp_path_factory.mktemp(kind)
        save_hf(new_classifier(build_config(kind, ["ang", "hap", "sad"]), seed=1), d)
        out[kind] = d
    return out


def _waves(n: int = 2, length: int = 8000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn((n, length), generator=g) + 0.03  # an offset normalising removes


@pytest.mark.parametrize("kind", TYPES)
def test_logits_equal_transformers_on_the_feature_extractors_input(saved, kind):
    from transformers import AutoModelForAudioClassification, Wav2Vec2FeatureExtractor

    net, labels, fe = load_hf(saved[kind])
    x = _waves()
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(saved[kind])
    inputs = extractor(list(x.numpy()), sampling_rate=16000, return_tensors="pt")
    ref = AutoModelForAudioClassification.from_pretrained(saved[kind]).eval()
    with torch.no_grad():
        want = ref(inputs["input_values"]).logits
        got = net(x)
    assert labels == LABELS  # ang/hap/sad mapped to the shared vocabulary
    assert type(net).input_kind == "waveform"
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert (fe.name, fe.input, fe.keep, fe.hop_length, fe.sample_rate, fe.n_mels) == (
        f"hf-{kind}", "waveform", "whole", 320, 16000, 1)
    assert fe.n_samples == 20 * 16000


def test_normalisation_is_inside_forward_so_gain_does_not_change_logits(saved):
    net, _, _ = load_hf(saved["wav2vec2"])
    x = _waves()
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(3.0 * x), rtol=1e-4, atol=1e-5)
    x.requires_grad_(True)
    net(x)[:, 0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # gradients reach the raw samples


def test_a_pytorch_bin_loads_with_weights_only(saved, tmp_path):
    from safetensors.torch import load_file

    d = tmp_path / "bin"
    d.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (d / name).write_text((saved["hubert"] / name).read_text())
    torch.save(load_file(saved["hubert"] / "model.safetensors"), d / "pytorch_model.bin")
    a, _, _ = load_hf(saved["hubert"])
    b, _, _ = load_hf(d)
    with torch.no_grad():
        torch.testing.assert_close(a(_waves()), b(_waves()))


def test_loading_is_offline_and_leaves_the_environment_as_found(saved, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    seen = {}
    import transformers

    real = transformers.AutoModelForAudioClassification.from_pretrained

    def spy(*args, **kwargs):
        seen["offline"] = os.environ.get("HF_HUB_OFFLINE")
        seen["local"] = kwargs.get("local_files_only")
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForAudioClassification, "from_pretrained", spy)
    load_hf(saved["wavlm"])
    assert seen == {"offline": "1", "local": True}
    assert "HF_HUB_OFFLINE" not in os.environ


def test_labels_are_mapped_or_refused_by_name():
    assert emotion_labels({"0": "neu", "1": "Anger", "2": "sadness"}) == (
        "neutral", "angry", "sad")
    with pytest.raises(BadCheckpoint, match=r"labels 'LABEL_1', 'calmish' are not emotions"):
        emotion_labels({"0": "angry", "1": "LABEL_1", "2": "calmish"})
    assert emotion_labels({"0": "boredom"}) == ("boredom",)  # EmoDB's seventh class
    with pytest.raises(BadCheckpoint, match="same emotion twice"):
        emotion_labels({"0": "ang", "1": "angry"})


def test_unknown_labels_fail_at_load_unless_given(tmp_path):
    d = tmp_path / "m"
    save_hf(new_classifier(build_config("wav2vec2", ["LABEL_0", "calmish"])), d)
    with pytest.raises(BadCheckpoint, match=r"'LABEL_0', 'calmish' are not emotions bsx knows"):
        load_hf(d)
    _, labels, _ = load_hf(d, labels="neutral,calm")
    assert labels == ("neutral", "calm")
    with pytest.raises(BadCheckpoint, match="has 2 classes but 3 labels"):
        load_hf(d, labels=["a", "b", "c"])


def test_a_checkpoint_without_a_classifier_head_is_refused(tmp_path):
    from transformers import Wav2Vec2Model

    d = tmp_path / "base"
    Wav2Vec2Model(build_config("wav2vec2", LABELS)).save_pretrained(d)
    (d / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000}))
    with pytest.raises(BadCheckpoint, match=r"lacks \d+ weight\(s\) of an audio classifier"):
        load_hf(d)


def test_bad_directories_are_one_sentence(tmp_path, saved):
    with pytest.raises(BadCheckpoint, match="not a directory"):
        load_hf(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadCheckpoint, match=r"config.json: missing"):
        load_hf(tmp_path / "empty")
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(BadCheckpoint, match="model_type 'bert' is not supported"):
        load_hf(bert)
    noweights = tmp_path / "noweights"
    noweights.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (noweights / name).write_text((saved["wav2vec2"] / name).read_text())
    with pytest.raises(BadCheckpoint, match="holds no weights"):
        load_hf(noweights)


def test_a_too_short_waveform_is_a_clear_error(saved):
    net, _, _ = load_hf(saved["wav2vec2"])
    with pytest.raises(BsxError, match="shorter than this model's receptive field"):
        net(torch.zeros(1, 100))
    with pytest.raises(BsxError, match=r"takes a \(B, N\) batch"):
        net(torch.zeros(1, 1, 8000))


def test_bsx_json_overrides_front_end_fields(saved, tmp_path):
    d = tmp_path / "m"
    save_hf(load_hf(saved["wav2vec2"])[0], d, frontend={"trim": "top-db", "trim_db": 40.0})
    fe = hf_frontend(d)
    assert (fe.trim, fe.trim_db, fe.input) == ("top-db", 40.0, "waveform")


def test_the_model_spec_builds_from_a_directory(saved):
    from bsx.plugins import build

    net = build("model", "hf", 3, options={"checkpoint": str(saved["wavlm"])})
    assert net.input_kind == "waveform"
    with pytest.raises(BadCheckpoint, match="has 3 classes"):
        build("model", "hf", 5, options={"checkpoint": str(saved["wavlm"])})


def test_the_packaged_waveform_model_loads_offline():
    files = {p.name for p in DEFAULT_WAVEFORM_MODEL_DIR.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= files
    size = sum(p.stat().st_size for p in DEFAULT_WAVEFORM_MODEL_DIR.iterdir())
    assert size < 3 * 2**20
    net, labels, fe = load_hf(None)
    assert labels == ("angry", "fear", "happy", "neutral", "sad")
    assert (fe.input, fe.keep, fe.hop_length) == ("waveform", "whole", 320)
    with torch.no_grad():
        out = net(torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, (1, 16000))).float())
    assert out.shape == (1, 5) and torch.isfinite(out).all()


def test_load_model_takes_a_save_pretrained_directory(saved):
    from bsx.audio import Frontend
    from bsx.models.checkpoint import load_model

    loaded = load_model(saved["hubert"], model="hf")
    assert (loaded.model_name, loaded.labels, loaded.frontend.input) == (
        "hf", LABELS, "waveform")
    assert load_model(saved["hubert"]).model_name == "hf"  # a directory needs no --model
    with pytest.raises(BadCheckpoint, match="consumes waveform input but front-end 'paper'"):
        load_model(saved["hubert"], frontend="paper")
    with pytest.warns(UserWarning, match="'x' was given"):
        other = Frontend(name="x", input="waveform", keep="whole", n_samples=16000,
                         hop_length=320, n_mels=1)
        assert load_model(saved["hubert"], frontend=other).frontend.n_samples == 16000
    assert load_model(None, model="hf").labels == (
        "angry", "fear", "happy", "neutral", "sad")

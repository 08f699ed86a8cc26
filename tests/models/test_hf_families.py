"""Every supported HF audio classifier family, as a user's save_pretrained directory: tiny
Data2VecAudio, UniSpeechSat, AST and Whisper classifiers built from configs offline, read back
through load_hf, checked against transformers on its own feature extractor's input, and
explained by `bsx explain --method saliency` with windows inside the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bsx.audio import prepare_waveform
from bsx.evaluation.attribute import attribute, clip_logits, stack_units
from bsx.models.hf import build_config, load_hf, new_classifier, save_hf
from bsx.models.hf_config import hf_frontend
from bsx.plugins import build
from bsx.windows import Window, padding_share

WAVEFORM = ("data2vec-audio", "unispeech-sat")
AST, WHISPER = "audio-spectrogram-transformer", "whisper"
FAMILIES = (*WAVEFORM, AST, WHISPER)
SR = 16000


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for kind in FAMILIES:
        d = tmp_path_factory.mktemp(kind)
        save_hf(new_classifier(build_config(kind, ["ang", "hap", "sad"]), seed=1), d)
        out[kind] = d
    return out


def _speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced, amplitude-modulated tone with noise: no silence for the trim rule to cut."""
    t = np.arange(int(seconds * SR)) / SR
    g = np.random.default_rng(seed)
    y = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (y + 0.01 * g.standard_normal(t.size)).astype(np.float32)


def _logits(d: Path, y: np.ndarray) -> tuple[torch.Tensor, object]:
    net, _, fe = load_hf(d)
    prep = prepare_waveform(y, fe.model_copy(update={"trim": "none"}))
    return clip_logits(net, stack_units([prep], torch.device("cpu"))), prep


@pytest.mark.parametrize("kind", FAMILIES)
def test_logits_equal_transformers_on_its_own_feature_extractors_input(saved, kind):
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    y = _speech_like(1.3)
    got, _ = _logits(saved[kind], y)
    extractor = AutoFeatureExtractor.from_pretrained(saved[kind])
    ref = AutoModelForAudioClassification.from_pretrained(saved[kind]).eval()
    with torch.no_grad():
        if kind == WHISPER:  # pads the clip to its 30 s window itself
            want = ref(**extractor(y, sampling_rate=SR, return_tensors="pt")).logits
        elif kind == AST:  # bsx centres frame f at f * 10 ms: half a window of zeros each side
            x = extractor(np.pad(y, (200, 200)), sampling_rate=SR, return_tensors="pt")
            want = ref(**x).logits
        else:
            want = ref(**extractor(y, sampling_rate=SR, return_tensors="pt")).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_front_ends_declare_each_familys_input_kind(saved):
    fes = {k: hf_frontend(saved[k]) for k in FAMILIES}
    for k in WAVEFORM:
        assert (fes[k].input, fes[k].features, fes[k].hop_length) == ("waveform", "librosa", 320)
    ast, wh = fes[AST], fes[WHISPER]
    # AST: 64 mel bins x 200 frames of 10 ms; one unit is its fixed window on bsx's grid
    assert (ast.input, ast.features, ast.n_mels, ast.hop_length) == ("logmel", "ast-fbank", 64, 160)
    assert ast.n_frames == 200 and ast.n_samples == 199 * 160
    # Whisper: 80 mel bins, the released 30 s window (3000 frames + the one bsx keeps)
    assert (wh.input, wh.features, wh.n_mels, wh.n_samples) == (
        "logmel",
        "whisper-logmel",
        80,
        30 * SR,
    )
    for k in FAMILIES:
        assert build("model", "hf", 3, options={"checkpoint": str(saved[k])}).input_kind == (
            fes[k].input
        )


def test_ast_pads_short_content_in_the_filterbank_as_its_extractor_does(saved):
    from transformers import AutoFeatureExtractor

    y = _speech_like(0.8)
    _, prep = _logits(saved[AST], y)
    ext = AutoFeatureExtractor.from_pretrained(saved[AST])
    want = ext(np.pad(y, (200, 200)), sampling_rate=SR, return_tensors="np")["input_values"][0]
    got = (prep.logmel - ext.mean) / (2 * ext.std)
    assert got.shape == (64, 200)
    np.testing.assert_allclose(got.T, want, atol=1e-5)
    assert np.all(prep.logmel[:, 1 + len(y) // 160 :] == 0.0)  # the pad, as the extractor's


def test_a_clip_longer_than_the_ast_window_is_chunked_and_stitched(saved):
    net, _, fe = load_hf(saved[AST])
    y = _speech_like(5.0)
    prep = prepare_waveform(y, fe.model_copy(update={"trim": "none"}))
    assert len(prep.unit_starts) > 1 and prep.logmel.shape[1:] == (64, 200)
    units = stack_units([prep], torch.device("cpu"))
    method = build("method", "saliency", net)
    rel = attribute(method, units, np.array([0]), [prep]).clips[0]
    assert rel.shape == (64, 1 + prep.waveform.size // 160)
    # 16-frame patches every 10 frames never see a window's last 4 frames; the next unit
    # (half a window later) does, so every content frame has relevance and the pad none
    n = 1 + len(y) // 160
    assert (rel[:, :n].sum(axis=0) > 0).all() and not rel[:, n:].any()


def test_whisper_padding_gets_no_relevance_so_windows_stay_in_the_clip(saved):
    net, _, fe = load_hf(saved[WHISPER])
    y = _speech_like(1.5)
    prep = prepare_waveform(y, fe.model_copy(update={"trim": "none"}))
    assert prep.waveform.size == 30 * SR and prep.content_s == pytest.approx(1.5)
    units = stack_units([prep], torch.device("cpu"))
    rel = attribute(build("method", "saliency", net), units, np.array([1]), [prep]).clips[0]
    n = 1 + len(y) // 160  # frames holding content samples (relevance.to_grid's rule)
    assert rel.shape == (80, 3001)
    assert rel[:, :n].sum() > 0 and not rel[:, n:].any()


def _wav(path: Path, seconds: float = 1.5) -> Path:
    y = np.concatenate([np.zeros(SR // 2), _speech_like(seconds), np.zeros(SR // 2)])
    sf.write(path, y.astype(np.float32), SR)
    return path


def assert_windows_in_file(e: dict, duration: float) -> None:
    assert e["windows_original"]
    for m, w in zip(e["windows_model"], e["windows_original"], strict=True):
        assert 0.0 <= w["start_s"] < w["end_s"] <= duration
        assert padding_share(Window(**m), Window(**w)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("kind", FAMILIES)
def test_bsx_explain_saliency_gives_windows_inside_the_file(saved, kind, tmp_path, explain_json):
    wav = _wav(tmp_path / "clip.wav")
    e = explain_json(wav, saved[kind], tmp_path / "out")
    assert e["labels"] == ["angry", "happy", "sad"] and len(e["probabilities"]) == 3
    assert_windows_in_file(e, 2.5)


def test_an_unsupported_family_is_refused_before_torch_is_imported(tmp_path):
    d = tmp_path / "sew"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "sew-d"}))
    wav = _wav(tmp_path / "clip.wav")
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['bsx', 'explain', {str(wav)!r}, '--checkpoint', {str(d)!r}, "
        "'--method', 'saliency']\n"
        "try:\n    runpy.run_module('bsx.cli', run_name='__main__')\n"
        "except SystemExit as e:\n    print('exit', e.code)\n"
        "print('heavy', 'torch' in sys.modules or 'transformers' in sys.modules)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={
            "COLUMNS": "300",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).parents[2] / "src"),
        },
    )
    assert res.stdout.split() == ["exit", "2", "heavy", "False"], res.stderr
    assert "model_type 'sew-d' is not supported" in res.stderr
    assert "audio-spectrogram-transformer, whisper" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("method", ["integrated-gradients", "occlusion-time", "gradcam", "crp"])
def test_log_mel_methods_explain_ast_inside_the_content(saved, method):
    net, _, fe = load_hf(saved[AST])
    y = _speech_like(1.2)
    prep = prepare_waveform(y, fe.model_copy(update={"trim": "none"}))
    units = stack_units([prep], torch.device("cpu"))
    rel = attribute(build("method", method, net), units, np.array([2]), [prep]).clips[0]
    n = 1 + len(y) // 160
    assert rel.shape == (64, 200) and np.isfinite(rel).all()
    assert np.abs(rel[:, :n]).sum() > 0 and not rel[:, n:].any()


def test_methods_that_do_not_apply_are_one_sentence(saved):
    from bsx.errors import BsxError

    whisper, _, _ = load_hf(saved[WHISPER])
    with pytest.raises(BsxError, match="no Conv2d layer for Grad-CAM"):
        build("method", "gradcam", whisper).attribute(
            torch.zeros(1, 1, 80, 3001), torch.tensor([0])
        )
    ast, _, _ = load_hf(saved[AST])
    with pytest.raises(BsxError, match="method 'attnlrp' explains waveform models"):
        build("method", "attnlrp", ast)

"""Long recordings: explained in streamed units (bsx.streaming), short files as before.

The short-clip baseline (tests/data/short_explain_baseline.json) was recorded with the
in-memory path before streaming existed: a short file must keep giving those windows and
that relevance. A modest long file (75 s) must take the streamed path and agree with the
in-memory path, the independent truth, on the same audio.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bsx.audio import get_frontend
from bsx.explanation import explain_file
from bsx.models.checkpoint import load_model, save_checkpoint
from bsx.models.resnet_small import ResNetSmall

SR = 16000
BASELINE = Path(__file__).parent / "data" / "short_explain_baseline.json"


def voiced(seconds: float, rng: np.random.Generator, f0: float = 190.0) -> np.ndarray:
    """A tone with a slow amplitude wobble and a little noise: speech-like enough to trim."""
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2.5 * t))
    return y + 0.01 * rng.standard_normal(t.size)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(
        tmp_path_factory.mktemp("long") / "model.pt",
        ResNetSmall(3).eval(),
        model_name="resnet-small",
        model_options={},
        labels=("calm", "happy", "sad"),
        frontend=get_frontend("paper"),
        dataset="test",
        split={},
        metrics={},
        epoch=0,
    )


@pytest.mark.parametrize("keep", ["first-interval", "whole"])
def test_a_short_file_explains_as_before_streaming(ckpt: Path, tmp_path: Path, keep: str) -> None:
    rng = np.random.default_rng(7)
    y = np.concatenate([np.zeros(int(0.6 * SR)), voiced(3.1, rng), np.zeros(int(0.7 * SR))])
    wav = tmp_path / "short.wav"
    sf.write(wav, y.astype(np.float32), SR)
    with pytest.warns(UserWarning) if keep == "first-interval" else nullcontext():
        e = explain_file(wav, "gradcam", load_model(ckpt), out=tmp_path / "out", keep=keep)
    want = json.loads(BASELINE.read_text())[keep]
    got = [[w.start_frame, w.end_frame, w.start_s, w.end_s, w.weight] for w in e.windows_original]
    assert [g[:2] for g in got] == [w[:2] for w in want["windows"]]
    np.testing.assert_allclose(
        [g[2:] for g in got], [w[2:] for w in want["windows"]], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(e.probabilities, want["probabilities"], rtol=1e-5)
    r = np.asarray(e.relevance, dtype=np.float64)
    assert list(r.shape) == want["shape"]
    np.testing.assert_allclose(r.sum(axis=0), want["frames"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(r.sum(axis=1), want["bands"], rtol=1e-4, atol=1e-6)
    assert "relevance" not in e.files and not isinstance(e.relevance, np.memmap)

"""The paper's checkpoints load into resnet-small and give the logits of an independent
re-implementation: the front-end written out with librosa calls and the forward pass written
out with torch.nn.functional ops straight from the state dict (no bsx code on that side).
"""

from __future__ import annotations

import os
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

from bsx.audio import prepare
from bsx.models.checkpoint import load_model

ROOT = os.environ.get("BSX_PAPER_CHECKPOINTS")
pytestmark = pytest.mark.skipif(
    not ROOT, reason="BSX_PAPER_CHECKPOINTS is unset (folder with the paper's .pth files)"
)

# file, label preset, front-end preset, sample rate, content that the trim keeps
CASES = [
    ("best_model_tess.pth", "paper7", "paper", 16000, "steady"),
    ("best_model_tess.pth", "paper7", "paper-tess-train", 16000, "gapped"),
    ("best_model_crema.pth", "paper7", "paper-crema-train", 16000, "steady"),
    ("random_weights.pth", "paper7", "paper", 16000, "steady"),
    ("best_model_rav.pth", "ravdess8", "paper-ravdess-train", 24000, "gapped"),
]

WIDTH = {"paper": 134, "paper-crema-train": 201, "paper-tess-train": 126,
         "paper-ravdess-train": 235}


def voice(sr: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A vowel-like harmonic tone with vibrato and a little noise, amplitude about 0.3."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f0 = 180 + 20 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 9))
    y = 0.3 * y / np.abs(y).max() * (0.8 + 0.2 * np.sin(2 * np.pi * 3 * t))
    return (y + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def signal(kind: str, sr: int) -> np.ndarray:
    """'steady': 1.5 s with no silence (no trim rule cuts it); 'gapped': digital silence
    around 1.2 s of voice, which librosa.effects.trim(top_db=55) removes."""
    if kind == "steady":
        return voice(sr, 1.5)
    z = np.zeros(int(0.3 * sr), np.float32)
    return np.concatenate([z, voice(sr, 1.2), z, z])


def reference_logmel(y: np.ndarray, fe: str, sr: int) -> np.ndarray:
    """The front-ends of /work/shared/reference/README.md, written out."""
    if fe == "paper":  # no silence to trim; pad/cut at the end to 2 s
        y = np.pad(y, (0, 32000 - len(y)))
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, win_length=480,
                                             hop_length=240, n_mels=128)
    elif fe == "paper-crema-train":  # 48000 samples, passed to librosa as if 24 kHz
        y = np.pad(y, (0, 48000 - len(y)))
        mel = librosa.feature.melspectrogram(y=y, sr=24000, n_fft=1024, win_length=480,
                                             hop_length=240, n_mels=128)
    elif fe == "paper-tess-train":  # trim top_db 55, centre in 4 s, win = hop = 512
        y, _ = librosa.effects.trim(y, top_db=55)
        left = (64000 - len(y)) // 2
        y = np.pad(y, (left, 64000 - len(y) - left))
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, win_length=512,
                                             hop_length=512, n_mels=128)
    else:  # paper-ravdess-train: 24 kHz, trim top_db 55, centre in 5 s, win 480, hop 512
        y, _ = librosa.effects.trim(y, top_db=55)
        left = (120000 - len(y)) // 2
        y = np.pad(y, (left, 120000 - len(y) - left))
        mel = librosa.feature.melspectrogram(y=y, sr=24000, n_fft=1024, win_length=480,
                                             hop_length=512, n_mels=128)
    return librosa.power_to_db(mel, ref=np.max).astype(np.float32)


def reference_forward(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """ResNetSmall in functional ops, from the README's description of the network."""

    def bn(h: torch.Tensor, p: str) -> torch.Tensor:
        return F.batch_norm(h, sd[f"{p}.running_mean"], sd[f"{p}.running_var"],
                            sd[f"{p}.weight"], sd[f"{p}.bias"], False, 0.0, 1e-5)

    def block(h: torch.Tensor, p: str, stride: int) -> torch.Tensor:
        out = F.relu(bn(F.conv2d(h, sd[f"{p}.conv1.weight"], stride=stride, padding=1),
                        f"{p}.bn1"))
        out = bn(F.conv2d(out, sd[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
        sc = F.conv2d(h, sd[f"{p}.shortcut.weight"], stride=stride)
        return F.relu(out + sc)

    h = F.relu(bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), "bn1"))
    h = F.max_pool2d(h, 3, stride=2, padding=1)
    h = block(block(h, "layer1", 1), "layer2", 2)
    return F.linear(h.mean(dim=(2, 3)), sd["fc.weight"], sd["fc.bias"])


@pytest.mark.parametrize(("file", "labels", "fe", "sr", "kind"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_same_logits_as_an_independent_implementation(
    tmp_path: Path, file: str, labels: str, fe: str, sr: int, kind: str
) -> None:
    path = Path(ROOT or "") / file
    wav = tmp_path / "voice.wav"
    sf.write(wav, signal(kind, sr), sr, subtype="FLOAT")

    model = load_model(path, label_preset=labels, frontend=fe)
    prep = prepare(wav, model.frontend)
    with torch.no_grad():
        ours = model.net(torch.from_numpy(prep.logmel)[None, None])

    y, _ = sf.read(wav, dtype="float32")
    ref_mel = reference_logmel(y, fe, sr)
    assert ref_mel.shape == (128, WIDTH[fe])
    np.testing.assert_allclose(prep.logmel, ref_mel, atol=1e-3)
    sd = torch.load(path, map_location="cpu", weights_only=True)
    with torch.no_grad():
        ref = reference_forward(sd, torch.from_numpy(ref_mel)[None, None])
    assert ours.shape == (1, len(model.labels)) == ref.shape
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
    # the comparison has teeth: shifting the spectrogram in time moves the logits
    with torch.no_grad():
        moved = reference_forward(sd, torch.from_numpy(np.roll(ref_mel, 20, axis=1))[None, None])
    assert (moved - ref).abs().max() > 1e-3

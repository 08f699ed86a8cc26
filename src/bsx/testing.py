"""Tiny fixed networks whose correct explanation is known by construction.

Reusable by plugin authors and by bsx's own tests: a method that explains `SpotNet(frames=
(40, 60))` must put its relevance on frames 40-59, because no other input cell can change
the logits. Every layer is a standard module (Conv2d, ReLU, pooling, Linear) or a fixed mask,
so Captum, zennit and zennit-crp all run on it, and `cam_layer` names a spatial layer whose
activations are themselves confined to the spot (so Grad-CAM can localise it too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

FLOOR_DB = -80.0


class SpotMask(nn.Module):
    """Multiplies by a fixed 0/1 mask over (mel, frame): cells outside the spot become 0."""

    mask: Tensor

    def __init__(self, n_mels: int, n_frames: int, mels: tuple[int, int],
                 frames: tuple[int, int]) -> None:
        super().__init__()
        mask = torch.zeros(1, 1, n_mels, n_frames)
        mask[..., mels[0]:mels[1], frames[0]:frames[1]] = 1.0
        self.register_buffer("mask", mask)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.mask


class SpotNet(nn.Module):
    """A 2-class net that only sees the spot mels[0]:mels[1] x frames[0]:frames[1].

    energy = mean over the spot of relu(x + 80) (dB above the floor, >= 0 for any ref=max
    log-mel); logits = (-energy / 10, +energy / 10). Class 1 ("loud spot") grows with the
    spot's level and nothing else; class 0 is its mirror. Input (B, 1, n_mels, n_frames).
    """

    cam_layer = "spot"

    def __init__(self, frames: tuple[int, int] = (40, 60), mels: tuple[int, int] | None = None,
                 n_mels: int = 128, n_frames: int = 134) -> None:
        super().__init__()
        mels = mels or (0, n_mels)
        self.frames, self.mels = frames, mels
        self.lift = nn.Conv2d(1, 1, 1)  # x + 80: dB above the floor
        self.relu = nn.ReLU()
        self.spot = SpotMask(n_mels, n_frames, mels, frames)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1, 2)
        area = (mels[1] - mels[0]) * (frames[1] - frames[0])
        with torch.no_grad():
            self.lift.weight.fill_(1.0)
            assert self.lift.bias is not None
            self.lift.bias.fill_(-FLOOR_DB)
            # the pool averages over the whole map; rescale to the mean over the spot
            scale = n_mels * n_frames / area / 10.0
            self.fc.weight.copy_(torch.tensor([[-scale], [scale]]))
            self.fc.bias.zero_()
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        h = self.spot(self.relu(self.lift(x)))
        return self.fc(torch.flatten(self.pool(h), 1))


def spot_batch(n: int = 4, n_mels: int = 128, n_frames: int = 134, seed: int = 0) -> Tensor:
    """(n, 1, n_mels, n_frames) random log-mels in [-70, -10] dB: levels a model can use."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 1, n_mels, n_frames), generator=g) * 60.0 - 70.0


def frame_coverage(mask: np.ndarray, frames: tuple[int, int]) -> float:
    """Share of the frames frames[0]:frames[1] that a (n_mels, T) bool mask marks anywhere."""
    cols = np.asarray(np.asarray(mask).any(axis=0))
    return float(cols[frames[0]:frames[1]].mean())


class SpanWaveNet(nn.Module):
    """A 2-class waveform model (input_kind "waveform") that only hears samples
    span[0]:span[1]: energy = mean of x^2 over the span; logits = (-energy, +energy) * gain.

    Any method that explains it must leave the samples outside the span at zero relevance
    (gradients vanish there; occluding them changes nothing). Input (B, N), N > span[1].
    """

    input_kind = "waveform"
    token_stride = 320

    def __init__(self, span: tuple[int, int] = (8000, 12000), gain: float = 100.0,
                 sample_rate: int = 16000) -> None:
        super().__init__()
        self.span, self.gain, self.sample_rate = span, gain, sample_rate
        self.head = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor([[-gain], [gain]]))
        self.eval()

    def forward(self, x: Tensor) -> Tensor:
        seg = x[:, self.span[0]:self.span[1]]
        return self.head((seg * seg).mean(dim=1, keepdim=True))


def saved_resnet(path: Path, labels: tuple[str, ...] = ("calm", "happy", "sad"), *,
                 seed: int = 0, frontend: str = "paper") -> Path:
    """An untrained ResNetSmall saved with its sidecar (`path`, a .pt): a user's checkpoint
    for tests of loading and explaining, whose weights are fixed by `seed`."""
    from bsx.audio import get_frontend
    from bsx.models.checkpoint import CheckpointInfo, save_checkpoint
    from bsx.models.resnet_small import ResNetSmall

    torch.manual_seed(seed)
    return save_checkpoint(path, ResNetSmall(len(labels)).eval(), CheckpointInfo(
        model_name="resnet-small", model_options={}, labels=labels,
        frontend=get_frontend(frontend), dataset="test", split={}, metrics={}, epoch=0))

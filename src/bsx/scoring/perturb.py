"""Perturbation baselines and masks that make sense for dB log-mel spectrograms.

Quantus' defaults ("black" = 0, U(0, 1) noise, square pixel patches) are image conventions.
On a power_to_db(ref=max, top_db=80) spectrogram, 0 dB is the clip's LOUDEST bin, so a
"black" patch is a burst of full-scale sound, not a removal. Here a removed region becomes:

- "silence": the clip's dB floor (its minimum, -80 dB relative under top_db=80), i.e. what
  the front-end produces for digital silence;
- "noise": the dB spectrogram of white noise at `snr_db` below the clip's mean power, through
  the same mel filterbank, floored like the clip: a removal that stays in distribution for
  models trained on noisy speech.

Regions are whole time frames across all mel bands (what a time window of audio is), or
time x band tiles; `FrameGate` lets Quantus perturb such frames while it believes it is
perturbing pixels of a (B, 1, 1, T) "image".

Only content is removed: given each clip's content frames, FrameGate never replaces a
padding frame and ContentGuard undoes any change a metric makes there (ROAD imputes pixels
itself), so removing "padding" is a no-op and no score rewards a map for avoiding the silence
the front-end added (docs/controls.md).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from bsx.audio import PRESETS, Frontend

Baseline = Literal["silence", "noise"]


def silence_baseline(x: np.ndarray) -> np.ndarray:
    """(B, 1, 128, T) -> same shape, each clip filled with its own dB floor (its minimum)."""
    x = np.asarray(x)
    floor = x.reshape(len(x), -1).min(axis=1)
    return np.broadcast_to(floor[:, None, None, None], x.shape).astype(x.dtype).copy()


def noise_mel_power(n_mels: int, n_frames: int, fe: Frontend | None = None,
                    seed: int = 0) -> np.ndarray:
    """(n_mels, n_frames) mel POWER of unit-variance white noise through the front-end's
    filterbank (n_frames = 1 + n_samples // hop, as the front-end centres frames)."""
    import librosa

    fe = fe or PRESETS["paper"]
    n_samples = max(1, (n_frames - 1) * fe.hop_length)
    y = np.random.default_rng(seed).standard_normal(n_samples).astype(np.float32)
    mel = librosa.feature.melspectrogram(
        y=y, sr=fe.mel_sr or fe.sample_rate, n_fft=fe.n_fft, win_length=fe.win_length,
        hop_length=fe.hop_length, n_mels=n_mels,
    )
    return mel[:, :n_frames]


def noise_baseline(x: np.ndarray, snr_db: float = 20.0, fe: Frontend | None = None,
                   seed: int = 0) -> np.ndarray:
    """(B, 1, 128, T) dB log-mels -> the dB log-mel of white noise `snr_db` below each clip.

    Each clip's dB values are relative to its own max (ref=max), so its linear power is
    10**(x/10) in those units; the noise is scaled to mean power = clip mean power /
    10**(snr_db/10), converted with the same reference and floored at the clip's minimum.
    """
    x = np.asarray(x)
    b, _, n_mels, t = x.shape
    noise = noise_mel_power(n_mels, t, fe, seed).astype(np.float64)
    noise = noise / noise.mean()
    flat = x.reshape(b, -1).astype(np.float64)
    clip_power = np.mean(10.0 ** (flat / 10.0), axis=1)
    target = clip_power / 10.0 ** (snr_db / 10.0)
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(noise[None] * target[:, None, None])
    floor = flat.min(axis=1)
    db = np.maximum(db, floor[:, None, None])
    return db[:, None].astype(x.dtype)


def make_baseline(x: np.ndarray, kind: Baseline, *, snr_db: float = 20.0,
                  fe: Frontend | None = None, seed: int = 0) -> np.ndarray:
    """The per-clip replacement values for removed regions, shaped like x (B, 1, 128, T)."""
    if kind == "silence":
        return silence_baseline(x)
    if kind == "noise":
        return noise_baseline(x, snr_db, fe, seed)
    raise ValueError(f"baseline must be 'silence' or 'noise', not {kind!r}")


def waveform_baseline(x: np.ndarray, kind: Baseline, *, snr_db: float = 20.0,
                      seed: int = 0) -> np.ndarray:
    """(B, N) waveforms -> what removed samples become: "silence" is 0; "noise" is one white
    noise draw (the same for every clip, so a clip's baseline does not depend on its batch)
    scaled to `snr_db` below each clip's mean power."""
    x = np.asarray(x)
    if kind == "silence":
        return np.zeros_like(x)
    if kind == "noise":
        noise = np.random.default_rng(seed).standard_normal((x.shape[1],))
        power = np.asarray(np.mean(x.astype(np.float64) ** 2, axis=1))
        scale = np.sqrt(power / 10.0 ** (snr_db / 10.0)).reshape(-1, 1)
        return (scale * noise[None]).astype(x.dtype)
    raise ValueError(f"baseline must be 'silence' or 'noise', not {kind!r}")


def time_window_mask(n_frames: int, start: int, stop: int, n_mels: int = 128,
                     bands: tuple[int, int] | None = None) -> np.ndarray:
    """(n_mels, n_frames) bool: frames start:stop across all bands, or only bands[0]:bands[1]
    (a time x band tile)."""
    mask = np.zeros((n_mels, n_frames), dtype=bool)
    lo, hi = bands or (0, n_mels)
    mask[lo:hi, start:stop] = True
    return mask


def apply_frame_mask(x: np.ndarray, baseline: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Replace the frames where `frames` (B, T) is True by the baseline, across all bands."""
    keep = ~np.asarray(frames, dtype=bool)[:, None, None, :]
    return np.where(keep, x, baseline)


class FrameGate(nn.Module):
    """A view of `model` whose input is a per-frame gate g (B, 1, 1, T) instead of a log-mel.

    forward(g) = model(g * x + (1 - g) * baseline): g = 1 keeps a frame, g = 0 replaces the
    whole frame (all mel bands) by the clip's baseline. Quantus perturbs g with its plain
    "value 0" baseline, so its pixel and patch logic becomes frame and window logic, with
    per-clip audio baselines. Row i of g must be clip i: callers pass batch_size = B.

    A waveform model's x is (B, N) and each gate frame covers the samples nearest its centre
    (frame f: [f*hop - hop/2, f*hop + hop/2), the time-relevance grid of bsx.relevance).
    """

    x: Tensor
    base: Tensor
    sample_frame: Tensor
    padding: Tensor

    def __init__(self, model: nn.Module, x: Tensor, baseline: Tensor,
                 hop_length: int | None = None, content: Tensor | None = None) -> None:
        super().__init__()
        self.model = model
        self.hop_length = hop_length
        self.register_buffer("x", x)
        self.register_buffer("base", baseline)
        t = x.shape[-1] if x.ndim == 4 else None
        pad = torch.zeros((x.shape[0], 0), dtype=torch.bool)
        if content is not None:  # (B, T) bool content frames: padding frames always kept
            pad = ~content.to(torch.bool)
            if t is not None and pad.shape[-1] != t:
                raise ValueError(f"content has {pad.shape[-1]} frames, x has {t}")
        self.register_buffer("padding", pad)
        frames = torch.zeros(0, dtype=torch.long)
        if x.ndim == 2:
            if hop_length is None:
                raise ValueError("a waveform FrameGate needs the grid's hop_length")
            n = x.shape[1]
            frames = torch.clamp((torch.arange(n) + hop_length // 2) // hop_length,
                                 max=n // hop_length)
        self.register_buffer("sample_frame", frames)

    def rows(self, idx: Tensor) -> FrameGate:
        """The gate of clips `idx` (a clip may repeat: one row per perturbed copy), on the
        same model and device."""
        content = ~self.padding[idx] if self.padding.shape[-1] else None
        view = FrameGate(self.model, self.x[idx], self.base[idx], self.hop_length, content)
        return view.to(self.x.device).eval()

    def forward(self, g: Tensor) -> Tensor:
        if g.shape[0] != self.x.shape[0]:
            raise RuntimeError(
                f"FrameGate got {g.shape[0]} rows for {self.x.shape[0]} clips; "
                "call Quantus with batch_size equal to the number of clips"
            )
        if self.padding.shape[-1]:  # a padding frame is never removed
            flat = g.reshape(g.shape[0], -1)
            g = torch.where(self.padding, torch.ones_like(flat), flat).reshape(g.shape)
        if self.x.ndim == 2:  # waveform: each sample follows its frame's gate
            g = g.to(self.x.dtype).reshape(g.shape[0], -1)[:, self.sample_frame]
        else:
            g = g.to(self.x.dtype).reshape(g.shape[0], 1, 1, -1)
        return self.model(g * self.x + (1.0 - g) * self.base)


class ContentGuard(nn.Module):
    """A view of `model` that puts each clip's padding frames back as they were before
    running it: whatever a metric does to x' there (ROAD's imputation) is undone, so only
    content is perturbed. Row i of x' must be clip i (callers pass batch_size = B).

    x: (B, 1, n_mels, T) log-mels; content: (B, T) bool, True on content frames."""

    x: Tensor
    padding: Tensor

    def __init__(self, model: nn.Module, x: Tensor, content: Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("x", x)
        self.register_buffer("padding", ~content.to(torch.bool)[:, None, None, :])

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] != self.x.shape[0]:
            raise RuntimeError(f"ContentGuard got {x.shape[0]} rows for {self.x.shape[0]} "
                               "clips; call Quantus with batch_size equal to the clips")
        return self.model(torch.where(self.padding, self.x.to(x.dtype), x))


def frame_gate(model: nn.Module, x: np.ndarray, baseline: np.ndarray,
               device: torch.device | str = "cpu", hop_length: int | None = None,
               content: np.ndarray | None = None) -> FrameGate:
    """A FrameGate on `device`, in eval mode; `content`: (B, T) bool content frames (padding
    frames are then never removed), None: every frame may be."""
    gate = FrameGate(model, torch.as_tensor(np.asarray(x, dtype=np.float32)),
                     torch.as_tensor(np.asarray(baseline, dtype=np.float32)), hop_length,
                     None if content is None else torch.as_tensor(np.asarray(content)))
    return gate.to(device).eval()


def content_guard(model: nn.Module, x: np.ndarray, content: np.ndarray,
                  device: torch.device | str = "cpu") -> ContentGuard:
    """A ContentGuard on `device`, in eval mode."""
    guard = ContentGuard(model, torch.as_tensor(np.asarray(x, dtype=np.float32)),
                         torch.as_tensor(np.asarray(content, dtype=bool)))
    return guard.to(device).eval()

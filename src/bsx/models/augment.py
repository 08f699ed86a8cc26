"""Training-time augmentation on precomputed log-mel batches: cheap, seeded, on the device.

The front-end runs once per clip (the spectrogram cache), so augmentation works on the
log-mel in dB (power_to_db with ref=max, floor at -top_db) and never re-runs the front-end:
- noise: mixed in the power domain at a random SNR (the periodogram of Gaussian noise is
  exponential per bin, so noise power = level x Exp(1) per mel bin and frame), then back to dB
  with the same ref=max and top_db floor as the front-end;
- time shift: the unit moves by up to `shift` of its frames, the gap filled with its floor
  (a random crop on top of the random choice of unit, bsx.models.train.fit);
- SpecAugment masking (Park et al. 2019): `freq_masks` bands of up to `freq_width` mel bins
  and `time_masks` spans of up to `time_width` frames set to the unit's mean;
- mel-axis warp (`warp`, a log-mel cousin of vocal-tract-length perturbation, Jaitly &
  Hinton 2013): bin i reads bin i * a by linear interpolation, a uniform in [1 - warp,
  1 + warp] per unit, so a speaker's formants move as another speaker's would;
- mixup (`mixup` = alpha, Zhang et al. 2018): a batch is mixed with a permutation of itself
  by lam ~ Beta(alpha, alpha), and the loss mixes the two labels by the same lam
  (`mix_pairs`, applied by the training loop, which holds the labels).
Gain is NOT augmented: ref=max normalises every unit to 0 dB peak, so a gain change leaves
the log-mel unchanged; level relative to noise is what the noise SNR varies.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor


class AugmentOptions(BaseModel):
    """What `augment_batch` does; `noise_p` 0, `shift` 0 and no masks turn it off."""

    model_config = ConfigDict(extra="forbid")
    noise_p: float = Field(default=0.2, ge=0, le=1)
    snr_db: tuple[float, float] = (20.0, 40.0)
    shift: float = Field(default=0.1, ge=0, lt=1)
    freq_masks: int = Field(default=1, ge=0)
    freq_width: int = Field(default=10, ge=0)
    time_masks: int = Field(default=1, ge=0)
    time_width: int = Field(default=12, ge=0)
    warp: float = Field(default=0.0, ge=0, lt=0.5)
    mixup: float = Field(default=0.0, ge=0)
    top_db: float = 80.0


def _rand(shape: tuple[int, ...], gen: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=gen).to(device)


def add_noise(x: Tensor, snr_db: Tensor, top_db: float, gen: torch.Generator) -> Tensor:
    """(B, 1, M, T) dB -> the same with noise at `snr_db` (B,) below each unit's mean power."""
    p = torch.pow(10.0, x / 10.0)
    level = p.mean(dim=(1, 2, 3), keepdim=True) / torch.pow(10.0, snr_db.view(-1, 1, 1, 1) / 10)
    e = -torch.log1p(-_rand(tuple(x.shape), gen, x.device).clamp(max=1 - 1e-7))  # Exp(1)
    db = 10.0 * torch.log10(p + level * e)
    db = db - db.amax(dim=(1, 2, 3), keepdim=True)
    return db.clamp(min=-top_db)


def time_shift(x: Tensor, shifts: Tensor) -> Tensor:
    """Move each unit by shifts[b] frames (positive: later), filling the gap with its floor."""
    t = x.shape[-1]
    idx = torch.arange(t, device=x.device).view(1, -1) - shifts.view(-1, 1)  # (B, T)
    valid = (idx >= 0) & (idx < t)
    src = idx.clamp(0, t - 1).view(-1, 1, 1, t).expand_as(x)
    floor = x.amin(dim=(1, 2, 3), keepdim=True)
    return torch.where(valid.view(-1, 1, 1, t), torch.gather(x, 3, src), floor)


def mask_bands(x: Tensor, n: int, width: int, axis: int, gen: torch.Generator) -> Tensor:
    """Set n random bands of up to `width` along `axis` (2 = mel, 3 = time) to the unit mean."""
    if n == 0 or width == 0:
        return x
    b, size = x.shape[0], x.shape[axis]
    w = (_rand((b, n), gen, x.device) * (width + 1)).floor().clamp(max=size)
    start = (_rand((b, n), gen, x.device) * (size - w + 1)).floor()
    pos = torch.arange(size, device=x.device).view(1, 1, -1)
    hit = ((pos >= start[..., None]) & (pos < (start + w)[..., None])).any(dim=1)  # (B, size)
    shape = [b, 1, 1, 1]
    shape[axis] = size
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return torch.where(hit.view(shape), mean, x)


def warp_mels(x: Tensor, max_warp: float, gen: torch.Generator) -> Tensor:
    """Each unit's mel axis stretched by its own a in [1 - max_warp, 1 + max_warp]."""
    return warp_by(x, 1 + max_warp * (2 * _rand((x.shape[0],), gen, x.device) - 1))


def warp_by(x: Tensor, a: Tensor) -> Tensor:
    """(B, 1, M, T) -> the same with bin i reading bin i * a[b] (linear interpolation, clamped
    to the top bin): a > 1 moves a feature at bin k down to bin k / a."""
    b, m = x.shape[0], x.shape[2]
    src = (torch.arange(m, device=x.device).float().view(1, -1) * a.view(-1, 1)).clamp(max=m - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    frac = (src - lo).view(b, 1, m, 1)
    below = torch.gather(x, 2, lo.view(b, 1, m, 1).expand_as(x))
    above = torch.gather(x, 2, hi.view(b, 1, m, 1).expand_as(x))
    return below * (1 - frac) + above * frac


def mix_pairs(x: Tensor, alpha: float, gen: torch.Generator) -> tuple[Tensor, Tensor, float]:
    """Mixup: (lam * x + (1 - lam) * x[perm], perm, lam) with lam ~ Beta(alpha, alpha)
    drawn from `gen` (through a numpy generator seeded by it: torch's Beta takes none)."""
    import numpy as np

    seed = int(torch.randint(1 << 30, (1,), generator=gen))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=gen).to(x.device)
    return lam * x + (1 - lam) * x[perm], perm, lam


def augment_batch(x: Tensor, gen: torch.Generator, opts: AugmentOptions) -> Tensor:
    """Noise, time shift, frequency and time masks, then the mel warp on a (B, 1, M, T) dB
    batch (mixup needs the labels: the training loop applies `mix_pairs`)."""
    b, t = x.shape[0], x.shape[-1]
    if opts.noise_p > 0:
        lo, hi = opts.snr_db
        snr = lo + (hi - lo) * _rand((b,), gen, x.device)
        noisy = add_noise(x, snr, opts.top_db, gen)
        pick = _rand((b,), gen, x.device) < opts.noise_p
        x = torch.where(pick.view(-1, 1, 1, 1), noisy, x)
    max_shift = int(opts.shift * t)
    if max_shift > 0:
        shifts = (_rand((b,), gen, x.device) * (2 * max_shift + 1)).floor().long() - max_shift
        x = time_shift(x, shifts)
    x = mask_bands(x, opts.freq_masks, opts.freq_width, 2, gen)
    x = mask_bands(x, opts.time_masks, opts.time_width, 3, gen)
    return warp_mels(x, opts.warp, gen) if opts.warp > 0 else x

"""Augmentation on log-mel batches: planted columns move by the drawn shift, masks hit the
drawn bands only, noise at a high SNR changes nothing audible, a seed repeats a batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.models.augment import (
    AugmentOptions,
    add_noise,
    augment_batch,
    mask_bands,
    time_shift,
)


def planted(b: int = 3, m: int = 16, t: int = 40) -> torch.Tensor:
    """-80 dB floor with a 0 dB column at frame 20."""
    x = torch.full((b, 1, m, t), -80.0)
    x[..., 20] = 0.0
    return x


def test_time_shift_moves_the_column_and_fills_with_the_floor() -> None:
    y = time_shift(planted(), torch.tensor([5, -7, 0]))
    cols = [int(torch.nonzero(y[i, 0, 0] == 0.0)[0]) for i in range(3)]
    assert cols == [25, 13, 20]
    assert (y[0, 0, :, :5] == -80.0).all() and (y[1, 0, :, -7:] == -80.0).all()


def test_masks_set_whole_bands_to_the_mean() -> None:
    x = torch.arange(2 * 16 * 40, dtype=torch.float32).view(2, 1, 16, 40)
    gen = torch.Generator().manual_seed(3)
    y = mask_bands(x, n=1, width=4, axis=3, gen=gen)
    for i in range(2):
        changed = (y[i] != x[i]).any(dim=(0, 1))  # which frames changed
        k = int(changed.sum())
        assert k <= 4
        if k:
            idx = torch.nonzero(changed).ravel()
            assert int(idx[-1] - idx[0]) == k - 1                       # one contiguous band
            assert torch.allclose(y[i, 0, :, idx], x[i].mean().expand(16, k))
    assert torch.equal(mask_bands(x, n=0, width=4, axis=2, gen=gen), x)


def test_noise_at_high_snr_keeps_the_spectrogram_low_snr_lifts_the_floor() -> None:
    x = planted(b=2)
    gen = torch.Generator().manual_seed(0)
    quiet = add_noise(x, torch.tensor([120.0, 120.0]), 80.0, gen)
    assert torch.allclose(quiet, x, atol=1e-3)
    loud = add_noise(x, torch.tensor([0.0, 0.0]), 80.0, gen)
    assert loud.amax().item() == pytest.approx(0.0)
    # mean power of the clip is 1/40 of the column's; at 0 dB SNR the floor sits near
    # 10*log10(1/40) = -16 dB, far above -80
    floor = loud[0, 0, :, :10].mean().item()
    assert -25.0 < floor < -10.0


def test_augment_is_seeded_and_shape_preserving() -> None:
    x = planted(b=4) + torch.randn(4, 1, 16, 40)
    opts = AugmentOptions(noise_p=1.0, shift=0.2, freq_masks=1, freq_width=3)
    a = augment_batch(x, torch.Generator().manual_seed(7), opts)
    b = augment_batch(x, torch.Generator().manual_seed(7), opts)
    c = augment_batch(x, torch.Generator().manual_seed(8), opts)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert np.isfinite(a.numpy()).all() and a.max().item() <= 0.0 + 1e-4
    off = AugmentOptions(noise_p=0, shift=0, freq_masks=0, time_masks=0)
    assert torch.equal(augment_batch(x, torch.Generator().manual_seed(7), off), x)

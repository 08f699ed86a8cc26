"""A random attribution map: the sanity floor every leaderboard needs (Adebayo et al. 2018)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.methods.base import check_batch
from bsx.methods.options import RandomOptions


class RandomMap:
    """Seeded uniform noise in [0, 1), (B, 128, T); ignores the model and the target.

    One generator per instance, seeded once: the same calls in the same order give the same
    maps, on any device (noise is drawn on the CPU and moved).
    """

    def __init__(self, model: nn.Module | None = None, options: RandomOptions | None = None):
        self.options = options or RandomOptions()
        self.generator = torch.Generator().manual_seed(self.options.seed)

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) noise out, on batch.device."""
        check_batch(batch, target)
        b, _, m, t = batch.shape
        noise = torch.rand((b, m, t), generator=self.generator, dtype=torch.float32)
        return noise.to(device=batch.device, dtype=batch.dtype)

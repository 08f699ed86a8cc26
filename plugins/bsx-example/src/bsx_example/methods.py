"""Gradient x input: the simplest attribution method, here as a worked plugin example."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class GradientTimesInput:
    """Gradient x input (Shrikumar et al. 2016, arXiv:1605.01713) on the log-mel input.

    The input is a dB spectrogram, so "input" is relative to 0 dB (the clip's maximum).
    """

    def __init__(self, model: nn.Module, options: Any = None) -> None:
        self.model = model

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel and (B,) targets in, (B, 128, T) relevance out."""
        x = batch.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(x)
            picked = logits.gather(1, target.view(-1, 1).to(logits.device)).sum()
            (grad,) = torch.autograd.grad(picked, x)
        return (grad * x).detach()[:, 0]

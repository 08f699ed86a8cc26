"""What an attribution method provides: one verb, attribute(batch, target)."""

from __future__ import annotations

from typing import Protocol

from torch import Tensor


class Method(Protocol):
    """Built by its spec's factory(model, options=...). The model is an eval-mode nn.Module."""

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel and (B,) class indices in, (B, 128, T) relevance out,
        on batch.device. Must leave the model's requires_grad flags as it found them."""
        ...

"""zennit canonizers for bsx's networks: merged batch norms and a proportional residual add.

LRP-type rules (zennit composites, zennit-crp) see only modules. A residual block that adds
its two branches with a bare `+` leaves the add to the plain gradient, which copies the
relevance arriving at the sum into BOTH branches, so relevance is created (the paper passed
zennit's ResNetCanonizer, whose block canonizers know only torchvision's BasicBlock and
Bottleneck: on its checkpoints the input relevance summed to 1.7-3.9x the logit). Here, as
zennit.torchvision.ResNetBasicBlockCanonizer does for torchvision, the block's forward is
overloaded to stack both branches and reduce them with a `zennit.layer.Sum` module, which the
composites map to the Norm rule: relevance is split in proportion to each branch's
contribution, and what enters the two branches sums to what left the add.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from zennit.canonizers import (
    AttributeCanonizer,
    Canonizer,
    CompositeCanonizer,
    SequentialMergeBatchNorm,
)
from zennit.layer import Sum
from zennit.torchvision import ResNetCanonizer

from bsx.models.resnet_small import ResidualBlock


class ExactMergeBatchNorm(SequentialMergeBatchNorm):
    """zennit's SequentialMergeBatchNorm, plus eps = 0 on the emptied batch norm.

    zennit folds eps into the conv but leaves it in the batch norm it resets to the identity,
    which then still divides by sqrt(1 + eps); setting eps to 0 (restored on removal) makes
    the canonized network compute the original logits to float precision.
    """

    def register(self, linears: Any, batch_norm: nn.Module) -> None:
        super().register(linears, batch_norm)
        self.batch_norm_eps = float(batch_norm.eps)  # type: ignore[arg-type]
        batch_norm.eps = 0.0  # type: ignore[assignment]

    def remove(self) -> None:
        super().remove()
        self.batch_norm.eps = self.batch_norm_eps


class ResidualBlockCanonizer(AttributeCanonizer):
    """Give each bsx ResidualBlock a `canonizer_sum` (zennit Sum) and a forward that uses it.

    The overloaded forward computes exactly ResidualBlock.forward (same logits); it is removed
    again, with the attribute, when the canonizer is removed.
    """

    def __init__(self) -> None:
        super().__init__(self._attribute_map)

    @classmethod
    def _attribute_map(cls, name: str, module: nn.Module) -> dict[str, Any] | None:
        if isinstance(module, ResidualBlock):
            return {"forward": cls.forward.__get__(module), "canonizer_sum": Sum()}
        return None

    @staticmethod
    def forward(self: Any, x: Tensor) -> Tensor:  # bound to a ResidualBlock instance
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        both = torch.stack([self.shortcut(x), out], dim=-1)
        return self.relu2(self.canonizer_sum(both))


class BsxResNetCanonizer(CompositeCanonizer):
    """Merge every batch norm into the preceding conv, then make every residual add a Sum."""

    def __init__(self) -> None:
        super().__init__((ExactMergeBatchNorm(), ResidualBlockCanonizer()))


def make_canonizers(kind: str) -> list[Canonizer]:
    """"bsx": ours; "paper": zennit's ResNetCanonizer as the paper used it; "none": nothing."""
    if kind == "bsx":
        return [BsxResNetCanonizer()]
    if kind == "paper":
        return [ResNetCanonizer()]
    if kind == "none":
        return []
    raise ValueError(f"unknown canonizer {kind!r}; accepted: bsx, paper, none")

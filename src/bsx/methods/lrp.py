"""Layer-wise Relevance Propagation (Bach et al. 2015, PLoS ONE) via zennit."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bsx.methods.base import check_batch, preserved, warn_unruled_layers
from bsx.methods.options import LrpOptions
from bsx.methods.waveform import require_kind


def one_hot_at_logit(target: Tensor) -> Callable[[Tensor], Tensor]:
    """An output-relevance function: the target logit, zero elsewhere."""

    def init(output: Tensor) -> Tensor:
        return output * F.one_hot(target.long(), output.shape[1]).to(output)

    return init


class Lrp:
    """LRP with zennit's EpsilonPlusFlat composite (epsilon for dense layers, z+ for convs,
    flat for the first layer), relevance started at the target logit.

    Canonizers (bsx.methods.canonizers): "bsx" merges the batch norms and splits residual adds
    in proportion to the branches, so relevance is conserved through the blocks; "paper" is
    zennit's ResNetCanonizer, which leaves bsx's residual add to the plain gradient (relevance
    doubles there).
    """

    sign = "positive"  # windows and localisation keep the positive evidence

    def __init__(self, model: nn.Module, options: LrpOptions | None = None) -> None:
        require_kind(model, "logmel", "lrp")
        warn_unruled_layers(model, "lrp")
        self.model = model
        self.options = options or LrpOptions()

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        from zennit.attribution import Gradient
        from zennit.composites import EpsilonPlusFlat

        from bsx.methods.canonizers import make_canonizers

        check_batch(batch, target)
        composite = EpsilonPlusFlat(canonizers=make_canonizers(self.options.canonizer))
        with preserved(self.model), torch.enable_grad():
            with Gradient(model=self.model, composite=composite) as attributor:
                _, rel = attributor(batch.detach(), one_hot_at_logit(target.to(batch.device)))
        return rel.detach()[:, 0]

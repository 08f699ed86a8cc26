"""Gradient methods via Captum: saliency and integrated gradients."""

from __future__ import annotations

from torch import Tensor, nn

from bsx.methods.base import baseline_of, check_batch, preserved
from bsx.methods.options import IntegratedGradientsOptions, SaliencyOptions


class Saliency:
    """Gradient saliency (Simonyan, Vedaldi, Zisserman 2014): |d logit_target / d input|.

    abs=True (default) is the published definition; abs=False keeps the signed gradient,
    whose sign says which way the logit would move, not evidence for or against the class, so
    its windows rank by magnitude (sign "absolute").
    """

    def __init__(self, model: nn.Module, options: SaliencyOptions | None = None) -> None:
        self.model = model
        self.options = options or SaliencyOptions()

    @property
    def sign(self) -> str:
        return "positive" if self.options.abs else "absolute"

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        from captum.attr import Saliency as CaptumSaliency

        check_batch(batch, target)
        with preserved(self.model):
            grad = CaptumSaliency(self.model).attribute(
                batch.detach().clone().requires_grad_(True), target=target.long(),
                abs=self.options.abs,
            )
        return grad.detach()[:, 0]


class IntegratedGradients:
    """Integrated Gradients (Sundararajan, Taly, Yan 2017, ICML) via Captum.

    The baseline is the clip's dB floor by default (its minimum, -80 dB relative for a
    ref=max spectrogram): the path runs from silence to the clip. A zero baseline would be
    0 dB, the LOUDEST value of such a spectrogram, not an absence of signal.
    sign: "positive" from the floor (completeness: positive = evidence for the class);
    "absolute" from a dB number, a path that removes energy, whose sign is not evidence.
    """

    def __init__(
        self, model: nn.Module, options: IntegratedGradientsOptions | None = None
    ) -> None:
        self.model = model
        self.options = options or IntegratedGradientsOptions()

    @property
    def sign(self) -> str:
        return "positive" if self.options.baseline == "floor" else "absolute"

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        from captum.attr import IntegratedGradients as CaptumIG

        check_batch(batch, target)
        x = batch.detach()
        with preserved(self.model):
            attr = CaptumIG(self.model).attribute(
                x.clone().requires_grad_(True), baselines=baseline_of(x, self.options.baseline),
                target=target.long(), n_steps=self.options.n_steps,
                internal_batch_size=self.options.internal_batch_size,
            )
        return attr.detach()[:, 0]

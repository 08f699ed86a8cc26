"""Gradient methods via Captum: saliency and integrated gradients."""

from __future__ import annotations

from torch import Tensor, nn

from bsx.methods.base import baseline_of, check_batch, preserved
from bsx.methods.options import IntegratedGradientsOptions, SaliencyOptions
from bsx.methods.waveform import (
    check_waveform_batch,
    input_kind,
    integrated_gradients,
    waveform_baseline,
)


class Saliency:
    """Gradient saliency (Simonyan, Vedaldi, Zisserman 2014): |d logit_target / d input|.

    abs=True (default) is the published definition; abs=False keeps the signed gradient,
    whose sign says which way the logit would move, not evidence for or against the class, so
    its windows rank by magnitude (sign "absolute").
    abs=True (default) is the published definition; abs=False keeps the signed gradient.
    Waveform models: (B, N) in and out, the true gradient through the input normaliser.
    """

    def __init__(self, model: nn.Module, options: SaliencyOptions | None = None) -> None:
        self.model = model
        self.options = options or SaliencyOptions()

    @property
    def sign(self) -> str:
        return "positive" if self.options.abs else "absolute"

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device; a waveform
        model's (B, N) in, (B, N) out."""
        from captum.attr import Saliency as CaptumSaliency

        wave = input_kind(self.model) == "waveform"
        (check_waveform_batch if wave else check_batch)(batch, target)
        with preserved(self.model):
            grad = CaptumSaliency(self.model).attribute(
                batch.detach().clone().requires_grad_(True), target=target.long(),
                abs=self.options.abs,
            )
        return grad.detach() if wave else grad.detach()[:, 0]


class IntegratedGradients:
    """Integrated Gradients (Sundararajan, Taly, Yan 2017, ICML) via Captum.

    The baseline is the clip's dB floor by default (its minimum, -80 dB relative for a
    ref=max spectrogram): the path runs from silence to the clip. A zero baseline would be
    0 dB, the LOUDEST value of such a spectrogram, not an absence of signal.
    sign: "positive" from the floor (completeness: positive = evidence for the class);
    "absolute" from a dB number, a path that removes energy, whose sign is not evidence.
    Waveform models: (B, N) in and out, from digital silence ("floor" = zeros), with every
    normalisation's deviation held at the clip's value along the path (bsx.methods.
    waveform_norms: a wav2vec2-family model is gain-invariant, so the plain path is flat but
    for its first 0.1%, which no Riemann sum resolves); completeness then holds.
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
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device; a waveform
        model's (B, N) in, (B, N) out."""
        from captum.attr import IntegratedGradients as CaptumIG

        wave = input_kind(self.model) == "waveform"
        (check_waveform_batch if wave else check_batch)(batch, target)
        x = batch.detach()
        o = self.options
        if wave:
            with preserved(self.model):
                return integrated_gradients(
                    self.model, x, waveform_baseline(x, o.baseline), target.long(),
                    n_steps=o.n_steps, internal_batch_size=o.internal_batch_size,
                ).detach()
        with preserved(self.model):
            attr = CaptumIG(self.model).attribute(
                x.clone().requires_grad_(True), baselines=baseline_of(x, o.baseline),
                target=target.long(), n_steps=o.n_steps,
                internal_batch_size=o.internal_batch_size,
            )
        return attr.detach()[:, 0]

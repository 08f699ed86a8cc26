"""Gradient methods via Captum: saliency and integrated gradients."""

from __future__ import annotations

from torch import Tensor, nn

from bsx.methods.base import baseline_of, check_batch, preserved
from bsx.methods.options import IntegratedGradientsOptions, SaliencyOptions
from bsx.methods.waveform import (
    check_waveform_batch,
    frozen_input_scale,
    input_kind,
    waveform_baseline,
)


class Saliency:
    """Gradient saliency (Simonyan, Vedaldi, Zisserman 2014): |d logit_target / d input|.

    abs=True (default) is the published definition; abs=False keeps the signed gradient.
    Waveform models: (B, N) in and out, the true gradient through the input normaliser.
    """

    def __init__(self, model: nn.Module, options: SaliencyOptions | None = None) -> None:
        self.model = model
        self.options = options or SaliencyOptions()

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
    Waveform models: (B, N) in and out, from digital silence ("floor" = zeros), with the
    input normaliser's per-clip scale held constant (bsx.models.hf.WaveformNorm): the path
    then scales the normalised input from 0 to the clip, and completeness holds.
    """

    def __init__(
        self, model: nn.Module, options: IntegratedGradientsOptions | None = None
    ) -> None:
        self.model = model
        self.options = options or IntegratedGradientsOptions()

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device; a waveform
        model's (B, N) in, (B, N) out."""
        from captum.attr import IntegratedGradients as CaptumIG

        wave = input_kind(self.model) == "waveform"
        (check_waveform_batch if wave else check_batch)(batch, target)
        x = batch.detach()
        base = (waveform_baseline if wave else baseline_of)(x, self.options.baseline)
        with preserved(self.model), frozen_input_scale(self.model):
            attr = CaptumIG(self.model).attribute(
                x.clone().requires_grad_(True), baselines=base,
                target=target.long(), n_steps=self.options.n_steps,
                internal_batch_size=self.options.internal_batch_size,
            )
        return attr.detach() if wave else attr.detach()[:, 0]

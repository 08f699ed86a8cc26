"""What methods share on waveform models (docs/model-contract.md), and gradient x input.

A waveform model declares `input_kind = "waveform"`, takes a (B, N) batch of raw samples and
every method returns (B, N) relevance per sample; the evaluation sums it into frames
(relevance.to_grid). Methods that exist for log-mel models under the same name dispatch on
`input_kind(model)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from bsx.errors import BsxError
from bsx.methods.base import preserved
from bsx.methods.options import GradientXInputOptions

WAVEFORM_METHODS = (
    "integrated-gradients", "gradient-x-input", "saliency", "occlusion-time",
    "attention-rollout", "attnlrp", "random",
)


def input_kind(model: nn.Module | None) -> str:
    """"waveform" or "logmel" (the default for models that do not say)."""
    return getattr(model, "input_kind", "logmel")


def require_kind(model: nn.Module | None, kind: str, method: str) -> None:
    """A BsxError naming the method, the model's input and the methods that fit it."""
    have = input_kind(model)
    if have == kind:
        return
    if have == "waveform":
        raise BsxError(
            f"method '{method}' explains log-mel models; this model takes the waveform: use "
            f"one of {', '.join(WAVEFORM_METHODS)}"
        )
    raise BsxError(
        f"method '{method}' explains waveform models (wav2vec2, HuBERT, WavLM); this model "
        "takes a log-mel spectrogram: use integrated-gradients, saliency, occlusion-time, "
        "gradcam, lrp, crp or random"
    )


def check_waveform_batch(batch: Tensor, target: Tensor) -> None:
    """A (B, N) float batch and a (B,) integer target, or a BsxError saying which."""
    if batch.ndim != 2 or not batch.is_floating_point():
        raise BsxError(
            f"a waveform method takes a (B, N) float batch of samples, got "
            f"{tuple(batch.shape)} {batch.dtype}"
        )
    if target.ndim != 1 or target.shape[0] != batch.shape[0]:
        raise BsxError(
            f"a method takes one target per clip: shape ({batch.shape[0]},), "
            f"got {tuple(target.shape)}"
        )
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise BsxError(f"targets must be class indices (an integer tensor), got {target.dtype}")


def waveform_baseline(batch: Tensor, baseline: float | str) -> Tensor:
    """The reference waveform: "floor" is digital silence (zeros), a number a constant."""
    if baseline == "floor":
        return torch.zeros_like(batch)
    return torch.full_like(batch, float(baseline))


@contextmanager
def frozen_input_scale(model: nn.Module) -> Iterator[nn.Module]:
    """Hold each input normaliser's per-clip scale constant (see bsx.models.hf.WaveformNorm):
    any submodule with a `freeze_scale` flag gets it set for the block."""
    flags = [m for m in model.modules() if hasattr(m, "freeze_scale")]
    before = [m.freeze_scale for m in flags]
    for m in flags:
        m.freeze_scale = True
    try:
        yield model
    finally:
        for m, b in zip(flags, before, strict=True):
            m.freeze_scale = b


def token_stride(model: nn.Module) -> int:
    """Samples per encoder token (320 for wav2vec2-family models at 16 kHz)."""
    stride = getattr(model, "token_stride", None)
    if not isinstance(stride, int) or stride < 1:
        raise BsxError("this waveform model does not declare token_stride (samples per token)")
    return stride


def spread_tokens(tokens: Tensor, n_samples: int, stride: int) -> Tensor:
    """(B, T) token relevance -> (B, N) per sample: token t's relevance spread evenly over
    samples [t * stride, (t + 1) * stride), the last token to the end; sums are kept."""
    b, t = tokens.shape
    idx = torch.clamp(torch.arange(n_samples, device=tokens.device) // stride, max=t - 1)
    counts = torch.bincount(idx, minlength=t).clamp(min=1).to(tokens.dtype)
    return (tokens / counts)[:, idx]


class GradientXInput:
    """Gradient x input (Shrikumar et al. 2016) on the raw waveform, via Captum.

    The input normaliser's per-clip scale is held constant (frozen_input_scale): the
    normalised waveform does not change with the clip's gain, so with the true gradient
    x . grad f(x) = 0 for every clip (Euler) and the map is noise. Waveform models only.
    """

    def __init__(self, model: nn.Module, options: GradientXInputOptions | None = None) -> None:
        require_kind(model, "waveform", "gradient-x-input")
        self.model = model
        self.options = options or GradientXInputOptions()

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, N) waveform in, (B, N) relevance out, on batch.device."""
        from captum.attr import InputXGradient

        check_waveform_batch(batch, target)
        with preserved(self.model), frozen_input_scale(self.model):
            attr = InputXGradient(self.model).attribute(
                batch.detach().clone().requires_grad_(True), target=target.long()
            )
        return attr.detach()

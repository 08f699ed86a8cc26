"""What methods share on waveform models (docs/model-contract.md), and gradient x input.

A waveform model declares `input_kind = "waveform"`, takes a (B, N) batch of raw samples and
every method returns (B, N) relevance per sample; the evaluation sums it into frames
(relevance.to_grid). Methods that exist for log-mel models under the same name dispatch on
`input_kind(model)`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from bsx.errors import BsxError
from bsx.methods.base import preserved
from bsx.methods.options import InputXGradientOptions
from bsx.methods.waveform_norms import held_normalisations

# samples per model call that the waveform paths of IG and occlusion aim for (copies of a
# 20 s clip at 16 kHz would otherwise be 82 M samples at IG's internal batch of 256)
SAMPLE_BUDGET = 1 << 22

WAVEFORM_METHODS = (
    "integrated-gradients", "input-x-gradient", "saliency", "occlusion-time",
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
        f"method '{method}' explains waveform models (the wav2vec2 family); this model "
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


def integrated_gradients(
    model: nn.Module, x: Tensor, baseline: Tensor, target: Tensor, *, n_steps: int,
    internal_batch_size: int | None,
) -> Tensor:
    """Integrated Gradients (Sundararajan et al. 2017) of a waveform model with every
    normalisation's deviation held at the clip (bsx.methods.waveform_norms): (B, N) out.

    Gauss-Legendre nodes and weights on [0, 1], as Captum's default; path points go through
    the model in chunks of whole steps (row r of a chunk is clip r % B), at most
    internal_batch_size rows and about SAMPLE_BUDGET samples a call. Completeness: the sum
    over samples is f(x) - f_held(baseline).
    """
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas, weights = (nodes + 1.0) / 2.0, weights / 2.0
    b = x.shape[0]
    per_call = min(internal_batch_size or n_steps * b, SAMPLE_BUDGET // max(x.shape[1], 1))
    per_chunk = max(1, per_call // max(b, 1))
    total = torch.zeros_like(x)
    rows = torch.arange(b, device=x.device)
    with held_normalisations(model, "record") as hold, torch.enable_grad():
        with torch.no_grad():
            model(x)
        hold.mode = "held"
        for lo in range(0, n_steps, per_chunk):
            a = torch.as_tensor(alphas[lo:lo + per_chunk], dtype=x.dtype, device=x.device)
            w = torch.as_tensor(weights[lo:lo + per_chunk], dtype=x.dtype, device=x.device)
            pts = (baseline[None] + a[:, None, None] * (x - baseline)[None]).reshape(-1, x.shape[1])
            pts.requires_grad_(True)
            out = model(pts).view(len(a), b, -1)[:, rows, target]
            (grad,) = torch.autograd.grad(out.sum(), pts)
            total += (grad.view(len(a), b, -1) * w[:, None, None]).sum(0)
    return total * (x - baseline)


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


class InputXGradient:
    """Gradient x input (Shrikumar et al. 2016) on the raw waveform, via Captum.

    Every normalisation's deviation is held constant (bsx.methods.waveform_norms): a
    wav2vec2-family model does not change with the clip's gain, so with the true gradient
    x . grad f(x) = 0 for every clip (Euler). Named input-x-gradient (Captum's name): the
    example plugin registers gradient-x-input for log-mel models. Waveform models only.
    """

    def __init__(self, model: nn.Module, options: InputXGradientOptions | None = None) -> None:
        require_kind(model, "waveform", "input-x-gradient")
        self.model = model
        self.options = options or InputXGradientOptions()

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, N) waveform in, (B, N) relevance out, on batch.device."""
        from captum.attr import InputXGradient as CaptumInputXGradient

        check_waveform_batch(batch, target)
        with preserved(self.model), held_normalisations(self.model, "detach"):
            attr = CaptumInputXGradient(self.model).attribute(
                batch.detach().clone().requires_grad_(True), target=target.long()
            )
        return attr.detach()

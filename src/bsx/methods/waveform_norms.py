"""Normalisations held constant: why gradient methods on wav2vec2-family models need it.

A wav2vec2, HuBERT or WavLM classifier normalises its input per clip (zero mean, unit
variance), then normalises the first conv layer's output (GroupNorm over time, or LayerNorm
over channels), so its logits do not change when the waveform is scaled: f(a x) = f(x).
Two attribution methods break on such a function:
- gradient x input: Euler's theorem gives x . grad f(x) = 0 for every clip;
- integrated gradients from silence: f is constant along the path a x except within
  a ~ 1e-3 of silence, so every Riemann sum misses the integral.

The fix is the LRP identity rule for normalisations (Ali et al. 2022; Achtibat et al. 2024):
each normalisation's standard deviation is a constant, taken at the explained clip. Then the
mean subtraction and affine maps stay linear and carry relevance, and the function being
explained agrees with the model at the clip itself.

- mode "detach": the standard deviation is computed from the current input and detached
  (gradient x input, LRP: one backward pass at the clip).
- mode "held": the standard deviations recorded at a reference batch are reused for inputs
  whose rows are copies along a path (row r belongs to clip r % B; integrated gradients).
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import Tensor, nn

Mode = Literal["detach", "held", "record"]


def is_normalisation(m: nn.Module) -> bool:
    """LayerNorm, GroupNorm, or bsx's input normaliser (bsx.models.hf.WaveformNorm, matched by
    class name so this module does not import transformers' side)."""
    return isinstance(m, nn.LayerNorm | nn.GroupNorm) or type(m).__name__ == "WaveformNorm"


class Hold:
    """Shared state of one `held_normalisations` block: the mode and recorded deviations."""

    def __init__(self, mode: Mode) -> None:
        self.mode: Mode = mode
        self.saved: dict[int, Tensor] = {}

    def std(self, key: int, std: Tensor) -> Tensor:
        if self.mode == "record":
            self.saved[key] = std.detach()
            return std
        if self.mode == "held":
            ref = self.saved[key]
            rows = std.shape[0]
            if rows % ref.shape[0]:
                raise ValueError(f"{rows} rows are not copies of {ref.shape[0]} clips")
            return ref.repeat(rows // ref.shape[0], *([1] * (ref.ndim - 1)))
        return std.detach()


def _forward(hold: Hold) -> object:
    def forward(self: Any, x: Tensor) -> Tensor:
        if isinstance(self, nn.GroupNorm):
            g = x.reshape(x.shape[0], self.num_groups, -1)
            mean = g.mean(dim=-1, keepdim=True)
            std = torch.sqrt(g.var(dim=-1, unbiased=False, keepdim=True) + self.eps)
            y = ((g - mean) / hold.std(id(self), std)).reshape_as(x)
            if self.affine:
                shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
                y = y * self.weight.view(shape) + self.bias.view(shape)
            return y
        if isinstance(self, nn.LayerNorm):
            dims = tuple(range(-len(self.normalized_shape), 0))
            weight, bias = self.weight, self.bias
        else:  # WaveformNorm: over the samples, no affine map
            if not self.enabled:
                return x
            dims, weight, bias = (-1,), None, None
        mean = x.mean(dim=dims, keepdim=True)
        std = torch.sqrt(x.var(dim=dims, unbiased=False, keepdim=True) + self.eps)
        y = (x - mean) / hold.std(id(self), std)
        if weight is not None:
            y = y * weight
        if bias is not None:
            y = y + bias
        return y

    return forward


@contextmanager
def held_normalisations(model: nn.Module, mode: Mode = "detach") -> Iterator[Hold]:
    """Every normalisation in `model` under `mode` for the block (see the module docstring);
    yields the Hold, whose mode may be switched from "record" to "held" inside the block."""
    hold = Hold(mode)
    swapped = [m for m in model.modules() if is_normalisation(m)]
    fwd = _forward(hold)
    try:
        for m in swapped:
            m.forward = types.MethodType(fwd, m)  # type: ignore[method-assign, arg-type]
        yield hold
    finally:
        for m in swapped:
            del m.forward

"""What an attribution method provides: one verb, attribute(batch, target)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from bsx.errors import BsxError


class Method(Protocol):
    """Built by its spec's factory(model, options=...). The model is an eval-mode nn.Module."""

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel and (B,) class indices in, (B, 128, T) relevance out,
        on batch.device. Must leave the model's requires_grad flags as it found them."""
        ...


@runtime_checkable
class ContentAware(Protocol):
    """Optional: a method that is told where each clip's real content lies, so what it
    produces stays out of the front-end's padding (the fair random control, docs/controls.md).
    The engine calls attribute_content instead of attribute when a method provides it."""

    def attribute_content(self, batch: Tensor, target: Tensor, content: np.ndarray) -> Tensor:
        """As attribute; content: (B, 2) int frames [lo, hi) of each row's content on its
        time axis (the rest is padding)."""
        ...


def content_mask(content: np.ndarray | None, n: int, n_frames: int) -> np.ndarray:
    """(n, n_frames) bool, True on each row's content frames; all True when content is None.
    A BsxError when content is not one (lo, hi) pair per row."""
    if content is None:
        return np.ones((n, n_frames), dtype=bool)
    c = np.asarray(content)
    if c.shape != (n, 2):
        raise BsxError(f"content must hold one (lo, hi) frame pair per clip: shape ({n}, 2), "
                       f"got {c.shape}")
    f = np.arange(n_frames)[None, :]
    return (f >= c[:, :1]) & (f < c[:, 1:])


@contextmanager
def preserved(model: nn.Module) -> Iterator[nn.Module]:
    """Run a method on `model` in eval mode and hand it back exactly as found.

    Restores every parameter's requires_grad (zennit-crp's CondAttribution switches them off)
    and every module's training flag, and drops parameter gradients the method left behind.
    """
    flags = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for p, req, grad in flags:
            p.requires_grad_(req)
            p.grad = grad
        for m, training in modes:
            m.training = training


def check_batch(batch: Tensor, target: Tensor) -> None:
    """A (B, 1, n_mels, T) float batch and a (B,) integer target, or a BsxError saying which."""
    if batch.ndim != 4 or batch.shape[1] != 1:
        raise BsxError(f"a method takes a (B, 1, n_mels, T) batch, got shape {tuple(batch.shape)}")
    check_target(batch, target)


def check_target(batch: Tensor, target: Tensor) -> None:
    """One integer class index per clip of `batch`, or a BsxError saying what is wrong."""
    if target.ndim != 1 or target.shape[0] != batch.shape[0]:
        raise BsxError(
            f"a method takes one target per clip: shape ({batch.shape[0]},), "
            f"got {tuple(target.shape)}"
        )
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise BsxError(f"targets must be class indices (an integer tensor), got {target.dtype}")


def baseline_of(batch: Tensor, baseline: float | str) -> Tensor:
    """The reference input: a dB value, or "floor" = each clip's minimum (its silence floor)."""
    if baseline == "floor":
        return batch.amin(dim=(1, 2, 3), keepdim=True).expand_as(batch)
    return torch.full_like(batch, float(baseline))


def warn_unruled_layers(model: nn.Module, method: str) -> None:
    """One warning when an LRP method meets recurrent layers (GRU, LSTM, RNN): zennit has no
    rule for them, so relevance passes through as the plain gradient and no longer sums to the
    logit (CRP on bsx's CRNN: sums of 0.1 or less against logits of 1.4-2.7, four EmoDB
    clips). The map is still produced; the user should know it is not a conserved one."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.RNNBase)]
    if names:
        kinds = sorted({type(model.get_submodule(n)).__name__ for n in names})
        warnings.warn(f"{method}: zennit has no LRP rule for the model's {', '.join(kinds)} "
                      f"({', '.join(names)}); relevance passes through as the plain gradient "
                      "and does not sum to the logit", stacklevel=3)

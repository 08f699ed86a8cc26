"""What a model plugin provides: an nn.Module from (B, 1, n_mels, T) log-mel to (B, C) logits."""

from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn


class SerNet(Protocol):
    """A model spec's factory(n_classes=..., options=...) returns an nn.Module like this."""

    def __call__(self, x: Tensor) -> Tensor:
        """(B, 1, n_mels, T) log-mel -> (B, n_classes) logits."""
        ...


def last_conv_block(model: nn.Module) -> nn.Module:
    """The module Grad-CAM and concept methods hook: `model.cam_layer` if the model names one."""
    layer = getattr(model, "cam_layer", None)
    if isinstance(layer, nn.Module):
        return layer
    if isinstance(layer, str):
        return model.get_submodule(layer)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        from bsx.errors import BsxError

        raise BsxError(
            f"{type(model).__name__} has no Conv2d layer for Grad-CAM to hook (e.g. Whisper's "
            "encoder convolves in time only); use saliency, integrated-gradients or occlusion")
    return convs[-1]

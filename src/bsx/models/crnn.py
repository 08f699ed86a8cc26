"""CRNN: a small conv front + bidirectional GRU over time (a second model family).

Methods tuned to one residual CNN may fail silently on recurrent models, so bsx ships this
CRNN in the style of convolutional-recurrent SER (Trigeorgis et al. 2016; Zhao et al. 2019):
conv blocks (conv3x3 - BN - ReLU - max-pool 2x2) shrink the (128, T) log-mel, the frequency
axis is averaged, a GRU reads the feature sequence over time, its outputs are averaged
over time, dropout, linear classifier. `cam_layer` names the last conv block, the place
Grad-CAM and concept methods hook.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.models.options import CrnnOptions


class ConvBlock(nn.Sequential):
    """conv3x3 - BatchNorm - ReLU - max-pool 2x2."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )


class Crnn(nn.Module):
    """(B, 1, n_mels, T) log-mel -> (B, n_classes) logits; any T >= 2**len(channels)."""

    def __init__(self, n_classes: int = 7, options: CrnnOptions | None = None) -> None:
        super().__init__()
        opts = options or CrnnOptions()
        if not opts.channels:
            raise ValueError("crnn needs at least one conv block")
        widths = (1, *opts.channels)
        self.blocks = nn.Sequential(
            *(ConvBlock(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        )
        self.gru = nn.GRU(
            opts.channels[-1], opts.hidden, batch_first=True, bidirectional=opts.bidirectional
        )
        self.dropout = nn.Dropout(opts.dropout)
        self.fc = nn.Linear(opts.hidden * (2 if opts.bidirectional else 1), n_classes)
        self.cam_layer = f"blocks.{len(opts.channels) - 1}"

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(x).mean(dim=2).transpose(1, 2)  # (B, T', C)
        if h.is_cuda and not self.training:
            # cuDNN's RNN backward refuses eval mode; attribution methods need gradients
            # of an eval-mode model, so use the native kernel there.
            with torch.backends.cudnn.flags(enabled=False):
                seq, _ = self.gru(h)
        else:
            seq, _ = self.gru(h)
        return self.fc(self.dropout(seq.mean(dim=1)))

"""LogMelCnn: a plain log-mel CNN that every built-in method explains and LRP conserves on.

Conv blocks (conv3x3 - BatchNorm - ReLU - max-pool 2x2, the VGG pattern of log-mel SER CNNs;
the first conv has stride 2, which makes a training step ~2x cheaper on the CPU) shrink the
(n_mels, T) spectrogram, a global average pool reads any width, dropout, linear
classifier. No recurrent layer (zennit has no LRP rule for one, so CRP on the CRNN does not
conserve) and no residual add: each block is an nn.Sequential whose batch norm zennit merges
into the conv before it, so LRP and CRP see conv - ReLU - pool - ... - linear, which their
rules cover. `cam_layer` names the last block, where Grad-CAM and concept methods hook.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.models.options import CnnOptions


class ConvBlock(nn.Sequential):
    """conv3x3 (stride s) - BatchNorm - ReLU - max-pool 2x2."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )


class LogMelCnn(nn.Module):
    """(B, 1, n_mels, T) log-mel -> (B, n_classes) logits; any T >= first_stride *
    2**len(channels)."""

    channels_last_ok = True  # no .view(): NHWC on the CPU is safe

    def __init__(self, n_classes: int = 7, options: CnnOptions | None = None) -> None:
        super().__init__()
        opts = options or CnnOptions()
        if not opts.channels:
            raise ValueError("cnn needs at least one conv block")
        widths = (1, *opts.channels)
        self.blocks = nn.Sequential(
            *(ConvBlock(a, b, opts.first_stride if i == 0 else 1)
              for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)))
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(opts.dropout)
        self.fc = nn.Linear(opts.channels[-1], n_classes)
        self.cam_layer = f"blocks.{len(opts.channels) - 1}"

    def forward(self, x: Tensor) -> Tensor:
        h = torch.flatten(self.avgpool(self.blocks(x)), 1)
        return self.fc(self.dropout(h))

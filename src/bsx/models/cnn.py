"""LogMelCnn: a plain log-mel CNN that every built-in method explains and LRP conserves on.

Conv blocks (conv3x3 - BatchNorm - ReLU - max-pool 2x2, the VGG pattern of log-mel SER CNNs;
the first conv has stride 2, which makes a training step ~2x cheaper on the CPU) shrink the
(n_mels, T) spectrogram, a global average pool reads any width, dropout, linear
classifier. No recurrent layer (zennit has no LRP rule for one, so CRP on the CRNN does not
conserve) and no residual add: each block is an nn.Sequential whose batch norm zennit merges
into the conv before it, so LRP and CRP see conv - ReLU - pool - ... - linear, which their
rules cover. `cam_layer` names the last block, where Grad-CAM and concept methods hook.

`members` K > 1 is an ensemble of K such CNNs in one network: the first conv makes K sets of
channels, every later conv is grouped (groups=K, member k reads only its own channels), and
one Linear over the K pooled vectors holds each member's classifier divided by K, so the
network's logits are exactly the mean of the members' logits. Every method sees one ordinary
CNN (Grad-CAM over all members' channels is Grad-CAM of the mean; LRP/CRP rules conserve as
before). Training scores each member on its own (`member_logits`), so the members learn as
K independently trained models would, differing by their initialisation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.models.options import CnnOptions


class ConvBlock(nn.Sequential):
    """conv3x3 (stride s, `groups` members) - BatchNorm - ReLU - max-pool 2x2."""

    def __init__(self, cin: int, cout: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False, groups=groups),
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
        k = self.members = opts.members
        widths = (1, *(k * c for c in opts.channels))
        self.blocks = nn.Sequential(
            *(ConvBlock(a, b, opts.first_stride if i == 0 else 1, 1 if i == 0 else k)
              for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)))
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(opts.dropout)
        self.fc = nn.Linear(k * opts.channels[-1], n_classes)
        if k > 1:  # each member's classifier starts as a lone CNN's would, divided by K
            bound = opts.channels[-1] ** -0.5
            nn.init.uniform_(self.fc.weight, -bound / k, bound / k)
            nn.init.uniform_(self.fc.bias, -bound, bound)
        self.cam_layer = f"blocks.{len(opts.channels) - 1}"

    def _pooled(self, x: Tensor) -> Tensor:
        return self.dropout(torch.flatten(self.avgpool(self.blocks(x)), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self._pooled(x))

    def member_logits(self, x: Tensor) -> Tensor:
        """(B, 1, n_mels, T) -> (B, members, n_classes): each member's own logits (their mean
        is forward's output); training scores every member on its own."""
        h = self._pooled(x).view(x.shape[0], self.members, -1)  # (B, K, C)
        w = self.fc.weight.view(self.fc.out_features, self.members, -1)  # (n, K, C)
        return self.members * torch.einsum("bkc,nkc->bkn", h, w) + self.fc.bias

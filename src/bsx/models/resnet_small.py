"""ResNetSmall: the paper's network (Nasr et al. 2025), with the paper's state-dict keys.

conv1 7x7/2 (1->32, no bias) + bn1 + ReLU, max-pool 3/2 pad 1, layer1 = residual block 32->64
stride 1, layer2 = residual block 64->128 stride 2, global average pool, dropout 0.5,
fc 128->n_classes. Global average pooling accepts any spectrogram width, which is why the
front-end must be stored with every checkpoint.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.models.options import ResNetSmallOptions


class ResidualBlock(nn.Module):
    """conv3x3(s) - bn - ReLU - conv3x3 - bn, plus a 1x1 shortcut when shape changes; add; ReLU.

    The add is a plain `+`; bsx's LRP canonizer (bsx.methods.canonizers) swaps in a forward
    with an explicit Sum module while it is applied, so the state dict stays the paper's.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
        else:
            self.shortcut = nn.Identity()
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu2(out + self.shortcut(x))


class ResNetSmall(nn.Module):
    """The paper's SER network: (B, 1, 128, T) log-mel -> (B, n_classes) logits."""

    cam_layer = "layer2"
    channels_last_ok = True  # no .view(): the engine may run it NHWC on the CPU (faster)

    def __init__(self, n_classes: int = 7, options: ResNetSmallOptions | None = None) -> None:
        super().__init__()
        opts = options or ResNetSmallOptions()
        self.conv1 = nn.Conv2d(1, 32, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = ResidualBlock(32, 64, stride=1)
        self.layer2 = ResidualBlock(64, 128, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(opts.dropout)
        self.fc = nn.Linear(128, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))

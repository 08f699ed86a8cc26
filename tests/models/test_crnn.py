"""crnn: registered, names its last conv block, takes any width, has input gradients in eval."""

from __future__ import annotations

import pytest
import torch

from bsx.errors import BadOptions
from bsx.models.base import last_conv_block
from bsx.plugins import build


def test_crnn_shapes_cam_layer_and_gradients() -> None:
    torch.manual_seed(0)
    net = build("model", "crnn", 5, options={"channels": [8, 16], "hidden": 12}).eval()
    block = last_conv_block(net)
    assert block is net.blocks[1]
    seen: dict[str, tuple[int, ...]] = {}

    def hook(_m: torch.nn.Module, _i: object, o: torch.Tensor) -> None:
        seen["shape"] = tuple(o.shape)

    block.register_forward_hook(hook)
    for width in (50, 235):
        x = torch.randn(2, 1, 128, width, requires_grad=True)
        y = net(x)
        assert y.shape == (2, 5)
        assert seen.pop("shape") == (2, 16, 32, width // 4)  # two 2x2 pools
        y[:, 1].sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0


def test_crnn_rejects_unknown_options() -> None:
    with pytest.raises(BadOptions, match="crnn.*'layers'"):
        build("model", "crnn", 3, options={"layers": 4})

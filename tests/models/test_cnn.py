"""The log-mel CNN (`cnn`): any width, and LRP/CRP conserve on it."""

from __future__ import annotations

import warnings

import pytest
import torch

from bsx.models.cnn import LogMelCnn
from bsx.models.options import CnnOptions
from bsx.plugins import build


def _net(seed: int = 0, *, biases: bool) -> LogMelCnn:
    torch.manual_seed(seed)
    net = LogMelCnn(7).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            if biases:
                m.running_mean.uniform_(-1, 1)
                m.bias.data.uniform_(-0.2, 0.2)
    if not biases:
        net.fc.bias.data.zero_()
    return net


def _ratio(net: LogMelCnn, method: str) -> torch.Tensor:
    x = torch.randn(3, 1, 128, 134, generator=torch.Generator().manual_seed(1)) * 10 - 40
    with torch.no_grad():
        logits = net(x)
    target = logits.argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no LRP rule for ..." warning either
        rel = build("method", method, net).attribute(x, target)
    return rel.reshape(3, -1).sum(1) / logits[torch.arange(3), target]


@pytest.mark.parametrize("method", ["crp", "lrp"])
def test_relevance_sums_to_the_logit_without_biases(method: str) -> None:
    # every layer's rule conserves (flat, z+, max-pool, average pool, epsilon): with no bias to
    # absorb relevance, the input relevance sums to the explained logit
    torch.testing.assert_close(_ratio(_net(biases=False), method), torch.ones(3),
                               rtol=1e-3, atol=1e-3)


def test_biases_absorb_only_a_share() -> None:
    # with biases (merged batch norms, fc) the sum stays near the logit, unlike the GRU's 0.1
    r = _ratio(_net(biases=True), "crp")
    assert torch.all((r > 0.5) & (r < 1.5))


@pytest.mark.parametrize("width", [16, 134, 301])
def test_any_width(width: int) -> None:
    net = LogMelCnn(5, CnnOptions(channels=(4, 8))).eval()
    assert net(torch.randn(2, 1, 128, width)).shape == (2, 5)


def test_the_cv_recipe_trains_the_cnn_on_an_ema() -> None:
    from bsx.models.recipe import TrainConfig

    assert TrainConfig.loso().model == "cnn" and TrainConfig.loso().ema == 0.98
    assert TrainConfig.loso(model="crnn", ema=None).ema is None
    assert TrainConfig().model == "resnet-small" and TrainConfig().ema is None

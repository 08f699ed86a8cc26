"""LRP methods say so when a model has layers zennit has no rule for (recurrent ones)."""

from __future__ import annotations

import warnings

import pytest
import torch

from bsx.models.crnn import Crnn
from bsx.models.resnet_small import ResNetSmall
from bsx.plugins import build


@pytest.mark.parametrize("method", ["crp", "lrp"])
def test_recurrent_layers_are_named_in_one_warning(method: str) -> None:
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match=r"no LRP rule for the model's GRU \(gru\)"):
        build("method", method, Crnn(5).eval())


@pytest.mark.parametrize("method", ["crp", "lrp"])
def test_a_cnn_builds_without_that_warning(method: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build("method", method, ResNetSmall(5).eval())


def test_the_warning_is_true_crp_on_a_crnn_does_not_conserve() -> None:
    # the premise of the warning, checked: relevance through the GRU does not sum to the logit
    torch.manual_seed(0)
    net = Crnn(5).eval()
    x = torch.randn(2, 1, 128, 134)
    with torch.no_grad():
        logits = net(x)
    target = logits.argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rel = build("method", "crp", net).attribute(x, target)
    sums = rel.reshape(2, -1).sum(1)
    chosen = logits[torch.arange(2), target]
    assert not torch.allclose(sums, chosen, rtol=0.05, atol=1e-3)

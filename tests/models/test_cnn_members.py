"""The cnn ensemble (`members` K): one network that is exactly K CNNs and their mean."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from bsx.models.cnn import LogMelCnn
from bsx.models.options import CnnOptions
from bsx.plugins import build

CHANNELS = (4, 8, 16)


def _ensemble(k: int, seed: int = 0) -> LogMelCnn:
    torch.manual_seed(seed)
    net = LogMelCnn(5, CnnOptions(channels=CHANNELS, members=k)).eval()
    for m in net.modules():  # non-trivial batch-norm statistics, as a trained network has
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net


def _member(net: LogMelCnn, k: int) -> LogMelCnn:
    """Member k of an ensemble as a lone CNN, its weights cut out of the grouped ones."""
    lone = LogMelCnn(5, CnnOptions(channels=CHANNELS)).eval()
    for block, mine in zip(net.blocks, lone.blocks, strict=True):
        conv, bn = block[0], block[1]
        c = mine[0].out_channels
        rows = slice(k * c, (k + 1) * c)
        mine[0].weight.data.copy_(conv.weight.data[rows])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(mine[1], name).data.copy_(getattr(bn, name).data[rows])
    c = CHANNELS[-1]
    lone.fc.weight.data.copy_(net.members * net.fc.weight.data[:, k * c:(k + 1) * c])
    lone.fc.bias.data.copy_(net.fc.bias.data)
    return lone


def test_the_ensemble_is_the_mean_of_its_members() -> None:
    # independent truth: each member rebuilt as a lone CNN from its slice of the weights
    net = _ensemble(3)
    x = torch.randn(4, 1, 128, 90, generator=torch.Generator().manual_seed(2)) * 10 - 40
    with torch.no_grad():
        lone = torch.stack([_member(net, k)(x) for k in range(3)], 1)  # (B, K, C)
        torch.testing.assert_close(net.member_logits(x), lone, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(net(x), lone.mean(1), rtol=1e-4, atol=1e-5)


def test_members_differ_and_one_member_is_the_plain_cnn() -> None:
    net = _ensemble(2)
    x = torch.randn(2, 1, 128, 60, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        per = net.member_logits(x)
    assert not torch.allclose(per[:, 0], per[:, 1])  # initialised apart
    # members=1 is the cnn as it always was: same parameters from the same seed
    torch.manual_seed(0)
    plain = LogMelCnn(5, CnnOptions(channels=CHANNELS)).state_dict()
    torch.manual_seed(0)
    one = LogMelCnn(5, CnnOptions(channels=CHANNELS, members=1)).state_dict()
    assert plain.keys() == one.keys()
    assert all(torch.equal(plain[k], one[k]) for k in plain)


@pytest.mark.parametrize("method", ["crp", "lrp"])
def test_lrp_and_crp_conserve_on_the_ensemble(method: str) -> None:
    net = _ensemble(3)
    net.fc.bias.data.zero_()
    for m in net.modules():  # no bias anywhere: relevance must sum to the explained logit
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.zero_()
            m.bias.data.zero_()
    x = torch.randn(3, 1, 128, 70, generator=torch.Generator().manual_seed(1)) * 10 - 40
    with torch.no_grad():
        logits = net(x)
    target = logits.argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rel = build("method", method, net).attribute(x, target)
    ratio = rel.reshape(3, -1).sum(1) / logits[torch.arange(3), target]
    torch.testing.assert_close(ratio, torch.ones(3), rtol=1e-3, atol=1e-3)


def test_gradcam_of_the_ensemble_sees_every_member() -> None:
    net = _ensemble(2)
    x = torch.randn(2, 1, 128, 70, generator=torch.Generator().manual_seed(4)) * 10 - 40
    target = net(x).argmax(1)
    rel = build("method", "gradcam", net).attribute(x, target)
    assert rel.shape[0] == 2 and torch.isfinite(rel).all() and rel.abs().sum() > 0


def test_training_scores_each_member_on_its_own() -> None:
    # the training loss of a K-member ensemble gives member k's weights the gradient a lone
    # CNN's loss gives its own, divided by K (Adam then steps them as it would the lone one)
    from bsx.models.train import _training_logits

    net = _ensemble(2).train()
    net.dropout.p = 0.0
    x = torch.randn(6, 1, 128, 50, generator=torch.Generator().manual_seed(5))
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    out, per_row = _training_logits(net, x)
    assert out.shape == (12, 5) and per_row == 2
    torch.nn.functional.cross_entropy(out, y.repeat_interleave(per_row)).backward()
    lone = _member(net, 1).train()
    lone.dropout.p = 0.0
    torch.nn.functional.cross_entropy(lone(x), y).backward()
    c = CHANNELS[0]
    got = net.blocks[0][0].weight.grad[c:2 * c]
    np.testing.assert_allclose(got.numpy(), lone.blocks[0][0].weight.grad.numpy() / 2,
                               rtol=1e-3, atol=1e-6)


def test_members_is_a_model_option() -> None:
    net = build("model", "cnn", 7, options={"members": 2, "channels": [4, 8]})
    assert net.members == 2 and net.fc.in_features == 16
    with pytest.raises(ValueError):
        CnnOptions(members=0)

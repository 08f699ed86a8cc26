"""Every built-in method on SpotNet, whose right answer is known: only frames 40-59 matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.errors import BsxError
from bsx.plugins import build
from bsx.testing import SpotNet, frame_coverage, spot_batch
from bsx.windows import WindowOptions, find_windows_batch, window_mask

FRAME_S = 0.015
SPAN = (40, 60)
METHODS = ["gradcam", "occlusion", "occlusion-time", "crp", "lrp", "saliency",
           "integrated-gradients"]
# occlusion with the paper's 0 dB baseline inserts energy: its sign is the opposite
SIGN = {"occlusion": "absolute"}


# the paper's 2-D occlusion scores every mel band on its own (5,376 passes per 128 x 134
# clip): it runs on 16 mel bands here to keep the suite fast; the rule is the same
N_MELS = {"occlusion": 16}


def case(name: str, n: int = 3, seed: int = 1) -> tuple[SpotNet, torch.Tensor]:
    m = N_MELS.get(name, 128)
    return SpotNet(SPAN, n_mels=m), spot_batch(n, n_mels=m, seed=seed)


@pytest.fixture(scope="module")
def net() -> SpotNet:
    return SpotNet(SPAN)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return spot_batch(3, seed=1)


@pytest.mark.parametrize("name", METHODS)
def test_windows_cover_the_span(name: str) -> None:
    net, batch = case(name)
    target = torch.ones(3, dtype=torch.long)
    maps = build("method", name, net).attribute(batch, target)
    assert maps.shape == (3, batch.shape[2], 134) and maps.dtype == torch.float32
    opts = WindowOptions(k=2, sign=SIGN.get(name, "positive"))
    for windows in find_windows_batch(maps.numpy(), FRAME_S, opts):
        # the span is exactly the windows [40, 50) and [50, 60)
        assert sorted((w.start_frame, w.end_frame) for w in windows) == [(40, 50), (50, 60)]
        assert frame_coverage(window_mask(windows, 134), SPAN) == 1.0


@pytest.mark.parametrize("name", ["gradcam", "crp", "lrp", "saliency",
                                  "integrated-gradients", "occlusion-time"])
def test_no_relevance_outside_the_span(name: str, net: SpotNet, batch: torch.Tensor) -> None:
    maps = build("method", name, net).attribute(batch, torch.ones(3, dtype=torch.long))
    outside = torch.cat([maps[..., :SPAN[0]], maps[..., SPAN[1]:]], dim=-1)
    assert outside.abs().max() <= 1e-6 * maps.abs().max()


def test_random_does_not_cover_the_span(net: SpotNet) -> None:
    # 200 random maps: with k=2 windows of 14, P(hitting exactly the 2 span windows) = 1/91
    x = spot_batch(200, seed=2)
    maps = build("method", "random", net, options={"seed": 3}).attribute(
        x, torch.ones(200, dtype=torch.long))
    wins = find_windows_batch(maps.numpy(), FRAME_S, WindowOptions(k=2))
    cover = np.array([frame_coverage(window_mask(w, 134), SPAN) for w in wins])
    exact = np.mean([sorted(w_.start_frame for w_ in w) == [40, 50] for w in wins])
    assert cover.mean() < 0.35 and exact < 0.05


def test_random_is_seeded(net: SpotNet, batch: torch.Tensor) -> None:
    t = torch.ones(3, dtype=torch.long)
    a = build("method", "random", net, options={"seed": 7}).attribute(batch, t)
    b = build("method", "random", net, options={"seed": 7}).attribute(batch, t)
    c = build("method", "random", net, options={"seed": 8}).attribute(batch, t)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0.0 <= float(a.min()) and float(a.max()) < 1.0


@pytest.mark.parametrize("name", METHODS + ["random"])
def test_model_is_left_as_found(name: str) -> None:
    net, batch = case(name, n=2)
    net.fc.weight.requires_grad_(False)  # a mix of flags, which must survive
    net.train()  # and a training flag
    before = {k: v.clone() for k, v in net.state_dict().items()}
    hooks_before = sum(len(m._forward_hooks) + len(m._backward_hooks)
                       + len(m._forward_pre_hooks) for m in net.modules())
    build("method", name, net).attribute(batch, torch.ones(2, dtype=torch.long))
    assert [p.requires_grad for p in net.parameters()] == [True, True, False, True]
    assert net.training and all(m.training for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert not hasattr(net, "canonizer_sum")
    hooks_after = sum(len(m._forward_hooks) + len(m._backward_hooks)
                      + len(m._forward_pre_hooks) for m in net.modules())
    assert hooks_after == hooks_before


def test_second_class_is_the_mirror(net: SpotNet, batch: torch.Tensor) -> None:
    # class 0 = -energy: its saliency has the same magnitude, its IG the opposite sign
    ig = build("method", "integrated-gradients", net)
    a = ig.attribute(batch, torch.ones(3, dtype=torch.long))
    b = ig.attribute(batch, torch.zeros(3, dtype=torch.long))
    torch.testing.assert_close(a, -b)


def test_integrated_gradients_completeness(net: SpotNet, batch: torch.Tensor) -> None:
    # IG from the floor sums to logit(x) - logit(floor); the net is linear above the floor
    maps = build("method", "integrated-gradients", net).attribute(
        batch, torch.ones(3, dtype=torch.long))
    floor = batch.amin(dim=(1, 2, 3), keepdim=True).expand_as(batch)
    with torch.no_grad():
        gap = net(batch)[:, 1] - net(floor)[:, 1]
    torch.testing.assert_close(maps.sum(dim=(1, 2)), gap, rtol=1e-3, atol=1e-4)


def test_bad_batch_is_a_clear_error(net: SpotNet) -> None:
    method = build("method", "saliency", net)
    with pytest.raises(BsxError, match=r"\(B, 1, n_mels, T\)"):
        method.attribute(torch.zeros(2, 128, 134), torch.ones(2, dtype=torch.long))
    with pytest.raises(BsxError, match="one target per clip"):
        method.attribute(torch.zeros(2, 1, 128, 134), torch.ones(3, dtype=torch.long))


def test_bad_options_are_clear_errors(net: SpotNet) -> None:
    from bsx.errors import BadOptions

    with pytest.raises(BadOptions, match="channels and top_n need a layer"):
        build("method", "crp", net, options={"channels": [35]})
    with pytest.raises(BadOptions, match="either channels or top_n"):
        build("method", "crp", net, options={"layer": "lift", "channels": [0], "top_n": 1})
    with pytest.raises(BadOptions, match="no layer 'layer1.conv1'; layers: lift"):
        build("method", "crp", net, options={"layer": "layer1.conv1", "channels": [35]})
    with pytest.raises(BadOptions, match="has 1 channels; got \\[35\\]"):
        build("method", "crp", net, options={"layer": "lift", "channels": [35]})
    with pytest.raises(BadOptions, match="accepted: relu, layer"):
        build("method", "gradcam", net, options={"rleu": False})


def test_crp_concept_on_the_only_channel_equals_plain_crp(net: SpotNet,
                                                          batch: torch.Tensor) -> None:
    # SpotNet's lift layer has one channel: conditioning on it must change nothing
    t = torch.ones(3, dtype=torch.long)
    plain = build("method", "crp", net).attribute(batch, t)
    method = build("method", "crp", net, options={"layer": "lift", "top_n": 1})
    torch.testing.assert_close(method.attribute(batch, t), plain)
    assert method.last_channels == [[0], [0], [0]]

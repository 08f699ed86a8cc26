"""The fixed test networks really only look where they say they do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.models.base import last_conv_block
from bsx.testing import SpotNet, frame_coverage, spot_batch


def test_logits_ignore_everything_outside_the_span() -> None:
    net = SpotNet((40, 60))
    x = spot_batch(2, seed=0)
    y = x.clone()
    y[..., :40] = torch.rand_like(y[..., :40]) * -80
    y[..., 60:] = 0.0
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(y))
        z = x.clone()
        z[..., 45] += 10.0
        assert (net(z)[:, 1] > net(x)[:, 1]).all() and (net(z)[:, 0] < net(x)[:, 0]).all()


def test_logit_is_the_span_level_above_the_floor() -> None:
    net = SpotNet((40, 60))
    x = spot_batch(1, seed=1)
    expected = float((x[..., 40:60] + 80).mean() / 10)
    with torch.no_grad():
        assert float(net(x)[0, 1]) == pytest.approx(expected, rel=1e-5)


def test_mel_band_net_ignores_other_bands() -> None:
    net = SpotNet(frames=(0, 134), mels=(10, 20))
    x = spot_batch(1, seed=2)
    y = x.clone()
    y[:, :, 20:] = -5.0
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(y))
        y[:, :, 15] += 5.0
        assert float(net(y)[0, 1]) > float(net(x)[0, 1])


def test_cam_layer_and_coverage() -> None:
    net = SpotNet((40, 60))
    assert last_conv_block(net) is net.spot
    mask = np.zeros((128, 134), dtype=bool)
    mask[:, 40:50] = True
    assert frame_coverage(mask, (40, 60)) == 0.5

"""Occlusion: the paper's 2-D patch against Captum, the time band against a hand count."""

from __future__ import annotations

import torch

from bsx.plugins import build
from bsx.testing import SpotNet, spot_batch
from bsx.windows import WindowOptions, find_windows_batch


def test_2d_matches_captum_occlusion() -> None:
    from captum.attr import Occlusion as CaptumOcclusion

    net = SpotNet((10, 20), mels=(1, 3), n_mels=4, n_frames=40)
    x = spot_batch(2, n_mels=4, n_frames=40, seed=4)
    t = torch.tensor([1, 0])
    ours = build("method", "occlusion", net, options={"max_batch": 7}).attribute(x, t)
    ref = CaptumOcclusion(net).attribute(
        x, sliding_window_shapes=(1, 1, 10), strides=(1, 1, 3), baselines=0.0, target=t)
    torch.testing.assert_close(ours, ref[:, 0], rtol=1e-4, atol=1e-5)


def test_time_band_is_the_hand_computed_drop() -> None:
    net = SpotNet((40, 60))
    x = spot_batch(2, seed=5)
    maps = build("method", "occlusion-time", net).attribute(x, torch.ones(2, dtype=torch.long))
    floor = x.amin(dim=(1, 2, 3))
    area = 128 * 20
    # logit 1 = sum over the spot of (x + 80) / area / 10, linear above the floor, so
    # silencing frames 40-49 drops it by sum((x - floor) over those cells) / area / 10
    drop = (x[:, 0, :, 40:50] - floor[:, None, None]).sum(dim=(1, 2)) / area / 10
    torch.testing.assert_close(maps[:, 0, 45], drop, rtol=1e-4, atol=1e-5)
    # the same value in every mel band of the span, nothing outside it
    assert torch.allclose(maps[:, :, 40:50], maps[:, :1, 40:50].expand(-1, 128, -1))
    assert maps[:, :, :40].abs().max() < 1e-5 and maps[:, :, 60:].abs().max() < 1e-5


def test_time_band_covers_every_frame() -> None:
    # the last band is flush with the end: a net looking only at frames 128-133 is seen
    net = SpotNet((128, 134))
    maps = build("method", "occlusion-time", net).attribute(
        spot_batch(1, seed=6), torch.ones(1, dtype=torch.long))
    assert (maps[0, 0, 128:] > 0).all() and maps[0, 0, :120].abs().max() < 1e-5


def test_2d_and_time_band_agree_on_windows() -> None:
    net = SpotNet((40, 60), n_mels=16)
    x = spot_batch(3, n_mels=16, seed=7)
    t = torch.ones(3, dtype=torch.long)
    band = build("method", "occlusion-time", net).attribute(x, t).numpy()
    flat = build("method", "occlusion", net, options={"baseline": "floor"}).attribute(x, t)
    paper = build("method", "occlusion", net).attribute(x, t)  # 0 dB: the sign flips
    opts = WindowOptions(k=2)
    spans = [[(w.start_frame, w.end_frame) for w in ws] for ws in
             find_windows_batch(band, 0.015, opts)]
    for maps, o in ((flat, opts), (paper, WindowOptions(k=2, sign="absolute"))):
        other = [[(w.start_frame, w.end_frame) for w in ws] for ws in
                 find_windows_batch(maps.numpy(), 0.015, o)]
        assert [sorted(s) for s in other] == [sorted(s) for s in spans]
    assert all(sorted(s) == [(40, 50), (50, 60)] for s in spans)
    assert float(paper[:, :, 40:60].sum()) < 0 < float(flat[:, :, 40:60].sum())

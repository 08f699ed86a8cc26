"""bsx's batched region perturbation against Quantus' own RegionPerturbation on the same
frame gate: the curves must be the same numbers (ties, padding, waveform grid, refusals)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from bsx.methods.base import content_mask
from bsx.scoring.perturb import frame_gate, silence_baseline
from bsx.scoring.quantus_asserts import install
from bsx.scoring.removal import _chunks, morf_order, region_perturbation_curves
from bsx.testing import SpotNet

T = 237  # not a multiple of 10: Quantus pads 1 frame left, 2 right; 24 windows


pytestmark = pytest.mark.usefixtures("one_thread")


class EnergyNet(torch.nn.Module):
    """2 classes on (B, N) waveforms: class 1 = energy of samples 1000..2000 only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = (x[:, 1000:2000] ** 2).mean(dim=1) * 5.0
        return torch.stack([torch.zeros_like(e), e], dim=1)


class FrameWeightNet(torch.nn.Module):
    """2 classes on (B, 1, n_mels, T) log-mels: class 1 = a different weight per frame, so
    the order in which tied windows go changes the curve."""

    def __init__(self, n_frames: int) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(-0.02, 0.03, n_frames), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = ((x.mean(dim=(1, 2)) + 80.0) * self.w).sum(dim=-1)
        return torch.stack([torch.zeros_like(e), e], dim=1)


def quantus_curves(gate, a_frames, y, steps):
    import quantus

    install()
    b, t = a_frames.shape
    m = quantus.RegionPerturbation(patch_size=10, order="morf", regions_evaluation=steps,
                                   abs=False, normalise=False, perturb_baseline=0.0,
                                   disable_warnings=True, display_progressbar=False,
                                   return_aggregate=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = m(model=gate, x_batch=np.ones((b, 1, 1, t), np.float32), y_batch=y,
                a_batch=a_frames[:, None, None, :], softmax=True, channel_first=True,
                device="cpu", batch_size=b)
    return np.asarray(res, dtype=np.float64).reshape(b, -1)


def test_morf_order_by_hand() -> None:
    # T = 25: padded to 30 (2 left, 3 right); windows cover frames [-2, 8), [8, 18), [18, 28)
    a = np.zeros((1, 25), dtype=np.float32)
    a[0, 20] = 5.0   # window 2
    a[0, 0] = 3.0    # window 0
    a[0, 9] = 1.0    # window 1
    order, left = morf_order(a, 10)
    assert left == 2
    assert order.tolist() == [[2, 0, 1]]


def test_chunks_never_leave_a_single_row() -> None:
    for n in range(1, 300):
        parts = _chunks(n, 64)
        sizes = [p.stop - p.start for p in parts]
        assert sum(sizes) == n and max(sizes) <= 64
        assert n == 1 or min(sizes) > 1


@pytest.mark.parametrize("padded", [False, True])
def test_curves_equal_quantus_on_log_mels(padded: bool) -> None:
    rng = np.random.default_rng(3)
    b = 7
    x = (-80.0 + rng.random((b, 1, 16, T)) * 6.0).astype(np.float32)
    x[..., 12:22] += 10.0
    net = FrameWeightNet(T).eval()
    maps = rng.random((b, 16, T)).astype(np.float32)
    maps[:3, :, 25:205] = 0.0     # tied windows inside the content
    maps[3] = maps[3].round(1)    # more ties
    keep = None
    if padded:
        content = np.array([[0, T], [5, 200], [10, 130], [0, 12], [20, T], [3, 44], [0, 1]])
        keep = content_mask(content, b, T)
        maps[~np.repeat(keep[:, None], 16, 1)] = 0.0
    gate = frame_gate(net, x, silence_baseline(x), "cpu", content=keep)
    a = maps.sum(axis=1)
    y = rng.integers(0, 2, b)
    steps = math.ceil(T / 10)
    ours = region_perturbation_curves(gate, a, y, 10, steps, torch.device("cpu"))
    theirs = quantus_curves(gate, a, y, steps)
    assert ours.shape == (b, steps)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert np.abs(theirs).max() > 0.01  # the test removes something the model uses


def test_curves_equal_quantus_on_waveforms() -> None:
    rng = np.random.default_rng(0)
    hop = 100
    x = (0.5 * rng.standard_normal((3, 4000))).astype(np.float32)
    t = 1 + 4000 // hop
    a = rng.random((3, t)).astype(np.float32)
    net = EnergyNet().eval()
    gate = frame_gate(net, x, np.zeros_like(x), "cpu", hop_length=hop)
    y = np.ones(3, dtype=int)
    steps = math.ceil(t / 10)
    ours = region_perturbation_curves(gate, a, y, 10, steps, torch.device("cpu"))
    np.testing.assert_allclose(ours, quantus_curves(gate, a, y, steps), rtol=0, atol=1e-6)


def test_a_constant_map_is_refused_as_quantus_refuses_it() -> None:
    x = np.full((2, 1, 16, T), -40.0, dtype=np.float32)
    gate = frame_gate(SpotNet(frames=(12, 22), n_frames=T, n_mels=16), x, silence_baseline(x))
    a = np.zeros((2, T), dtype=np.float32)
    with pytest.raises(AssertionError, match="all equal to zero"):
        region_perturbation_curves(gate, a, np.ones(2, int), 10, 5, torch.device("cpu"))
    with pytest.raises(AssertionError, match="all equal to zero"):
        quantus_curves(gate, a, np.ones(2, int), 5)


def test_only_inputs_that_differ_are_run() -> None:
    # clip 0: content in frames 0-14 of 47 (Quantus' windows [-1, 9), [9, 19), ...: two hold
    # content); clip 1: all content (5 windows). Rows run: 2 unperturbed + 2 + 5.
    rows: list[int] = []

    class Counting(FrameWeightNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rows.append(len(x))
            return super().forward(x)

    t = 47
    x = np.random.default_rng(0).uniform(-80, -40, (2, 1, 4, t)).astype(np.float32)
    keep = content_mask(np.array([[0, 15], [0, t]]), 2, t)
    a = np.random.default_rng(1).random((2, t)).astype(np.float32)
    gate = frame_gate(Counting(t).eval(), x, silence_baseline(x), content=keep)
    region_perturbation_curves(gate, a, np.ones(2, int), 10, 5, torch.device("cpu"))
    assert sum(rows) == 2 + 2 + 5

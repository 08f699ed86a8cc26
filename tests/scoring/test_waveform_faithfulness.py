"""Quantus removal metrics on waveform models, through the per-frame gate on samples."""

import numpy as np
import torch

from bsx.scoring.faithfulness import Removal, quantus_scores
from bsx.scoring.perturb import frame_gate

HOP = 160


class SpanEnergyNet(torch.nn.Module):
    """2 classes on (B, N) waveforms: class 1 = energy of samples 3200..4800 only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = (x[:, 3200:4800] ** 2).mean(dim=1) * 50.0
        return torch.stack([torch.zeros_like(e), e], dim=1)


def test_a_gate_frame_removes_exactly_its_samples() -> None:
    x = np.ones((1, 1000), dtype=np.float32)
    gate = frame_gate(torch.nn.Identity(), x, np.zeros_like(x), hop_length=100)
    g = torch.ones(1, 1, 1, 11)
    g[..., 3] = 0.0                      # frame 3 is centred at sample 300: 250..349
    out = gate(g).numpy()[0]
    assert np.flatnonzero(out == 0).tolist() == list(range(250, 350))


def test_region_perturbation_prefers_the_map_on_the_span_the_model_uses() -> None:
    rng = np.random.default_rng(0)
    x = (0.5 * rng.standard_normal((3, 8000))).astype(np.float32)
    t = 1 + 8000 // HOP
    good = np.zeros((3, 1, t), dtype=np.float32)
    good[:, 0, 3200 // HOP:4800 // HOP + 1] = 1.0
    good += rng.uniform(0, 0.01, good.shape).astype(np.float32)
    bad = 1.0 - good
    y = np.ones(3, dtype=int)
    net = SpanEnergyNet().eval()
    wave = Removal(hop_length=HOP)
    s_good = quantus_scores(net, x, y, good, ["region-perturbation"], removal=wave)
    s_bad = quantus_scores(net, x, y, bad, ["region-perturbation"], removal=wave)
    assert np.all(s_good["region-perturbation"] > s_bad["region-perturbation"])
    sp = quantus_scores(net, x, y, good, ["sparseness"], removal=wave)["sparseness"]
    assert np.all(sp > quantus_scores(net, x, y, bad, ["sparseness"], removal=wave)["sparseness"])

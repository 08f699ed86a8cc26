"""The methods on the paper's own checkpoints (external data: BSX_PAPER_CHECKPOINTS)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from bsx.audio import get_frontend, prepare_waveform
from bsx.plugins import build

CKPT_ENV = "BSX_PAPER_CHECKPOINTS"


@pytest.fixture(scope="module")
def tess() -> torch.nn.Module:
    root = os.environ.get(CKPT_ENV)
    if not root:
        pytest.skip(f"{CKPT_ENV} is not set: the paper's checkpoints are external data")
    from bsx.models.checkpoint import load_model

    return load_model(Path(root) / "best_model_tess.pth", label_preset="paper7").net


def synth_batch(n: int = 32, seed: int = 0) -> torch.Tensor:
    """n harmonic 'vowels' (120-300 Hz, 0.4-1.4 s, random onsets) through the paper front-end."""
    rng = np.random.default_rng(seed)
    fe = get_frontend("paper")
    out = []
    for _ in range(n):
        dur, f0 = rng.uniform(0.4, 1.4), rng.uniform(120, 300)
        t = np.arange(int(dur * fe.sample_rate)) / fe.sample_rate
        pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 6) * t))
        phase = 2 * np.pi * np.cumsum(pitch) / fe.sample_rate
        y = sum(np.sin(h * phase) / h for h in range(1, 8)) * np.hanning(len(t))
        lead = np.zeros(int(rng.uniform(0.0, 0.5) * fe.sample_rate))
        y = np.concatenate([lead, y, np.zeros(fe.sample_rate // 2)]) * 0.3
        y = y + rng.normal(0, 1e-3, len(y))
        out.append(prepare_waveform(y.astype(np.float32), fe).logmel)
    return torch.tensor(np.stack(out))[:, None]


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return synth_batch()


@pytest.mark.slow
@pytest.mark.parametrize("name,opts,n", [
    ("gradcam", {}, 32),
    ("crp", {"layer": "layer1.conv1", "channels": [35]}, 32),     # the paper's condition
    ("crp", {}, 8),
    ("crp", {"layer": "layer1.conv1", "top_n": 3}, 4),
])
def test_runs_on_a_batch_of_32(tess: torch.nn.Module, batch: torch.Tensor, name: str,
                               opts: dict, n: int) -> None:
    batch = batch[:n]
    with torch.no_grad():
        target = tess(batch).argmax(1)
    method = build("method", name, tess, options=opts)
    maps = method.attribute(batch, target)
    assert maps.shape == (n, 128, 134) and torch.isfinite(maps).all()
    assert (maps.abs().flatten(1).amax(1) > 0).all()  # every clip got a non-empty map
    assert all(p.requires_grad for p in tess.parameters())
    if opts.get("top_n"):
        chosen = method.last_channels
        assert len(chosen) == n and all(len(set(c)) == 3 for c in chosen)


def test_top_n_picks_the_most_relevant_channels(tess: torch.nn.Module,
                                                batch: torch.Tensor) -> None:
    # independent truth: the channel relevance zennit-crp records for the target logit
    from crp.attribution import CondAttribution
    from zennit.composites import EpsilonPlusFlat

    from bsx.methods.base import preserved
    from bsx.methods.canonizers import make_canonizers

    x, layer = batch[:3], "layer1.conv1"
    with torch.no_grad():
        target = tess(x).argmax(1)
    method = build("method", "crp", tess, options={"layer": layer, "top_n": 2})
    method.attribute(x, target)
    with preserved(tess):
        res = CondAttribution(tess)(
            x.clone().requires_grad_(True), [{"y": [int(t)]} for t in target],
            EpsilonPlusFlat(make_canonizers("bsx")), record_layer=[layer])
    per_ch = res.relevances[layer].sum(dim=(2, 3))
    for row, chosen in zip(per_ch, method.last_channels, strict=True):
        assert set(chosen) == set(torch.argsort(row, descending=True)[:2].tolist())
    maps = build("method", "crp", tess, options={"layer": layer, "channels": [35]}
                 ).attribute(x, target)
    assert maps.shape == (3, 128, 134)


def test_input_relevance_over_logit(tess: torch.nn.Module, batch: torch.Tensor) -> None:
    """The paper's canonizer roughly quadruples the logit (two residual adds, each doubling);
    ours stays near 1 on average (merged biases absorb or add some relevance per clip)."""
    x = batch[:8]
    with torch.no_grad():
        logits = tess(x)
    target = logits.argmax(1)
    logit = logits[torch.arange(8), target]
    ratio = {}
    for can in ("bsx", "paper"):
        maps = build("method", "lrp", tess, options={"canonizer": can}).attribute(x, target)
        ratio[can] = float((maps.sum(dim=(1, 2)) / logit).mean())
    assert 0.4 < ratio["bsx"] < 1.2 and ratio["paper"] > 2.0, ratio
    assert abs(ratio["bsx"] - 1) < abs(ratio["paper"] - 1) / 2, ratio

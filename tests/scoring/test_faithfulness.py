"""Quantus faithfulness, randomisation, robustness and complexity wrappers on a planted model:
SpotNet's logits depend on frames 20-29 only, so a map there must beat a random map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.scoring.faithfulness import Removal, quantus_scores
from bsx.scoring.perturb import (
    apply_frame_mask,
    frame_gate,
    make_baseline,
    noise_baseline,
    silence_baseline,
)
from bsx.testing import SpotNet

B, T = 6, 60
SPOT = (20, 30)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def setup() -> dict:
    rng = np.random.default_rng(0)
    net = SpotNet(frames=SPOT, n_frames=T)
    # quiet clip near the -80 dB floor with a spot 10 dB up: the model is not saturated
    x = (-80.0 + rng.random((B, 1, 128, T)) * 6.0).astype(np.float32)
    x[..., SPOT[0]:SPOT[1]] += 10.0
    y = np.ones(B, dtype=int)
    good = rng.random((B, 128, T)).astype(np.float32) * 0.01
    good[:, :, SPOT[0]:SPOT[1]] += 1.0
    rand = rng.random((B, 128, T)).astype(np.float32)
    return dict(net=net, x=x, y=y, good=good, rand=rand)


def grad_x_input(model, inputs, targets, **kw) -> np.ndarray:
    """Gradient x (input - floor): a class-dependent explanation."""
    xx = torch.as_tensor(np.asarray(inputs), dtype=torch.float32).requires_grad_(True)
    out = model(xx)
    out[torch.arange(len(xx)), torch.as_tensor(np.asarray(targets))].sum().backward()
    return (xx.grad * (xx + 80.0)).detach().numpy()[:, 0]


def input_echo(model, inputs, targets, **kw) -> np.ndarray:
    """Ignores model and class: an edge-detector-like map (Adebayo et al. 2018)."""
    return np.asarray(inputs)[:, 0] + 80.0


def fixed_map(model, inputs, targets, **kw) -> np.ndarray:
    """Ignores everything: the same map for any input."""
    m = np.zeros((len(inputs), 128, T), dtype=np.float32)
    m[:, :, SPOT[0]:SPOT[1]] = 1.0
    m[:, 0, 0] = 0.5
    return m


def test_planted_map_is_faithful_random_map_is_not(setup) -> None:
    s_good = quantus_scores(setup["net"], setup["x"], setup["y"], setup["good"],
                            ["faithfulness-correlation", "region-perturbation"])
    s_rand = quantus_scores(setup["net"], setup["x"], setup["y"], setup["rand"],
                            ["faithfulness-correlation", "region-perturbation"])
    assert np.all(s_good["faithfulness-correlation"] > 0.9)
    assert abs(s_rand["faithfulness-correlation"].mean()) < 0.3
    assert s_good["region-perturbation"].mean() > s_rand["region-perturbation"].mean() + 0.05


def test_region_perturbation_equals_the_drop_of_removing_the_spot(setup) -> None:
    # the planted map removes the spot's window first; every later window is background at
    # the floor, so the AOPC is exactly the drop from silencing the spot (independent truth)
    net, x = setup["net"], setup["x"]
    s = quantus_scores(net, x, setup["y"], setup["good"], ["region-perturbation"])
    base = silence_baseline(x)
    frames = np.zeros((B, T), dtype=bool)
    frames[:, SPOT[0]:SPOT[1]] = True
    with torch.no_grad():
        p0 = torch.softmax(net(torch.as_tensor(x)), -1)[:, 1].numpy()
        xr = torch.as_tensor(apply_frame_mask(x, base, frames))
        p1 = torch.softmax(net(xr), -1)[:, 1].numpy()
    np.testing.assert_allclose(s["region-perturbation"], p0 - p1, atol=0.02)


def test_noise_baseline_also_ranks_the_planted_map_first(setup) -> None:
    kw = dict(removal=Removal(baseline="noise", snr_db=20.0))
    good = quantus_scores(setup["net"], setup["x"], setup["y"], setup["good"],
                          ["faithfulness-correlation"], **kw)
    rand = quantus_scores(setup["net"], setup["x"], setup["y"], setup["rand"],
                          ["faithfulness-correlation"], **kw)
    assert good["faithfulness-correlation"].mean() > rand["faithfulness-correlation"].mean() + 0.5


def test_complexity_prefers_the_concentrated_map(setup) -> None:
    good = quantus_scores(setup["net"], setup["x"], setup["y"], setup["good"],
                          ["sparseness", "complexity"])
    rand = quantus_scores(setup["net"], setup["x"], setup["y"], setup["rand"],
                          ["sparseness", "complexity"])
    assert np.all(good["sparseness"] > rand["sparseness"])
    assert np.all(good["complexity"] < rand["complexity"])
    # entropy of a uniform map over n bins is log(n): the random map is close to it
    assert np.all(rand["complexity"] < np.log(128 * T) + 1e-6)
    assert np.all(rand["complexity"] > np.log(128 * T) - 0.3)


def test_random_logit_flags_a_class_blind_explainer(setup) -> None:
    net, x, y = setup["net"], setup["x"], setup["y"]
    echo = quantus_scores(net, x, y, input_echo(net, x, y), ["random-logit"],
                          explain_fn=input_echo)
    grad = quantus_scores(net, x, y, grad_x_input(net, x, y), ["random-logit"],
                          explain_fn=grad_x_input)
    np.testing.assert_allclose(echo["random-logit"], 1.0, atol=1e-6)  # identical maps
    # SpotNet's class 0 mirrors class 1: the off-class map is the negated one. Quantus' SSIM
    # runs on the flattened maps, whose zero stretches match, so the score stays near 1.
    assert np.all(grad["random-logit"] < 0.99)


def test_robustness_of_a_constant_explainer_is_perfect(setup) -> None:
    net, x, y = setup["net"], setup["x"], setup["y"]
    names = ["max-sensitivity", "local-lipschitz-estimate"]
    const = quantus_scores(net, x, y, fixed_map(net, x, y), names, explain_fn=fixed_map)
    echo = quantus_scores(net, x, y, input_echo(net, x, y), names, explain_fn=input_echo)
    for name in names:
        np.testing.assert_allclose(const[name], 0.0, atol=1e-9)
        assert np.all(echo[name] > 0.0)


def test_efficient_mprt_sees_no_change_for_a_model_blind_explainer(setup) -> None:
    net, x, y = setup["net"], setup["x"], setup["y"]
    s = quantus_scores(net, x, y, fixed_map(net, x, y), ["efficient-mprt"], explain_fn=fixed_map)
    np.testing.assert_allclose(s["efficient-mprt"], 0.0, atol=1e-9)


def test_road_gives_a_share_per_clip(setup) -> None:
    x, y = setup["x"][:2, :, :, :20], setup["y"][:2]
    small = SpotNet(frames=(5, 10), n_frames=20)
    s = quantus_scores(small, x, y, setup["good"][:2, :, :20], ["road"])
    assert s["road"].shape == (2,)
    assert np.all((s["road"] >= 0) & (s["road"] <= 1))


def test_baselines_are_audio_levels() -> None:
    rng = np.random.default_rng(1)
    x = (-80.0 + 60.0 * rng.random((2, 1, 128, 30))).astype(np.float32)
    x[1] -= 5.0
    sil = silence_baseline(x)
    assert sil.shape == x.shape
    assert np.all(sil[0] == x[0].min()) and np.all(sil[1] == x[1].min())
    noise = noise_baseline(x, snr_db=20.0, seed=0)
    assert noise.shape == x.shape and np.all(noise >= x.reshape(2, -1).min(1)[:, None, None, None])
    # mean linear power: the noise sits 20 dB below each clip (before the floor lifts it)
    for i in range(2):
        clip = np.mean(10 ** (x[i] / 10))
        nse = np.mean(10 ** (noise[i] / 10))
        assert 10 * np.log10(clip / nse) == pytest.approx(20.0, abs=0.5)
    with pytest.raises(ValueError, match="silence"):
        make_baseline(x, "uniform")  # type: ignore[arg-type]


def test_frame_gate_removes_whole_frames(setup) -> None:
    x = setup["x"][:2]
    base = silence_baseline(x)
    gate = frame_gate(torch.nn.Identity(), x, base)
    g = torch.ones(2, 1, 1, T)
    g[:, :, :, 3] = 0
    out = gate(g).numpy()
    np.testing.assert_array_equal(out[..., 3], base[..., 3])
    np.testing.assert_array_equal(out[..., 4], x[..., 4])
    with pytest.raises(RuntimeError, match="batch_size"):
        gate(torch.ones(3, 1, 1, T))


def test_bad_requests(setup) -> None:
    with pytest.raises(ValueError, match="needs explain_fn"):
        quantus_scores(setup["net"], setup["x"], setup["y"], setup["good"], ["random-logit"])
    with pytest.raises(ValueError, match="not a Quantus metric"):
        quantus_scores(setup["net"], setup["x"], setup["y"], setup["good"], ["auc"])


def test_robustness_does_not_depend_on_the_map_scale_or_the_batch(setup) -> None:
    """Scaling a method's maps by 10 (given and re-explained alike) leaves max-sensitivity
    and local-lipschitz-estimate unchanged; a clip scores the same alone or in a batch."""
    net, x, y = setup["net"], setup["x"], setup["y"]
    names = ["max-sensitivity", "local-lipschitz-estimate", "random-logit"]

    def tenfold(model, inputs, targets, **kw) -> np.ndarray:
        return 10.0 * grad_x_input(model, inputs, targets, **kw)

    one = quantus_scores(net, x, y, grad_x_input(net, x, y), names, explain_fn=grad_x_input)
    ten = quantus_scores(net, x, y, tenfold(net, x, y), names, explain_fn=tenfold)
    for name in names:
        assert np.all(np.isfinite(one[name]))
        np.testing.assert_allclose(ten[name], one[name], rtol=1e-4, err_msg=name)
    # clip 0 scaled by 1000 inside the batch: the others' scores do not move
    big = grad_x_input(net, x, y)
    big[0] *= 1000.0

    def first_big(model, inputs, targets, **kw) -> np.ndarray:
        a = grad_x_input(model, inputs, targets, **kw)
        a[0] *= 1000.0
        return a

    mixed = quantus_scores(net, x, y, big, names, explain_fn=first_big)
    for name in names:
        np.testing.assert_allclose(mixed[name], one[name], rtol=1e-4, err_msg=name)


class LoudFrames(torch.nn.Module):
    """Class 1's logit is k x the share of frames whose mean level is above -50 dB: the
    output depends only on how loud the removed frames become."""

    def __init__(self, k: float = 4.0) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        loud = (x.mean(dim=(1, 2)) > -50.0).float().mean(-1)
        return torch.stack([torch.zeros_like(loud), self.k * loud], -1)


def test_the_removal_baseline_decides_region_perturbation() -> None:
    # A 0 dB clip (one -80 dB bin sets its floor), 100 frames = 10 windows of 10. With the
    # "silence" baseline every removed window drops to -80 dB, so after j windows the share of
    # loud frames is 1 - j/10 and AOPC = mean_j sigmoid(4) - sigmoid(4 (1 - j/10)); with the
    # "noise" baseline (20 dB below a 0 dB clip, ~-20 to -25 dB) removed frames stay above
    # -50 dB and nothing drops: AOPC = 0.
    b, t = 3, 100
    x = np.zeros((b, 1, 128, t), dtype=np.float32)
    x[:, 0, 0, 0] = -80.0
    maps = np.tile(np.arange(t, 0, -1.0, dtype=np.float32), (b, 128, 1))
    y = np.ones(b, dtype=int)
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    expected = np.mean([sig(4.0) - sig(4.0 * (1 - j / 10)) for j in range(1, 11)])
    floor = quantus_scores(LoudFrames(), x, y, maps, ["region-perturbation"],
                           removal=Removal(baseline="silence"))
    noise = quantus_scores(LoudFrames(), x, y, maps, ["region-perturbation"],
                           removal=Removal(baseline="noise", snr_db=20.0))
    np.testing.assert_allclose(floor["region-perturbation"], expected, rtol=1e-5)
    np.testing.assert_allclose(noise["region-perturbation"], 0.0, atol=1e-7)
    assert expected > 0.15


def test_waveform_noise_baseline_sits_at_the_snr() -> None:
    from bsx.scoring.perturb import waveform_baseline

    rng = np.random.default_rng(0)
    x = np.stack([rng.standard_normal(16000) * a for a in (0.1, 1.0)]).astype(np.float32)
    base = waveform_baseline(x, "noise", snr_db=20.0)
    ratio = np.mean(x.astype(np.float64) ** 2, 1) / np.mean(base.astype(np.float64) ** 2, 1)
    np.testing.assert_allclose(10 * np.log10(ratio), 20.0, atol=0.1)
    assert not waveform_baseline(x, "silence").any()
    # one noise draw for every clip: a clip's baseline does not depend on its batch
    np.testing.assert_allclose(base[0] / base[0].std(), base[1] / base[1].std(), rtol=1e-4)


@pytest.mark.slow
def test_one_call_for_every_metric_equals_one_call_per_metric(setup) -> None:
    # evaluate makes one quantus_scores call per batch for all the run's Quantus metrics (it
    # used to make one per metric): each metric reseeds, so the numbers are the same
    from bsx.scoring.faithfulness import QUANTUS_METRICS

    args = (setup["net"], setup["x"][:2], setup["y"][:2], setup["good"][:2])
    seconds: dict[str, float] = {}
    together = quantus_scores(*args, list(QUANTUS_METRICS), explain_fn=grad_x_input,
                              seconds=seconds)
    assert set(seconds) == set(QUANTUS_METRICS) and all(s >= 0 for s in seconds.values())
    for name in QUANTUS_METRICS:
        alone = quantus_scores(*args, [name], explain_fn=grad_x_input)[name]
        np.testing.assert_array_equal(together[name], alone, err_msg=name)

"""Methods on waveform models: (B, N) in, (B, N) per-sample relevance out, checked against
planted truth (SpanWaveNet hears one span only), conservation (CP-LRP), completeness (IG) and
hand-computed rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.errors import BsxError
from bsx.methods.attnlrp import AttnLrp
from bsx.methods.gradients import IntegratedGradients
from bsx.methods.occlusion import TimeOcclusion
from bsx.methods.options import (
    AttnLrpOptions,
    IntegratedGradientsOptions,
    TimeOcclusionOptions,
)
from bsx.methods.random import RandomMap
from bsx.methods.rollout import AttentionRollout, rollout
from bsx.methods.waveform import spread_tokens
from bsx.methods.waveform_attention import attention_rules
from bsx.models.hf import HfSize, build_config, new_classifier
from bsx.plugins import build
from bsx.testing import SpanWaveNet, SpotNet

TYPES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech-sat")
SPAN = (8000, 12000)


def _waves(n: int = 2, length: int = 16000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn((n, length), generator=g)


def _tiny(kind: str, *, zero_bias: bool = False, layers: int = 2) -> torch.nn.Module:
    """A tiny classifier with logits of order 1 (random init gives ~1e-3)."""
    cfg = build_config(kind, ["angry", "happy", "sad"], HfSize(layers=layers))
    net = new_classifier(cfg, seed=3)
    with torch.no_grad():
        net.model.classifier.weight.mul_(300.0)
        for name, p in net.named_parameters():
            if zero_bias and name.endswith("bias"):
                p.zero_()
            elif name.endswith("bias"):
                p.normal_(0.0, 0.05)
    return net


@pytest.mark.parametrize("method", ["integrated-gradients", "input-x-gradient", "saliency",
                                    "occlusion-time"])
def test_relevance_stays_inside_the_only_span_the_model_hears(method):
    net = SpanWaveNet(SPAN)
    x = _waves()
    rel = build("method", method, net).attribute(x, torch.tensor([1, 1]))
    assert rel.shape == x.shape
    inside = rel[:, SPAN[0]:SPAN[1]].abs().sum(1)
    band = 1600 if method == "occlusion-time" else 0  # a 100 ms band reaches across the edge
    outside = torch.cat([rel[:, :SPAN[0] - band], rel[:, SPAN[1] + band:]], 1).abs().sum(1)
    assert (inside > 0).all()
    assert (outside == 0).all()


def test_occlusion_time_gives_each_band_its_drop_over_its_samples():
    net = SpanWaveNet(SPAN)
    x = _waves(1)
    rel = TimeOcclusion(net, TimeOcclusionOptions(band_s=0.1, band_stride_s=0.1)).attribute(
        x, torch.tensor([1]))[0]
    # bands of 1600 samples, no overlap: the band [8000, 9600) removes its share of the energy
    e = (x[0, SPAN[0]:SPAN[1]] ** 2)
    want = 100.0 * e[:1600].sum() / (SPAN[1] - SPAN[0])
    torch.testing.assert_close(rel[8000:9600], want.expand(1600), rtol=1e-4, atol=1e-6)
    assert rel[:8000].abs().max() == 0


def test_integrated_gradients_is_complete_on_the_planted_model():
    net = SpanWaveNet(SPAN)
    x = _waves()
    rel = IntegratedGradients(net, IntegratedGradientsOptions(n_steps=64)).attribute(
        x, torch.tensor([1, 0]))
    with torch.no_grad():
        f = net(x)
    want = torch.stack([f[0, 1], f[1, 0]])  # f(0) = 0 for both classes
    torch.testing.assert_close(rel.sum(1), want, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("kind", TYPES)
def test_integrated_gradients_on_a_transformer_is_complete_within_1_percent(kind):
    # without biases, the model with its normalisations held at the clip outputs exactly 0
    # for silence, so completeness says: relevance sums to the logit itself
    net = _tiny(kind, zero_bias=True)
    x, t = _waves(), torch.tensor([0, 2])
    rel = IntegratedGradients(net, IntegratedGradientsOptions(n_steps=32)).attribute(x, t)
    with torch.no_grad():
        gap = net(x)[[0, 1], t]
    assert (gap.abs() > 0.05).all()
    assert ((rel.sum(1) - gap).abs() <= 0.01 * gap.abs()).all(), (rel.sum(1), gap)


@pytest.mark.parametrize("kind", TYPES)
def test_cp_lrp_conserves_the_target_logit_when_biases_are_zero(kind):
    net = _tiny(kind, zero_bias=True)
    x, t = _waves(), torch.tensor([1, 2])
    rel = AttnLrp(net, AttnLrpOptions(variant="cp-lrp")).attribute(x, t)
    with torch.no_grad():
        logit = net(x)[[0, 1], t]
    assert (logit.abs() > 0.05).all()
    torch.testing.assert_close(rel.sum(1), logit, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", TYPES)
def test_attnlrp_conserves_the_target_logit_within_5_percent(kind):
    net = _tiny(kind, zero_bias=True)
    x, t = _waves(), torch.tensor([1, 2])
    rel = AttnLrp(net).attribute(x, t)
    with torch.no_grad():
        logit = net(x)[[0, 1], t]
    assert ((rel.sum(1) - logit).abs() <= 0.05 * logit.abs()).all(), (rel.sum(1), logit)


def test_lrp_leaves_the_model_as_it_found_it():
    net = _tiny("wavlm")
    x = _waves()
    with torch.no_grad():
        before = net(x)
    AttnLrp(net).attribute(x, torch.tensor([0, 1]))
    assert not any("forward" in vars(m) for m in net.modules())
    assert all("forward" not in vars(m) for m in net.modules())
    with torch.no_grad():
        torch.testing.assert_close(net(x), before)


@pytest.mark.parametrize("kind", TYPES)
def test_written_out_attention_gives_the_same_logits(kind):
    net = _tiny(kind)
    x = _waves()
    record: list[torch.Tensor] = []
    with torch.no_grad():
        want = net(x)
        with attention_rules(net, "none", record) as n:
            got = net(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert n == 2 and len(record) == 2
    assert record[0].shape == (2, 2, 50, 50)  # 16000 samples / 320 = 50 tokens, 2 heads
    torch.testing.assert_close(record[0].sum(-1), torch.ones(2, 2, 50))


def test_rollout_matches_a_hand_computed_product():
    # layer 1: every token attends to token 0; layer 2: every token attends to token 1
    t = 3
    a1 = torch.zeros(1, 1, t, t)
    a1[..., 0] = 1.0
    a2 = torch.zeros(1, 1, t, t)
    a2[..., 1] = 1.0
    r1 = 0.5 * np.eye(t) + 0.5 * np.array([[1, 0, 0]] * t)
    r2 = 0.5 * np.eye(t) + 0.5 * np.array([[0, 1, 0]] * t)
    # by hand: r1 rows [1,0,0], [.5,.5,0], [.5,0,.5]; r2 rows [.5,.5,0], [0,1,0], [0,.5,.5];
    # r2 @ r1 rows [.75,.25,0], [.5,.5,0], [.5,.25,.25]
    hand = np.array([[0.75, 0.25, 0.0], [0.5, 0.5, 0.0], [0.5, 0.25, 0.25]])
    np.testing.assert_allclose(r2 @ r1, hand)
    np.testing.assert_allclose(rollout([a1, a2])[0].numpy(), hand)


def test_attention_rollout_is_a_distribution_constant_within_each_token():
    net = _tiny("wav2vec2")
    x = _waves(length=16100)  # 50 tokens; the last one also takes the 100-sample tail
    rel = AttentionRollout(net).attribute(x, torch.tensor([0, 1]))
    assert rel.shape == x.shape and (rel >= 0).all()
    torch.testing.assert_close(rel.sum(1), torch.ones(2))
    tokens = rel[:, :15680].reshape(2, 49, 320)
    torch.testing.assert_close(tokens, tokens[..., :1].expand_as(tokens))
    assert rel[0, 15680:].std() == 0  # last token over 420 samples


def test_spread_tokens_keeps_each_tokens_sum():
    tokens = torch.tensor([[1.0, 2.0, 3.0]])
    out = spread_tokens(tokens, 10, 3)  # last token covers samples 6..9
    torch.testing.assert_close(out.sum(1), torch.tensor([6.0]))
    torch.testing.assert_close(out[0, 6:], torch.full((4,), 0.75))


def test_random_gives_per_sample_noise_for_a_waveform_batch():
    x = _waves()
    m = RandomMap(SpanWaveNet())
    a = m.attribute(x, torch.tensor([0, 1]))
    assert a.shape == x.shape
    torch.testing.assert_close(m.attribute(x[1:], torch.tensor([1])), a[1:])


def test_methods_refuse_the_other_input_kind_by_name():
    wave, mel = SpanWaveNet(), SpotNet()
    for name in ("gradcam", "crp", "lrp", "occlusion"):
        with pytest.raises(BsxError, match=rf"method '{name}' explains log-mel models.*"
                                           r"input-x-gradient"):
            build("method", name, wave)
    for name in ("attnlrp", "attention-rollout", "input-x-gradient"):
        with pytest.raises(BsxError, match=rf"method '{name}' explains waveform models"):
            build("method", name, mel)
    with pytest.raises(BsxError, match="Data2VecAudio or UniSpeechSat self-attention layer"):
        AttnLrp(wave).attribute(_waves(1), torch.tensor([1]))


def test_a_waveform_clip_ends_in_the_time_relevance_form_with_its_total_kept():
    from bsx.audio import Frontend, prepare_waveform
    from bsx.evaluation.attribute import attribute, stack_units

    fe = Frontend(name="hf-test", input="waveform", keep="whole", n_samples=320000,
                  hop_length=320, n_mels=1, trim="none")
    net = _tiny("wav2vec2", zero_bias=True)
    y = _waves(1, 16000)[0].numpy()
    prep = prepare_waveform(y, fe)
    units = stack_units([prep], torch.device("cpu"))
    target = np.array([1])
    att = attribute(AttnLrp(net, AttnLrpOptions(variant="cp-lrp")), units, target, [prep])
    assert att.clips[0].shape == (1, 1 + 16000 // 320)
    with torch.no_grad():
        logit = net(torch.from_numpy(y)[None])[0, 1].item()
    assert att.clips[0].sum() == pytest.approx(logit, rel=1e-4)


@pytest.mark.parametrize("kind", TYPES)
def test_cp_lrp_input_plus_bias_relevance_is_the_logit(kind):
    # with biases, the rules make the logit linear in (input, biases) jointly: what the input
    # does not get, the biases absorb (bias x its rule-modified gradient)
    from bsx.methods.attnlrp import lrp_rules

    net = _tiny(kind)
    x = _waves(1).requires_grad_(True)
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    with lrp_rules(net, "cp-lrp"):
        logit = net(x)[0, 1]
        grads = torch.autograd.grad(logit, [x, *biases], allow_unused=True)
    absorbed = sum((g * p).sum() for g, p in zip(grads[1:], biases, strict=True)
                   if g is not None)
    rel = AttnLrp(net, AttnLrpOptions(variant="cp-lrp")).attribute(x.detach(), torch.tensor([1]))
    torch.testing.assert_close(rel.sum(), (grads[0] * x).sum().detach())
    assert abs(absorbed.item()) > 0.01 * abs(logit.item())  # the biases matter here
    assert (rel.sum() + absorbed).item() == pytest.approx(logit.item(), rel=1e-4, abs=1e-5)

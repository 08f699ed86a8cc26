"""Canonization of ResNetSmall: same logits, every batch norm merged, relevance conserved at
the residual add (where zennit's ResNetCanonizer, the paper's choice, doubles it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from torch import nn

from bsx.methods.canonizers import make_canonizers
from bsx.models.resnet_small import ResidualBlock, ResNetSmall
from bsx.plugins import build

CKPT_ENV = "BSX_PAPER_CHECKPOINTS"


def random_net(seed: int = 0) -> ResNetSmall:
    """A random ResNetSmall with non-trivial batch-norm statistics and affine parameters."""
    torch.manual_seed(seed)
    net = ResNetSmall(7)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.3, 0.3)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 1, 128, 134) * 15 - 40)
    return net.eval()


def paper_nets() -> list[tuple[str, nn.Module]]:
    root = os.environ.get(CKPT_ENV)
    if not root:
        pytest.skip(f"{CKPT_ENV} is not set: the paper's checkpoints are external data")
    from bsx.models.checkpoint import load_model

    out = []
    for name in ("best_model_tess.pth", "best_model_crema.pth"):
        loaded = load_model(Path(root) / name, label_preset="paper7", device="cpu")
        out.append((name, loaded.net))
    return out


def inputs(n: int = 2, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand((n, 1, 128, 134), generator=g) * 70 - 80).clamp(-80, 0)


def check_same_logits_and_merged(net: nn.Module) -> None:
    x = inputs()
    with torch.no_grad():
        ref = net(x)
    instances = [i for c in make_canonizers("bsx") for i in c.apply(net)]
    try:
        with torch.no_grad():
            got = net(x)
        bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        assert len(bns) == 5
        for bn in bns:  # each reduced to the identity
            assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
            assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)
            assert bn.eps == 0
        blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
        assert len(blocks) == 2 and all(hasattr(b, "canonizer_sum") for b in blocks)
    finally:
        for i in reversed(instances):
            i.remove()
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-4)
    assert not any(hasattr(b, "canonizer_sum") for b in net.modules())
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref, rtol=0, atol=0)  # fully restored


def branch_relevance(net: nn.Module, canonizer: str, x: torch.Tensor, target: torch.Tensor
                     ) -> dict[str, dict[str, torch.Tensor]]:
    """Per block: relevance (zennit's modified gradient) at the add's output and both branches."""
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat

    from bsx.methods.lrp import one_hot_at_logit

    seen: dict[str, dict[str, torch.Tensor]] = {}
    handles = []
    for name, block in net.named_modules():
        if not isinstance(block, ResidualBlock):
            continue
        seen[name] = {}
        for part, mod in (("main", block.bn2), ("short", block.shortcut), ("out", block.relu2)):
            def hook(m, i, o, name=name, part=part):  # type: ignore[no-untyped-def]
                o.register_hook(lambda g: seen[name].__setitem__(part, g.detach()))
            handles.append(mod.register_forward_hook(hook))
    try:
        with Gradient(model=net, composite=EpsilonPlusFlat(make_canonizers(canonizer))) as att:
            att(x, one_hot_at_logit(target))
    finally:
        for h in handles:
            h.remove()
    return seen


def check_add_conservation(net: nn.Module) -> None:
    x, target = inputs(2, seed=3), torch.tensor([0, 3])
    ours = branch_relevance(net, "bsx", x, target)
    paper = branch_relevance(net, "paper", x, target)
    for name in ("layer1", "layer2"):
        r = ours[name]
        into = (r["main"] + r["short"]).sum(dim=(1, 2, 3))
        out = r["out"].sum(dim=(1, 2, 3))
        scale = r["out"].abs().sum(dim=(1, 2, 3))
        assert torch.all((into - out).abs() <= 0.01 * scale), name
        # the paper's canonizer hands the full relevance to both branches: twice the output
        p = paper[name]
        torch.testing.assert_close(p["main"], p["out"])
        torch.testing.assert_close(p["short"], p["out"])


def test_random_net_same_logits_all_merged() -> None:
    check_same_logits_and_merged(random_net())


def test_random_net_add_conserves_relevance() -> None:
    check_add_conservation(random_net(1))


def test_lrp_and_crp_leave_batch_norm_stats_alone() -> None:
    net = random_net(2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, t = inputs(2), torch.tensor([1, 2])
    for name, opts in (("lrp", {}), ("crp", {}), ("crp", {"layer": "layer1.conv1", "top_n": 2})):
        build("method", name, net, options=opts).attribute(x, t)
    after = net.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.requires_grad for p in net.parameters())
    assert all(bn.eps == 1e-5 for bn in net.modules() if isinstance(bn, nn.BatchNorm2d))
    for m in net.modules():  # no hook, overloaded forward or Sum module left behind
        assert not (m._forward_hooks or m._forward_pre_hooks or m._backward_hooks)
        assert "forward" not in vars(m) and not hasattr(m, "canonizer_sum")
    assert sorted(before) == sorted(ResNetSmall(7).state_dict())


def test_paper_checkpoints_same_logits_all_merged() -> None:
    for _, net in paper_nets():
        check_same_logits_and_merged(net)


def test_paper_checkpoints_add_conserves_relevance() -> None:
    for _, net in paper_nets():
        check_add_conservation(net)

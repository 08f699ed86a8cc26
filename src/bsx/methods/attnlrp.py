"""AttnLRP / CP-LRP on waveform transformers (wav2vec2, HuBERT, WavLM), as Gradient x Input.

Achtibat et al. 2024 (AttnLRP, ICML) and Ali et al. 2022 (CP-LRP, ICML) in the "efficient"
form of their lxt package: each non-linear step gets a backward pass whose Gradient x Input
is the LRP rule, then one backward pass gives relevance (B, N) on the raw samples.

Rules, layer by layer:
- conv feature encoder and every Linear: the plain gradient, i.e. LRP-0 / epsilon with
  epsilon -> 0 (bias terms absorb their share of relevance, see below);
- element-wise activations (GELU): the identity rule (backward scales by f(x) / x);
- LayerNorm, GroupNorm and the input normaliser (zero-mean/unit-variance per clip): the
  identity rule for the division, i.e. the standard deviation is a constant and only the
  (linear) mean subtraction and affine map carry relevance;
- attention: CP-LRP detaches queries and keys (softmax weights constant); AttnLRP applies
  the uniform rule to q k^T and to A v (see bsx.methods.waveform_attention).

Conservation: with every bias zero, CP-LRP's input relevance sums to the target logit
exactly (the rules make the network a linear function of its input with frozen factors).
With biases, sum(relevance) = logit - (the share absorbed by biases, LayerNorm betas and the
positional convolution's bias); AttnLRP's softmax gradient is not conservative by itself.
lxt 2.1 itself does not import under transformers 5 (its BERT module needs
transformers.modeling_attn_mask_utils), and its rules patch classes globally; these are its
rules re-stated per instance, for the block only. LRP is patented (Fraunhofer HHI); free for
research use only, as lxt notes.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from bsx.methods.base import preserved
from bsx.methods.options import AttnLrpOptions
from bsx.methods.waveform import check_waveform_batch, require_kind
from bsx.methods.waveform_attention import Rule, attention_rules
from bsx.methods.waveform_norms import held_normalisations

_ELEMENTWISE = (nn.GELU, nn.ReLU, nn.SiLU, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Sigmoid)


class _IdentityRule(torch.autograd.Function):
    """y = f(x); backward multiplies the incoming gradient by f(x) / x (lxt's
    identity_rule_implicit), so Gradient x Input passes relevance through unchanged."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, fn: Any) -> Tensor:
        y = fn(x)
        ctx.save_for_backward(y / torch.where(x.abs() < 1e-12, torch.full_like(x, 1e-12), x))
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (ratio,) = ctx.saved_tensors
        return grad * ratio, None


def _activation_forward(original: Any) -> Any:
    def forward(self: nn.Module, x: Tensor) -> Tensor:
        return _IdentityRule.apply(x, original)

    return forward


def _is_activation(m: nn.Module) -> bool:
    return isinstance(m, _ELEMENTWISE) or type(m).__module__ == "transformers.activations"


@contextmanager
def lrp_rules(net: nn.Module, variant: Rule) -> Iterator[nn.Module]:
    """The rules above on `net`'s own modules for the block; the class forwards come back."""
    swapped: list[nn.Module] = []
    with ExitStack() as stack:
        stack.enter_context(held_normalisations(net, "detach"))
        stack.enter_context(attention_rules(net, variant))
        try:
            for m in net.modules():
                if _is_activation(m):
                    fwd = _activation_forward(type(m).forward.__get__(m))
                    m.forward = types.MethodType(fwd, m)  # type: ignore[method-assign]
                    swapped.append(m)
            yield net
        finally:
            for m in swapped:
                del m.forward


class AttnLrp:
    """LRP for waveform transformers: AttnLRP (default) or CP-LRP, see the module docstring.

    Relevance is per input sample and signed; input relevance plus what the bias terms
    absorb (each bias times its rule-modified gradient) is the target logit, exactly for
    CP-LRP. Waveform models with wav2vec2, HuBERT or WavLM attention only.
    """

    def __init__(self, model: nn.Module, options: AttnLrpOptions | None = None) -> None:
        require_kind(model, "waveform", "attnlrp")
        self.model = model
        self.options = options or AttnLrpOptions()

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, N) waveform in, (B, N) relevance out, on batch.device."""
        check_waveform_batch(batch, target)
        x = batch.detach().clone().requires_grad_(True)
        with preserved(self.model), lrp_rules(self.model, self.options.variant), \
                torch.enable_grad():
            logits = self.model(x)
            picked = logits.gather(1, target.long().view(-1, 1).to(logits.device)).sum()
            (grad,) = torch.autograd.grad(picked, x)
        return (grad * x).detach()

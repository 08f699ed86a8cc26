"""Self-attention of the wav2vec2 family (wav2vec2, HuBERT, WavLM, Data2VecAudio,
UniSpeechSat) written out, so methods can see and steer it.

transformers runs these layers through fused kernels (SDPA; torch's multi_head_attention_
forward for WavLM) that neither return per-head weights nor let a rule change the backward
pass. `attention_rules(net, rule, record)` swaps each attention module's forward, on these
instances only and for the block only, for one computed step by step:

- rule "none": the same function (tests check equal logits); with `record`, each layer's
  (B, H, T, T) attention weights are appended (attention rollout).
- rule "cp-lrp" (Ali et al. 2022): queries, keys and the position bias are detached, so the
  softmax weights are constants and relevance flows through the values only.
- rule "attnlrp" (Achtibat et al. 2024, lxt's efficient form): the gradient into q and k is
  divided by 4 and into v by 2 (the uniform rule on the two bilinear products); the softmax
  keeps its plain gradient. WavLM's gated relative position bias is detached (a constant).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import Tensor, nn

from bsx.errors import BsxError

Rule = Literal["none", "cp-lrp", "attnlrp"]


class _Scale(torch.autograd.Function):
    """Identity forward; the gradient divided by `factor` (lxt's divide_gradient)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, factor: float) -> Tensor:
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad / ctx.factor, None


def divide_gradient(x: Tensor, factor: float) -> Tensor:
    return _Scale.apply(x, factor)


def _heads(x: Tensor, n_heads: int) -> Tensor:
    """(B, T, H * d) -> (B, H, T, d)."""
    b, t, _ = x.shape
    return x.view(b, t, n_heads, -1).transpose(1, 2)


def attend(
    q: Tensor, k: Tensor, v: Tensor, *, scaling: float, rule: Rule, bias: Tensor | None = None,
    key_padding: Tensor | None = None, additive_mask: Tensor | None = None,
    record: list[Tensor] | None = None,
) -> Tensor:
    """(B, H, T, d) queries, keys, values -> (B, T, H * d) attention output under `rule`.

    bias: (B, H, T, T) added to the scores; key_padding: (B, T) True where a key is padding;
    additive_mask: a 4-D float (added) or bool (True = keep) mask as transformers builds it.
    """
    if rule == "cp-lrp":
        q, k = q.detach(), k.detach()
        bias = bias.detach() if bias is not None else None
    elif rule == "attnlrp":
        q, k, v = divide_gradient(q, 4.0), divide_gradient(k, 4.0), divide_gradient(v, 2.0)
        bias = bias.detach() if bias is not None else None
    scores = torch.matmul(q, k.transpose(-1, -2)) * scaling
    if bias is not None:
        scores = scores + bias
    if additive_mask is not None:
        if additive_mask.dtype == torch.bool:
            scores = scores.masked_fill(~additive_mask, float("-inf"))
        else:
            scores = scores + additive_mask
    if key_padding is not None:
        scores = scores.masked_fill(key_padding[:, None, None, :], float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if record is not None:
        record.append(weights.detach())
    out = torch.matmul(weights, v)
    b, h, t, d = out.shape
    return out.transpose(1, 2).reshape(b, t, h * d)


def _w2v_forward(rule: Rule, record: list[Tensor] | None) -> Callable[..., Any]:
    """Wav2Vec2Attention / HubertAttention.forward (self-attention, eval mode)."""

    def forward(self: Any, hidden_states: Tensor, key_value_states: Tensor | None = None,
                attention_mask: Tensor | None = None, output_attentions: bool | None = False,
                **kwargs: Any) -> tuple[Tensor, Tensor | None]:
        if key_value_states is not None:
            raise BsxError("bsx explains self-attention only (got cross-attention inputs)")
        q = _heads(self.q_proj(hidden_states), self.num_heads)
        k = _heads(self.k_proj(hidden_states), self.num_heads)
        v = _heads(self.v_proj(hidden_states), self.num_heads)
        mask = attention_mask if isinstance(attention_mask, Tensor) else None
        out = attend(q, k, v, scaling=self.scaling, rule=rule, additive_mask=mask,
                     record=record)
        return self.out_proj(out), None

    return forward


def _wavlm_forward(rule: Rule, record: list[Tensor] | None) -> Callable[..., Any]:
    """WavLMAttention.forward: gated relative position bias, then attention (eval mode)."""

    def forward(self: Any, hidden_states: Tensor, attention_mask: Tensor | None = None,
                position_bias: Tensor | None = None, index: int = 0,
                **kwargs: Any) -> tuple[Tensor, Tensor | None, Tensor]:
        bsz, tgt_len, _ = hidden_states.size()
        if position_bias is None:
            position_bias = self.compute_bias(tgt_len, tgt_len)
            position_bias = (position_bias.unsqueeze(0).repeat(bsz, 1, 1, 1)
                             .view(bsz * self.num_heads, tgt_len, tgt_len))
        gated = hidden_states.view(hidden_states.shape[:-1] + (self.num_heads, -1))
        gated = gated.permute(0, 2, 1, 3)
        proj = self.gru_rel_pos_linear(gated)
        proj = proj.view(gated.shape[:-1] + (2, 4)).sum(-1)
        gate_a, gate_b = torch.sigmoid(proj).chunk(2, dim=-1)
        gate = gate_a * (gate_b * self.gru_rel_pos_const - 1.0) + 2.0
        bias = gate.view(bsz * self.num_heads, -1, 1) * position_bias
        bias = bias.view(bsz, self.num_heads, tgt_len, tgt_len)
        q = _heads(self.q_proj(hidden_states), self.num_heads)
        k = _heads(self.k_proj(hidden_states), self.num_heads)
        v = _heads(self.v_proj(hidden_states), self.num_heads)
        padding = attention_mask.ne(1) if attention_mask is not None else None
        out = attend(q, k, v, scaling=self.scaling, rule=rule, bias=bias, key_padding=padding,
                     record=record)
        return self.out_proj(out), None, position_bias

    return forward


def _forward_for(module: nn.Module) -> Callable[[Rule, list[Tensor] | None], Any] | None:
    name = type(module).__name__
    if name == "WavLMAttention":
        return _wavlm_forward
    if name in ("Wav2Vec2Attention", "HubertAttention", "Data2VecAudioAttention",
                "UniSpeechSatAttention"):  # the same module, copied per family
        return _w2v_forward
    return None


@contextmanager
def attention_rules(
    net: nn.Module, rule: Rule = "none", record: list[Tensor] | None = None
) -> Iterator[int]:
    """Swap every wav2vec2-family attention forward in `net` for the written-out one
    under `rule` for the block; yields how many layers were swapped (BsxError if none)."""
    swapped: list[nn.Module] = []
    try:
        for m in net.modules():
            make = _forward_for(m)
            if make is None:
                continue
            if m.training:
                raise BsxError("attention rules apply in eval mode only (dropout must be off)")
            m.forward = types.MethodType(make(rule, record), m)  # type: ignore[method-assign]
            swapped.append(m)
        if not swapped:
            raise BsxError(
                "this waveform model has no wav2vec2, HuBERT, WavLM, Data2VecAudio or "
                "UniSpeechSat self-attention layer, so attention rollout and AttnLRP do not "
                "apply to it"
            )
        yield len(swapped)
    finally:
        for m in swapped:
            del m.forward  # back to the class's own forward

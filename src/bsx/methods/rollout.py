"""Attention rollout (Abnar & Zuidema 2020, ACL) on waveform transformers.

Each layer's attention, heads fused (mean, as the paper), is mixed with the residual
connection as A' = r I + (1 - r) A with r = 0.5 and its rows renormalised; the layers
multiply from input to output. A classification head that mean-pools the last layer's tokens
(wav2vec2/HuBERT/WavLM ForSequenceClassification) attends to every token equally, so token
j's relevance is the mean over output tokens of rollout[:, j]. Each token's relevance is then
spread evenly over its 320 samples (bsx.methods.waveform.spread_tokens).

Like the paper's rollout, the map ignores the target class (every class gets the same map)
and is non-negative, summing to 1 per clip. The conv feature encoder and the positional
convolution are not part of the rollout: a token stands for its own stride of samples.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.methods.base import preserved
from bsx.methods.options import AttentionRolloutOptions
from bsx.methods.waveform import (
    check_waveform_batch,
    require_kind,
    spread_tokens,
    token_stride,
)
from bsx.methods.waveform_attention import attention_rules


def rollout(weights: list[Tensor], residual: float = 0.5, head_fusion: str = "mean") -> Tensor:
    """Per-layer (B, H, T, T) attention weights -> (B, T, T) rollout (input to output)."""
    fuse = {"mean": lambda w: w.mean(1), "max": lambda w: w.amax(1),
            "min": lambda w: w.amin(1)}[head_fusion]
    out: Tensor | None = None
    for w in weights:
        a = fuse(w.double())
        eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        a = residual * eye + (1.0 - residual) * a
        a = a / a.sum(dim=-1, keepdim=True)
        out = a if out is None else a @ out
    if out is None:
        raise ValueError("rollout needs at least one layer's attention weights")
    return out


class AttentionRollout:
    """Attention rollout: target-independent, (B, N) non-negative relevance summing to 1."""

    def __init__(self, model: nn.Module, options: AttentionRolloutOptions | None = None) -> None:
        require_kind(model, "waveform", "attention-rollout")
        self.model = model
        self.options = options or AttentionRolloutOptions()

    @torch.no_grad()
    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, N) waveform in, (B, N) relevance out, on batch.device."""
        check_waveform_batch(batch, target)
        record: list[Tensor] = []
        with preserved(self.model), attention_rules(self.model, "none", record):
            self.model(batch.detach())
        tokens = rollout(record, self.options.residual, self.options.head_fusion).mean(dim=1)
        return spread_tokens(tokens.float(), batch.shape[1], token_stride(self.model)).to(
            batch.dtype
        )

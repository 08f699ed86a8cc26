"""Concept Relevance Propagation (Achtibat et al. 2023, Nature Machine Intelligence) via
zennit-crp's CondAttribution with the EpsilonPlusFlat composite."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.errors import BadOptions
from bsx.methods.base import check_batch, preserved, warn_unruled_layers
from bsx.methods.options import CrpOptions
from bsx.methods.waveform import require_kind


class Crp:
    """CRP heatmaps, relevance started at the target logit (zennit-crp's default `y` init).

    Without a layer: the plain conditional heatmap for the target class (LRP through CRP).
    layer + channels: condition every clip on those channels (the paper hard-coded
    layer1.conv1, channel 35). layer + top_n: a first pass records the layer's channel
    relevance, and each clip is conditioned on ITS top_n most relevant channels.
    Canonizer "bsx" (default) conserves relevance at the residual add; "paper" reproduces the
    paper's zennit ResNetCanonizer. CondAttribution switches requires_grad off on the model's
    parameters; `preserved` switches it back.
    """

    sign = "positive"  # windows and localisation keep the positive evidence

    def __init__(self, model: nn.Module, options: CrpOptions | None = None) -> None:
        require_kind(model, "logmel", "crp")
        warn_unruled_layers(model, "crp")
        self.model = model
        self.options = options or CrpOptions()
        self.last_channels: list[list[int]] = []  # per clip, the channels conditioned on
        layer = self.options.layer
        if layer is not None:
            try:
                module = model.get_submodule(layer)
            except AttributeError:
                names = [n for n, _ in model.named_modules() if n][:20]
                raise BadOptions(
                    f"crp: the model has no layer '{layer}'; layers: {', '.join(names)}"
                ) from None
            n_ch = getattr(module, "out_channels", None) or getattr(module, "out_features", None)
            bad = [c for c in (self.options.channels or []) if n_ch is not None and
                   not 0 <= c < n_ch]
            if bad:
                raise BadOptions(f"crp: layer '{layer}' has {n_ch} channels; got {bad}")

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        from crp.attribution import CondAttribution
        from zennit.composites import EpsilonPlusFlat

        from bsx.methods.canonizers import make_canonizers

        check_batch(batch, target)
        o = self.options
        ys = [[int(t)] for t in target.tolist()]
        with preserved(self.model), torch.enable_grad():
            attribution = CondAttribution(self.model, no_param_grad=True)
            composite = EpsilonPlusFlat(canonizers=make_canonizers(o.canonizer))
            x = batch.detach().clone().requires_grad_(True)
            if o.layer is None:
                conditions = [{"y": y} for y in ys]
                heat = attribution(x, conditions, composite).heatmap
            else:
                if o.top_n is not None:
                    first = attribution(x, [{"y": y} for y in ys], composite,
                                        record_layer=[o.layer])
                    rel = first.relevances[o.layer]
                    per_ch = rel.flatten(2).sum(-1) if rel.ndim > 2 else rel
                    k = min(o.top_n, per_ch.shape[1])
                    channels = per_ch.topk(k, dim=1).indices.tolist()
                    x = batch.detach().clone().requires_grad_(True)
                else:
                    channels = [list(o.channels or []) for _ in ys]
                self.last_channels = channels
                conditions = [{o.layer: c, "y": y} for c, y in zip(channels, ys, strict=True)]
                heat = attribution(x, conditions, composite).heatmap
        return heat.detach().to(batch.device)

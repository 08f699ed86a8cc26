"""Scores that re-run the model: Quantus faithfulness, randomisation, robustness and
complexity, and bsx's cue ablation. They work per model input unit on the model's own input
(docs/model-contract.md); a clip's score is the mean over its units (one unit per clip in the
paper presets, so nothing changes there)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.scoring.scorers import ScoreRow, rows_for_all

if TYPE_CHECKING:
    import torch
    from torch import nn

    from bsx.audio import Prepared
    from bsx.evaluation.batch import BatchContext
    from bsx.evaluation.computes import MethodBatch
    from bsx.scoring.specs import MetricSpec
    from bsx.windows import Window


def per_clip(values: np.ndarray, clip_of: np.ndarray, n_clips: int) -> np.ndarray:
    """Per-unit values -> each clip's mean over its units (NaN-aware)."""
    out = np.full(n_clips, np.nan)
    for i in range(n_clips):
        v = values[clip_of == i]
        if np.isfinite(v).any():
            out[i] = float(np.nanmean(v))
    return out


def quantus(ctx: BatchContext, mb: MethodBatch, specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """The "quantus" scorer: every Quantus metric of the run in one quantus_scores call per
    unit shape, on the model's input units, reduced to clips."""
    from bsx.scoring.faithfulness import Removal, quantus_scores

    cfg, units, attr = ctx.cfg, mb.batch.units, mb.attr
    n = units.n_clips
    waveform = units.kind == "waveform"
    names = [s.name for s in specs]
    vals = {name: np.full(len(units.clip_of), np.nan) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for idx, x in units.groups:
        maps = np.stack([attr.units[j] for j in idx])
        spent: dict[str, float] = {}
        content = None if waveform else units.content_of(idx)  # a waveform is never padded
        explain = explain_fn(mb.method, cfg.method_options.get(mb.method), content)
        removal = Removal(baseline=cfg.baseline, snr_db=cfg.baseline_snr_db,
                          fe=ctx.loaded.frontend,
                          hop_length=units.hop_length if waveform else None, content=content)
        scores = quantus_scores(
            ctx.loaded.net, x.detach().cpu().numpy(), mb.batch.target[units.clip_of[idx]],
            maps, names, removal=removal, device=ctx.device, seed=cfg.seed,
            explain_fn=explain, seconds=spent)
        for name in names:
            vals[name][idx] = scores[name]
            seconds[name] += spent.get(name, 0.0)
    return [row for name in names
            for row in rows_for_all(name, per_clip(vals[name], units.clip_of, n),
                                    seconds[name] / n)]


def ablation(ctx: BatchContext, mb: MethodBatch, specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """The "ablation" scorer: one cue-ablation pass per batch serves drop and gain."""
    cfg = ctx.cfg
    return score_ablation(ctx.loaded.net, mb.batch.prepared, mb.wins, mb.batch.target,
                          [s.name for s in specs], cue=cfg.ablation_cue, seed=cfg.seed,
                          device=ctx.device, batch_size=cfg.batch_size,
                          keys=[c.id for c in mb.batch.clips])


def score_ablation(net: nn.Module, prepared: list[Prepared], wins: list[list[Window]],
                   target: np.ndarray, names: list[str], *, cue: str, seed: int,
                   device: torch.device, batch_size: int,
                   keys: list[str] | None = None) -> list[ScoreRow]:
    """Target-probability drop when `cue` is neutralised in the salient vs random windows
    (each clip's random draws seeded by its key, the clip id: independent of the batch)."""
    from bsx.scoring.ablation import cue_ablation

    t0 = time.perf_counter()
    res = cue_ablation(net, prepared, [[(w.start_s, w.end_s) for w in ws] for ws in wins],
                       target, cue=cue, seed=seed, device=device, batch_size=batch_size,
                       keys=keys)
    dt = (time.perf_counter() - t0) / len(prepared)
    rows: list[ScoreRow] = []
    if "ablation-drop" in names:
        rows += rows_for_all("ablation-drop", res.drop_salient, dt, against=cue)
    if "ablation-gain" in names:
        rows += rows_for_all("ablation-gain", res.gain_per_db, dt, against=cue)
    return rows


def explain_fn(method: str, options: dict[str, Any] | None,
               content: np.ndarray | None = None) -> Callable[..., np.ndarray]:
    """A Quantus explain_func that rebuilds the bsx method on the model it is given; a
    ContentAware method is told `content` ((B, 2) frames, row i = clip i of the batch)."""

    def explain(model: Any, inputs: Any, targets: Any, **_: Any) -> np.ndarray:
        import torch

        from bsx.methods.base import ContentAware
        from bsx.plugins import build

        dev = next(model.parameters()).device
        xb = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=dev)
        tb = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=dev)
        m = build("method", method, model, options=options)
        if isinstance(m, ContentAware) and content is not None and len(content) == len(xb):
            return m.attribute_content(xb, tb, content).detach().cpu().numpy()[:, None]
        return m.attribute(xb, tb).detach().cpu().numpy()[:, None]

    return explain

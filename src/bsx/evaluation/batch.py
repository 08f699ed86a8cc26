"""One batch through the stages: attribute -> salient windows -> the scoring families."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from bsx.evaluation.config import EvalConfig, window_options
from bsx.evaluation.records import Records


@dataclass
class BatchContext:
    """What stays fixed across batches: config, model, built methods and extractors."""

    cfg: EvalConfig
    loaded: Any
    device: Any
    methods: dict[str, Any]
    extractors: dict[str, Any]
    expert: Any
    metrics: dict[str, Any]
    seeds: Any = None  # evaluation.seeds.SeedModels: the other seeds' models, if given

    def by_category(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, spec in self.metrics.items():
            out.setdefault(spec.category, []).append(name)
        return out


def channels_last(device: Any, net: Any) -> bool:
    """NHWC convolutions are ~25% faster (forward + backward) on the CPU, but a model that
    flattens with .view() fails on them: only for models that declare `channels_last_ok`."""
    from bsx.evaluation.tricks import enabled

    return (device.type == "cpu" and bool(getattr(net, "channels_last_ok", False))
            and enabled("nhwc"))


def evaluate_batch(ctx: BatchContext, clips: list[Any], prepared: list[Any],
                   cues: tuple[dict[str, Any], float] | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    """One batch through the whole chain; returns the rows of each results table.

    `cues` are the handles of prepare.submit_cues when the caller submitted them ahead."""
    import torch

    from bsx.evaluation.attribute import Attributions, attribute, clip_logits, stack_units
    from bsx.evaluation.cue_scores import score_cues
    from bsx.evaluation.groundtruth import planted_masks, score_planted
    from bsx.evaluation.model_scores import (
        QUANTUS_CATEGORIES,
        explain_fn,
        score_ablation,
        score_quantus,
    )
    from bsx.evaluation.prepare import submit_cues
    from bsx.evaluation.salient import salient_windows, window_rows
    from bsx.methods.base import SharesForward
    from bsx.windows import for_method

    cfg, loaded = ctx.cfg, ctx.loaded
    fe = loaded.frontend
    n = len(clips)
    pending, t_cues = cues if cues is not None else submit_cues(
        ctx.extractors, prepared, fe.sample_rate, cfg.workers)
    units = stack_units(prepared, ctx.device, channels_last=channels_last(ctx.device, loaded.net))
    attrs: dict[str, Attributions] = {}
    # Explaining the predicted class of one-unit clips: a method that can predicts and
    # explains in one forward pass.
    from bsx.evaluation.tricks import enabled

    shared = next((m for m, meth in ctx.methods.items() if isinstance(meth, SharesForward)
                   and enabled("shared")),
                  None) if cfg.target == "predicted" and units.single else None
    if shared is not None:
        t0 = time.perf_counter()
        cam, logits = ctx.methods[shared].attribute_predicted(units.inputs())
        maps = list(cam.detach().float().cpu().numpy())
        attrs[shared] = Attributions(units=maps, clips=maps,
                                     seconds=(time.perf_counter() - t0) / n)
        logits = logits.float()
    else:
        logits = clip_logits(loaded.net, units)
    probs = torch.softmax(logits, dim=1).cpu().numpy()
    pred = probs.argmax(1)
    truth = np.array([loaded.labels.index(c.label) for c in clips])
    target = pred if cfg.target == "predicted" else truth
    base = [{
        "clip_id": c.id, "path": str(c.path), "label": c.label, "speaker": c.speaker,
        "pred": loaded.labels[pred[i]], "target": loaded.labels[target[i]],
        "correct": bool(pred[i] == truth[i]),
    } for i, c in enumerate(clips)]
    rec = Records(base, ctx.metrics)
    rec.clips = [{**b, **{f"p_{lab}": float(probs[i, j]) for j, lab in enumerate(loaded.labels)},
                  "trim_offset_s": p.trim_offset_s, "content_s": p.content_s,
                  "units": len(p.unit_starts), "kept_share": p.kept_share}
                 for i, (b, p) in enumerate(zip(base, prepared, strict=True))]
    for mname, method in ctx.methods.items():
        if mname != shared:
            attrs[mname] = attribute(method, units, target, prepared)

    tracks: dict[str, list[Any]] = {}
    cue_seconds: dict[str, float] = {}
    for name, wait in pending.items():
        tracks[name] = wait()
        # wall time per clip since submission: overlapped with other work, an upper bound
        cue_seconds[name] = (time.perf_counter() - t_cues) / n

    planted = planted_masks(clips, prepared)
    wopts = window_options(cfg)
    cats = ctx.by_category()
    loc = cats.get("localisation", [])
    quantus = [m for cat in QUANTUS_CATEGORIES for m in cats.get(cat, [])]
    ablation = cats.get("ablation", [])
    target_labels = [loaded.labels[t] for t in target]
    for mname, attr in attrs.items():
        mopts = for_method(wopts, ctx.methods[mname])  # the method's sign rule unless given
        wins, wins_orig = salient_windows(attr.clips, prepared, fe.frame_s, mopts)
        rec.emit_all(mname, "", "time-attribution", [attr.seconds] * n, attr.seconds)
        rec.windows += window_rows([c.id for c in clips], mname, wins, wins_orig)
        score_planted(rec, mname, clips, attr.clips, wins_orig, planted, loc, sign=mopts.sign)
        score_cues(rec, mname, clips, prepared, attr.clips, wins, target_labels, tracks,
                   cue_seconds, ctx.expert, loc, seed=cfg.seed, sign=mopts.sign)
        if quantus:
            score_quantus(rec, mname, loaded.net, units, attr, target, quantus,
                          device=ctx.device, seed=cfg.seed,
                          explain_fn=explain_fn(mname, cfg.method_options.get(mname)))
        if ablation:
            score_ablation(rec, mname, loaded.net, prepared, wins, target, ablation,
                           cue=cfg.ablation_cue, seed=cfg.seed, device=ctx.device,
                           batch_size=cfg.batch_size, keys=[c.id for c in clips])
        if ctx.seeds is not None:
            from bsx.evaluation.seeds import score_seeds

            score_seeds(rec, mname, ctx.seeds, units, target, prepared, attr.clips, wins_orig,
                        mopts)
    return rec.tables()

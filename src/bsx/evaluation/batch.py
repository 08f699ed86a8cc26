"""One batch through the stages: attribute -> salient windows -> cue profiles -> each compute
of the run's metric specs (bsx.evaluation.computes)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
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
    _clip_functions: dict[str, Any] = field(default_factory=dict)
    seeds: Any = None  # evaluation.seeds.SeedModels: the other seeds' models, if given
    meta_clips: frozenset[str] = frozenset()  # clips the meta-evaluation re-scores

    def clip_function(self, spec: Any) -> Any:
        """A "clip" metric's function, built once per run from its factory."""
        if spec.name not in self._clip_functions:
            self._clip_functions[spec.name] = spec.factory(options=spec.make_options())
        return self._clip_functions[spec.name]


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
    from bsx.evaluation.computes import BatchInputs, MethodBatch, by_compute
    from bsx.evaluation.cue_scores import write_profiles
    from bsx.evaluation.groundtruth import planted_masks
    from bsx.evaluation.prepare import submit_cues
    from bsx.evaluation.salient import pause_shares, salient_windows, window_rows
    from bsx.methods.base import SharesForward
    from bsx.scoring.scorers import batch_scorers, score
    from bsx.windows import file_seconds, for_method

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

    regression = loaded.meta.get("task") == "regression"  # bsx.evaluation.dimensional
    shared = next((m for m, meth in ctx.methods.items() if isinstance(meth, SharesForward)
                   and enabled("shared")),
                  None) if cfg.target == "predicted" and units.single and not regression \
        else None
    if shared is not None:
        t0 = time.perf_counter()
        cam, logits = ctx.methods[shared].attribute_predicted(units.inputs())
        maps = list(cam.detach().float().cpu().numpy())
        attrs[shared] = Attributions(units=maps, clips=maps,
                                     seconds=(time.perf_counter() - t0) / n)
        logits = logits.float()
    else:
        logits = clip_logits(loaded.net, units)
    if regression:  # every clip explains the run's dimension; no class, no probability
        from bsx.evaluation.dimensional import regression_rows

        target, base, clip_rows = regression_rows(loaded, logits, clips, prepared,
                                                  cfg.dimension)
        rec = Records(base, ctx.metrics)
        rec.clips = clip_rows
    else:
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
        rec.clips = [{**b, **{f"p_{lab}": float(probs[i, j])
                              for j, lab in enumerate(loaded.labels)},
                      "trim_offset_s": file_seconds(p.trim_offset_s),
                      "content_s": file_seconds(p.content_s),
                      "units": len(p.unit_starts), "kept_share": p.kept_share}
                     for i, (b, p) in enumerate(zip(base, prepared, strict=True))]
    for mname, method in ctx.methods.items():
        if mname != shared:
            attrs[mname] = attribute(method, units, target, prepared)

    tracks: dict[str, list[Any]] = {}
    cue_seconds: dict[str, float] = {}
    for name, wait in pending.items():
        tracks[name] = wait()
        # wall time per clip from submission until the last clip's tracks arrived (queue
        # included; overlapped with other work); not until this process came back for them,
        # which on a pipelined run is the previous batch's scoring time
        ready = getattr(wait, "ready_at", None)
        cue_seconds[name] = ((ready if ready is not None else time.perf_counter()) - t_cues) / n

    wopts = window_options(cfg)
    target_labels = [loaded.labels[t] for t in target]
    inputs = BatchInputs(clips=clips, prepared=prepared, units=units, target=target,
                         target_labels=target_labels, planted=planted_masks(clips, prepared),
                         tracks=tracks, cue_seconds=cue_seconds, expert=ctx.expert)
    scorers = batch_scorers()
    groups = by_compute(ctx.metrics)
    mbs: dict[str, MethodBatch] = {}
    for mname, attr in attrs.items():
        mopts = for_method(wopts, ctx.methods[mname])  # the method's sign rule unless given
        wins, wins_orig = salient_windows(attr.clips, prepared, fe.frame_s, mopts)
        rec.emit_all(mname, "", "time-attribution", [attr.seconds] * n, attr.seconds)
        rec.windows += window_rows([c.id for c in clips], mname, wins, wins_orig,
                                   pause_shares(wins, prepared, next(iter(tracks.values()), None)))
        write_profiles(rec, mname, clips, prepared, wins, target_labels, tracks, cue_seconds,
                       seed=cfg.seed)
        mb = MethodBatch(method=mname, batch=inputs, attr=attr, wins=wins, wins_orig=wins_orig,
                         sign=mopts.sign, window_opts=mopts)
        mbs[mname] = mb
        for compute, specs in groups.items():
            runs = [s for s in specs if s.runs_on(units.kind)]
            for spec in specs:  # declared for another input kind: NaN (run.py warned once)
                if spec not in runs:
                    rec.emit_all(mname, "", spec.name, [float("nan")] * n, 0.0)
            if runs:
                for r in score(compute, scorers[compute], ctx, mb, runs):
                    rec.emit(r.clip, mname, r.cues, r.metric, r.value, r.seconds, r.against)
    picked = [i for i, c in enumerate(clips) if c.id in ctx.meta_clips]
    if picked:
        from bsx.evaluation.meta import meta_rows

        t0 = time.perf_counter()
        rec.meta = meta_rows(ctx, inputs, mbs, picked)
        dt = (time.perf_counter() - t0) / len(picked)  # a stage of its own in timings.csv
        for i in picked:
            rec.emit(i, "all", "", "time-meta-evaluation", dt, dt)
    return rec.tables()

"""Prepare a batch through the front-end (cached) and submit its cue extraction.

Cue tracks are measured once per clip and extractor, on the content the model saw, in worker
processes, while this process attributes the batch before it.
"""

from __future__ import annotations

import time
from typing import Any

from bsx.evaluation.plan import Plan


def submit(plan: Plan, batch: list[Any], extractors: dict[str, Any], workers: int) -> None:
    """Prepare a batch (cache misses in-process unless cores are left beyond the cue workers
    and this one: on 2 cores a prepare pool's IPC doubled the CPU per clip, 13.7 vs 7.4 ms)
    and submit its cues; the batch joins plan.pending."""
    import os

    from bsx.datasets.cache import prepare_many
    from bsx.honesty import drop_too_short

    prep_workers = workers if (os.cpu_count() or 1) > workers + 1 else 1
    prepared, bad = prepare_many(batch, plan.frontend, workers=prep_workers, progress=False)
    plan.skipped += [(s.clip.id, s.reason) for s in bad]
    ok = [(c, p) for c, p in zip(batch, prepared, strict=True) if p is not None]
    ok_clips, ok_prep, short = drop_too_short([c for c, _ in ok], [p for _, p in ok])
    plan.skipped += short
    cues = (submit_cues(extractors, ok_prep, plan.frontend.sample_rate, workers)
            if ok_clips else None)
    plan.pending.append((ok_clips, ok_prep, cues, len(batch)))


def submit_cues(extractors: dict[str, Any], prepared: list[Any], sample_rate: int,
                workers: int) -> tuple[dict[str, Any], float]:
    """Submit cue extraction for a batch to the worker pool; returns handles and start time.

    Tracks are measured once per clip and extractor, on the content the model saw: track time
    0 is the first content sample = the trim offset on the original file = the pad offset on
    the model's waveform."""
    from bsx.cues.parallel import extract_many_async

    sr = sample_rate
    contents = [p.waveform[int(round(p.pad_offset_s * sr)):
                           int(round(p.pad_offset_s * sr)) + int(round(p.content_s * sr))]
                for p in prepared]
    t0 = time.perf_counter()
    return {name: extract_many_async(ext, contents, sr, workers=workers)
            for name, ext in extractors.items()}, t0



"""Prepare benchmark: clips/s through the paper front-end with 2 worker processes vs 1.

~40 generated 2-s clips at 22.05 kHz (so resampling is part of the work, as for the real
corpora), each run into a fresh cache folder. Both runs start warm (librosa's lazy imports
done once beforehand), so the numbers compare the computing, not the first import.
Also: a rerun over the filled cache (hashing + loading .npz) vs computing with 2 workers.
Run: python benchmarks/bench_prepare.py
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bsx.audio import PRESETS
from bsx.datasets.base import Clip
from bsx.datasets.cache import _warm, prepare_many

N_CLIPS = 40
SR = 22050


def make_clips(root: Path) -> list[Clip]:
    rng = np.random.default_rng(0)
    clips = []
    t = np.arange(2 * SR) / SR
    for i in range(N_CLIPS):
        f0 = 120 + 10 * (i % 12)
        y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
        y = y * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t)) + 0.003 * rng.standard_normal(t.size)
        y[: int(0.3 * SR)] = 0.001 * rng.standard_normal(int(0.3 * SR))  # leading silence
        path = root / f"clip{i:02d}.wav"
        sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")
        clips.append(Clip(path=path, label="neutral", speaker=str(i % 4), corpus="bench"))
    return clips


CPU_MS: dict[int, list[float]] = {1: [], 2: []}


def cpu_s() -> float:
    """CPU seconds of this process and its reaped children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rate(clips: list[Clip], workers: int, cache: Path, batch: int | None = None) -> float:
    """Clips/s of one bulk prepare (a fresh pool, as `bsx data prepare`), or of `batch`-clip
    calls sharing the kept pool (as evaluate calls it); the pool is stopped afterwards so its
    workers are reaped and their CPU counted."""
    from bsx.pool import shutdown_pools

    t0, c0 = time.perf_counter(), cpu_s()
    step = batch or len(clips)
    res, skipped = [], []
    for i in range(0, len(clips), step):
        r, s = prepare_many(clips[i:i + step], PRESETS["paper"], workers=workers, cache=cache,
                            progress=False)
        res += r
        skipped += s
    dt = time.perf_counter() - t0
    shutdown_pools()
    if batch is None:
        CPU_MS.setdefault(workers, []).append(1000 * (cpu_s() - c0) / len(clips))
    assert not skipped and all(r is not None for r in res)
    return len(clips) / dt


def main() -> None:
    load0 = os.getloadavg()[0]
    fe = PRESETS["paper"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clips = make_clips(root)
        _warm(fe)
        # best of 3, each into a fresh cache: the machine is shared, take the least disturbed
        base = max(rate(clips, 1, root / f"c1-{k}") for k in range(3))
        ours = max(rate(clips, 2, root / f"c2-{k}") for k in range(3))
        cpu1, cpu2 = min(CPU_MS[1]), min(CPU_MS[2])
        cached = max(rate(clips, 2, root / "c2-0") for _ in range(3))
        # evaluate prepares batch by batch (16 clips) into one kept pool
        base16 = max(rate(clips, 1, root / f"b1-{k}", batch=16) for k in range(3))
        ours16 = max(rate(clips, 2, root / f"b2-{k}", batch=16) for k in range(3))
    print(f"# {os.cpu_count()} cores, load average {load0:.1f} before the runs' own load")
    print(f"prepare: ours(2 workers) {ours:.1f} clips/s, baseline(1 worker) {base:.1f} clips/s, "
          f"ratio {ours / base:.2f}")
    # CPU per clip: what the pool costs beyond the work itself. With two idle cores the
    # wall-clock ratio approaches 2 x cpu1 / cpu2; on a loaded machine it cannot.
    print(f"prepare-cpu: ours(2 workers) {cpu2:.1f} ms CPU/clip, baseline(1 worker) "
          f"{cpu1:.1f} ms CPU/clip, ratio {cpu2 / cpu1:.2f}")
    print(f"prepare-batched (16 clips per call, as evaluate): ours(2 workers) {ours16:.1f} "
          f"clips/s, baseline(1 worker) {base16:.1f} clips/s, ratio {ours16 / base16:.2f}")
    print(f"prepare-rerun: ours(cache hit) {cached:.1f} clips/s, baseline(compute, 2 workers) "
          f"{ours:.1f} clips/s, ratio {cached / ours:.2f}")


if __name__ == "__main__":
    main()

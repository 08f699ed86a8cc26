"""Cue extraction across clips in a process pool: Praat is not thread-safe, and openSMILE and
pYIN hold the GIL for long stretches, so clips run in processes, one extractor per worker.

Workers come from bsx.pool (spawned, guarded: they end with their parent and ignore Ctrl-C),
so a script calling extract_many with workers > 1 needs the usual
`if __name__ == "__main__":` guard; BSX_MP_START=fork|forkserver picks another start method.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from bsx.cues.base import CueExtractor, CueTracks
from bsx.pool import kept_pool, shutdown_pools

__all__ = ["PendingTracks", "extract_many", "extract_many_async", "shutdown_pools",
           "start_workers"]

_WORKER: Any = None


def _init(name_or_obj: Any, options: dict[str, Any] | None) -> None:
    """A worker: one BLAS thread (the pool is the parallelism), then its extractor."""
    from threadpoolctl import threadpool_limits

    global _WORKER
    threadpool_limits(1, user_api="blas")
    _WORKER = _make(name_or_obj, options)


def _make(name_or_obj: Any, options: dict[str, Any] | None) -> CueExtractor:
    if isinstance(name_or_obj, str):
        from bsx.plugins import build

        return build("cue", name_or_obj, options=options)  # type: ignore[no-any-return]
    return name_or_obj  # type: ignore[no-any-return]


def _run(args: tuple[np.ndarray, int]) -> CueTracks:
    return _WORKER.extract(*args)  # type: ignore[no-any-return]


def extract_many(
    extractor: str | CueExtractor, waveforms: Sequence[np.ndarray],
    sample_rate: int | Sequence[int], *, workers: int = 2, options: dict[str, Any] | None = None,
) -> list[CueTracks]:
    """Tracks for each waveform, in order. `extractor` is a registered name (built once per
    worker, with `options`) or a built extractor (pickled to each worker once). workers <= 1
    or a single clip runs in this process."""
    rates = [sample_rate] * len(waveforms) if isinstance(sample_rate, int) else list(sample_rate)
    if len(rates) != len(waveforms):
        raise ValueError(f"{len(waveforms)} waveforms but {len(rates)} sample rates")
    jobs = list(zip(waveforms, rates, strict=True))
    if workers <= 1 or len(jobs) <= 1:
        ext = _make(extractor, options)
        return [ext.extract(y, sr) for y, sr in jobs]
    pool = _pool(extractor, options, workers)
    return list(pool.map(_run, jobs, chunksize=max(1, len(jobs) // (4 * workers))))


class PendingTracks:
    """Tracks being measured in the worker pool: call it to wait for them (in order).
    `ready_at` is when the last of them arrived (time.perf_counter), so a caller that comes
    back late still knows how long the cue stage itself took from submission."""

    def __init__(self, futures: list[Future[CueTracks]] | None = None,
                 run: Callable[[], list[CueTracks]] | None = None) -> None:
        self._futures, self._run = futures, run
        self.ready_at: float | None = None
        for f in futures or []:
            f.add_done_callback(self._stamp)

    def _stamp(self, _: Future[CueTracks]) -> None:
        if self.ready_at is None and all(f.done() for f in self._futures or []):
            self.ready_at = time.perf_counter()

    def __call__(self) -> list[CueTracks]:
        if self._futures is None:
            out = self._run() if self._run is not None else []
            self.ready_at = time.perf_counter()
            return out
        return [f.result() for f in self._futures]


def extract_many_async(
    extractor: str | CueExtractor, waveforms: Sequence[np.ndarray], sample_rate: int, *,
    workers: int = 2, options: dict[str, Any] | None = None,
) -> PendingTracks:
    """Start extract_many in the worker pool and return a PendingTracks that waits for the
    tracks, so the caller can attribute on the model while the workers measure cues. With
    workers <= 1 the work runs when it is called."""
    if workers <= 1 or len(waveforms) <= 1:
        return PendingTracks(run=lambda: extract_many(extractor, waveforms, sample_rate,
                                                      workers=1, options=options))
    jobs = [(y, sample_rate) for y in waveforms]
    pool = _pool(extractor, options, workers)
    return PendingTracks(futures=[pool.submit(_run, job) for job in jobs])


def _pool(extractor: Any, options: dict[str, Any] | None, workers: int) -> ProcessPoolExecutor:
    """Kept across calls (a spawned worker pays its imports once), keyed by what the workers
    receive: the name, or the pickled bytes of a built extractor (equal bytes = the same
    extractor, so a second run in the same process reuses the warm workers)."""
    import pickle

    ident = extractor if isinstance(extractor, str) else pickle.dumps(extractor)
    key = ("cues", ident, repr(sorted((options or {}).items())), workers)
    return kept_pool(key, workers, _init, (extractor, options))


def start_workers(extractor: str | CueExtractor, *, workers: int = 2,
                  options: dict[str, Any] | None = None) -> None:
    """Spawn the pool for `extractor` now, so its workers pay their imports while this process
    is busy with its own (torch, the model): a fresh `bsx evaluate` gave them work ~4 s in."""
    if workers > 1:
        pool = _pool(extractor, options, workers)
        for _ in range(workers):
            pool.submit(os.getpid)

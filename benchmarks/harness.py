"""Benchmark harness: time callables in one run and print 'name: ours X, baseline Y, ratio Z'."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall time of `repeat` runs (the least noisy estimate on a shared machine)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def report(name: str, ours: float, baseline: float, unit: str = "s") -> str:
    """One line per comparison; ratio = baseline / ours for times (>1: ours is faster)."""
    ratio = baseline / ours if ours > 0 else float("inf")
    line = f"{name}: ours {ours:.4g} {unit}, baseline {baseline:.4g} {unit}, ratio {ratio:.3g}"
    print(line, flush=True)
    return line

"""A fresh-process `bsx evaluate` with stage timers: wall and CPU seconds of each stage.

    python benchmarks/stage_timer.py STAGES.json evaluate --dataset emodb ...

Runs the CLI as `python -m bsx.cli` would, with thin wrappers around the stage functions
(the results are the run's own; a wrapper costs microseconds a call) and writes STAGES.json:
per stage the wall seconds and the CPU seconds of this process, and the CPU seconds of the
kept worker pools (cue workers; they also render the tail's figures) read from /proc at the
start of the batch loop (the first prepare call: with a bsx checkpoint's early start that
comes before torch is imported, so "start-up" is then shorter), at the start of the tail
and at the end. Metric families that re-explain (randomisation, robustness) count that
attribution in their own row and in the method's. The CPU of this process
counts every thread (torch's too), as time.process_time does.

This module's top level imports only the standard library: spawned workers re-import it.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import sys
import time
from collections import defaultdict
from typing import Any

T_START = time.perf_counter()
STAGES: dict[str, dict[str, float]] = defaultdict(lambda: {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
MARKS: dict[str, dict[str, float]] = {}
TICK = os.sysconf("SC_CLK_TCK")


def worker_cpu() -> float:
    """CPU seconds (user + system) used so far by the live workers of bsx's kept pools."""
    from bsx import pool

    total = 0.0
    for p in list(pool._POOLS.values()):
        for pid in list(getattr(p, "_processes", {}) or {}):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / TICK
            except (OSError, IndexError, ValueError):
                continue
    return total


def mark(name: str) -> None:
    """The first time `name` is reached: wall since start, this process's CPU, workers' CPU."""
    if name not in MARKS:
        MARKS[name] = {
            "wall_s": time.perf_counter() - T_START,
            "cpu_s": time.process_time(),
            "worker_cpu_s": worker_cpu(),
        }


def timed(stage: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            s = STAGES[stage]
            s["wall_s"] += time.perf_counter() - w0
            s["cpu_s"] += time.process_time() - c0
            s["calls"] += 1

    return wrapper


def install() -> None:
    """Wrap the stage functions where the evaluate pass looks them up (module attributes
    imported inside functions, so patching the module is enough)."""
    import bsx.cues.parallel as parallel
    import bsx.datasets.cache as cache
    import bsx.evaluation.attribute as attribute
    import bsx.evaluation.cue_scores as cue_scores
    import bsx.evaluation.run as run
    import bsx.plugins as plugins

    prepare_many = cache.prepare_many

    def prepare_and_mark(*args: Any, **kwargs: Any) -> Any:
        mark("loop")
        return prepare_many(*args, **kwargs)

    cache.prepare_many = timed("prepare", prepare_and_mark)

    parallel.PendingTracks.__call__ = timed(  # type: ignore[method-assign]
        "cue wait (this process blocked on the workers)", parallel.PendingTracks.__call__
    )
    cue_scores.cue_profile_rows = timed("cue profiles (windows -> cue statistics)",
                                        cue_scores.cue_profile_rows)
    attribute.clip_logits = timed("forward (logits)", attribute.clip_logits)

    import bsx.scoring.scorers as scorers

    functions = scorers.batch_scorers

    def batch_scorers() -> dict[str, Any]:
        return {k: timed(f"metric family: {k}", f) for k, f in functions().items()}

    scorers.batch_scorers = batch_scorers

    build = plugins.build

    def build_timed(kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        obj = build(kind, name, *args, **kwargs)
        if kind == "method":
            obj.attribute = timed(f"attribution: {name}", obj.attribute)
        return obj

    plugins.build = build_timed

    status = run.progress_status

    def status_and_mark(message: str) -> Any:
        if message.startswith("dataset statistics"):
            mark("tail")
        return status(message)

    run.progress_status = status_and_mark

    evaluate = run.run_evaluation

    def run_evaluation(*args: Any, **kwargs: Any) -> Any:
        try:
            return evaluate(*args, **kwargs)
        finally:
            mark("end")

    run.run_evaluation = run_evaluation
    import bsx.evaluation as evaluation

    evaluation.run_evaluation = run_evaluation


def main() -> None:
    out = sys.argv[1]
    sys.argv = ["bsx", *sys.argv[2:]]
    install()
    code: Any = 0
    try:
        runpy.run_module("bsx.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    mark("end")
    with open(out, "w") as f:
        json.dump(
            {
                "stages": dict(STAGES),
                "marks": MARKS,
                "total_wall_s": time.perf_counter() - T_START,
                "total_cpu_s": time.process_time(),
                "exit": code,
            },
            f,
            indent=1,
        )
    sys.exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    main()

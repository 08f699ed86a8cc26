"""Leaderboard benchmark: cells/s of the local executor with 2 worker processes vs 1.

A grid of 4 methods on a small synth set (40 clips, default model, CPU), each run into a
fresh folder so no cell is cached. The synth corpus and the prepared cache are filled once
beforehand, so both runs measure evaluating cells, not generating audio. With 2 workers each
process gets one core (torch threads = cores / workers); the baseline is the same grid run
one cell after another in one process with both cores.
On a 2-core machine the 1-worker baseline already uses both cores through torch's
intra-op threads, so 2 workers gain little there and pay each worker's start (imports, model).
Run: python benchmarks/bench_leaderboard.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import report  # noqa: E402

from bsx.leaderboard.run import run_leaderboard  # noqa: E402

GRID = """
name = "bench"
[grid]
methods = ["gradcam", "saliency", "crp", "random"]
cues = ["egemaps"]
metrics = ["relevance-mass-accuracy", "gt-precision", "sparseness"]
split = "all"
limit = 40
batch_size = 20
workers = 1
device = "cpu"
[[datasets]]
name = "synth"
options = { per_class = 8, seed = 7 }
"""


def timed(config: Path, out: Path, workers: int) -> float:
    t0 = time.perf_counter()
    rep = run_leaderboard(config, out, workers=workers, progress=False)
    dt = time.perf_counter() - t0
    if not rep.ok:
        raise SystemExit(f"cells failed: {rep.failed}")
    return len(rep.computed) / dt


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "bench.toml"
        config.write_text(GRID)
        warm = config.with_name("warm.toml")
        warm.write_text(GRID.replace('"gradcam", "saliency", "crp", "random"', '"random"'))
        run_leaderboard(warm, root / "warm", workers=1, progress=False)  # corpus + cache
        one = timed(config, root / "one", 1)
        two = timed(config, root / "two", 2)
        report("leaderboard cells/s, local executor 2 workers vs 1", 1 / two, 1 / one,
               unit="s/cell")
        print(f"cells/s: 2 workers {two:.3f}, 1 worker {one:.3f}", flush=True)


if __name__ == "__main__":
    main()

"""Synth corpus generation: parallel (one process per speaker, all cores) vs sequential.

Run: python benchmarks/bench_synth.py [per_class]   (default 120 = the default corpus)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bsx.synth import recipe


def _time(out: Path, per_class: int, workers: int) -> float:
    t0 = time.perf_counter()
    recipe.generate(out, per_class=per_class, seed=0, workers=workers)
    return time.perf_counter() - t0


def main() -> None:
    per_class = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    n = per_class * len(recipe.EMOTIONS)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        ours = _time(Path(tmp) / "par", per_class, cores)
        base = _time(Path(tmp) / "seq", per_class, 1)
    print(f"synth generate {n} clips ({cores} workers vs 1): ours {ours:.1f} s, "
          f"baseline {base:.1f} s, ratio {base / ours:.2f}")


if __name__ == "__main__":
    main()

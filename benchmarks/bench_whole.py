"""Whole utterances vs the paper's first interval, one run: what the model sees and what it
costs (prepare + predict + Grad-CAM, packaged default model, CPU).

Lines:
- "seconds of speech explained per clip": ours = --keep whole, baseline = first-interval;
  the ratio says how much more of each clip the whole-utterance path explains.
- "seconds per clip (prepare + predict + gradcam)": ratio < 1 means whole costs more per clip.
- "seconds per explained second of speech": the cost of the audio itself; ratio near 1 means
  chunking adds no overhead beyond the extra audio (units overlap by half, so ~2x is the
  expected ceiling).
Clips: the first --clips files of EmoDB (../shared/corpora/emodb, or BSX_EMODB).
Run: python benchmarks/bench_whole.py [--clips 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import report  # noqa: E402

from bsx.audio import prepare, with_keep  # noqa: E402
from bsx.evaluation.attribute import attribute, clip_logits, stack_units  # noqa: E402
from bsx.models.checkpoint import load_model  # noqa: E402
from bsx.plugins import build  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def emodb(n: int) -> list[Path]:
    root = Path(os.environ.get("BSX_EMODB", ROOT.parent / "shared" / "corpora" / "emodb"))
    files = sorted((root / "wav").glob("*.wav"))[:n]
    if not files:
        sys.exit(f"no EmoDB files under {root}/wav; set BSX_EMODB")
    return files


def run(files: list[Path], keep: str) -> tuple[float, float]:
    """(seconds of wall time, seconds of speech explained) for the files, batch of 8."""
    torch.set_num_threads(1)
    loaded = load_model(device="cpu")
    fe = with_keep(loaded.frontend, keep)  # type: ignore[arg-type]
    method = build("method", "gradcam", loaded.net)
    t0 = time.perf_counter()
    seen = 0.0
    for s in range(0, len(files), 8):
        prepared = [prepare(f, fe) for f in files[s:s + 8]]
        units = stack_units(prepared, torch.device("cpu"))
        target = clip_logits(loaded.net, units).argmax(1).numpy()
        attribute(method, units, np.asarray(target), prepared)
        seen += sum(p.content_s for p in prepared)
    return time.perf_counter() - t0, seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=40)
    args = ap.parse_args()
    files = emodb(args.clips)
    run(files[:4], "whole")  # warm-up: imports, model load
    t_first, s_first = run(files, "first-interval")
    t_whole, s_whole = run(files, "whole")
    n = len(files)
    report("seconds of speech explained per clip (whole vs first interval)",
           s_whole / n, s_first / n, unit="s of speech")
    report("seconds per clip (prepare + predict + gradcam)", t_whole / n, t_first / n)
    report("seconds per explained second of speech", t_whole / s_whole, t_first / s_first)


if __name__ == "__main__":
    main()

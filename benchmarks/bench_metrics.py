"""Metric benchmark: per-clip cost of every scoring function, batched (ours: one call for the
whole batch, as the engine does) against the same function called one clip at a time
(baseline, batch 1: how a per-clip Python loop over Quantus would run).

Model: the paper's ResNetSmall (random weights: cost does not depend on them) on 128 x 134
log-mels; explainer for the metrics that re-explain: gradient x input. Ablation runs on
2 s synthetic waveforms through the paper's front-end.
Run: python benchmarks/bench_metrics.py [--clips 16] [--slow-clips 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from harness import report  # noqa: E402

from bsx.audio import Frontend, prepare_waveform  # noqa: E402
from bsx.models.resnet_small import ResNetSmall  # noqa: E402
from bsx.scoring.ablation import RandomDraws, cue_ablation  # noqa: E402
from bsx.scoring.faithfulness import QUANTUS_METRICS, quantus_scores  # noqa: E402
from bsx.scoring.localisation import LOCALISATION_METRICS, localisation_scores  # noqa: E402
from bsx.scoring.specs import get_metric  # noqa: E402

T = 134


def grad_x_input(model, inputs, targets, device="cpu", **kw) -> np.ndarray:
    xx = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=device)
    xx.requires_grad_(True)
    out = model(xx)
    out[torch.arange(len(xx)), torch.as_tensor(np.asarray(targets), device=device)].sum().backward()
    return (xx.grad * (xx + 80.0)).detach().cpu().numpy()[:, 0]


def per_clip(fn: Callable[[slice], object], n: int) -> tuple[float, float]:
    """(ms/clip batched, ms/clip one clip at a time), after one warm-up call of each."""
    fn(slice(0, n))
    fn(slice(0, 1))
    t0 = time.perf_counter()
    fn(slice(0, n))
    ours = (time.perf_counter() - t0) / n * 1e3
    t0 = time.perf_counter()
    for i in range(n):
        fn(slice(i, i + 1))
    base = (time.perf_counter() - t0) / n * 1e3
    return ours, base


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--slow-clips", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    rng = np.random.default_rng(0)
    n = args.clips
    model = ResNetSmall(n_classes=7).to(dev).eval()
    x = (-80.0 + 70.0 * rng.random((n, 1, 128, T))).astype(np.float32)
    y = rng.integers(0, 7, n)
    maps = grad_x_input(model, x, y, device=dev)
    masks = np.zeros((n, 128, T), dtype=bool)
    masks[:, :, 40:60] = True

    for name in LOCALISATION_METRICS:
        ours, base = per_clip(lambda s, name=name: localisation_scores(maps[s], masks[s],
                                                                       [name]), n)
        report(f"metric {name}", ours, base, "ms/clip")

    for name in QUANTUS_METRICS:
        k = args.slow_clips if get_metric(name).slow else n
        ours, base = per_clip(lambda s, name=name: quantus_scores(
            model, x[s], y[s], maps[s], [name], device=dev, explain_fn=grad_x_input), k)
        report(f"metric {name}", ours, base, "ms/clip")

    fe = Frontend(name="bench", trim="none")
    prepared = []
    for _ in range(n):
        w = (rng.standard_normal(fe.n_samples) * 0.03).astype(np.float32)
        w[9600:14400] *= 10.0
        prepared.append(prepare_waveform(w, fe))
    windows = [[(0.6, 0.9)]] * n
    for cue in ("loudness", "pitch", "noise"):
        ours, base = per_clip(lambda s, cue=cue: cue_ablation(
            model, prepared[s], windows[s], y[s], cue=cue, draws=RandomDraws(n=3), device=dev), n)
        report(f"metric ablation-{cue}", ours, base, "ms/clip")


if __name__ == "__main__":
    main()

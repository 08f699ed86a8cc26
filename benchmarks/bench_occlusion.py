"""Occlusion benchmark: time-band occlusion vs the paper's 2-D occlusion, per clip, one run.

The paper's occlusion slides a 1 x 10 patch with stride 1 x 3 over the 128 x 134 log-mel
(5,376 perturbed forward passes per clip; ~38 s per clip in the authors' scripts on a 2-core
CPU). The time band occludes all mel bands of 10 frames at once (14 passes per clip). Both run
batched through bsx on ResNetSmall (the paper's TESS checkpoint when BSX_PAPER_CHECKPOINTS is
set, else a seeded random one), on the GPU when there is one.
Run: python benchmarks/bench_occlusion.py [--device cpu|cuda] [--clips N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import report  # noqa: E402

from bsx.device import resolve_device  # noqa: E402
from bsx.models.resnet_small import ResNetSmall  # noqa: E402
from bsx.plugins import build  # noqa: E402


def model(device: torch.device) -> torch.nn.Module:
    root = os.environ.get("BSX_PAPER_CHECKPOINTS")
    if root:
        from bsx.models.checkpoint import load_model

        return load_model(Path(root) / "best_model_tess.pth", label_preset="paper7",
                          device=device).net
    torch.manual_seed(0)
    return ResNetSmall(7).to(device).eval()


def timed(fn: object, sync: bool) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    if sync:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--clips", type=int, default=2, help="clips for the 2-D occlusion")
    args = ap.parse_args()
    dev = resolve_device(args.device)
    net = model(dev)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand((args.clips, 1, 128, 134), generator=g) * 70 - 80).to(dev)
    with torch.no_grad():
        target = net(x).argmax(1)
    band = build("method", "occlusion-time", net)
    paper = build("method", "occlusion", net)
    sync = dev.type == "cuda"
    band.attribute(x[:1], target[:1])  # warm-up: kernels, lazy imports
    # the time band is cheap: repeat it so its clock reading is not noise
    reps = 5
    t_band = min(timed(lambda: band.attribute(x, target), sync) for _ in range(reps))
    t_paper = timed(lambda: paper.attribute(x, target), sync)
    n = x.shape[0]
    print(f"device {dev}, {n} clips, 128 x 134, model "
          f"{'paper TESS' if os.environ.get('BSX_PAPER_CHECKPOINTS') else 'random'}")
    report("occlusion per clip (time band vs paper 2-D)", t_band / n, t_paper / n)


if __name__ == "__main__":
    main()

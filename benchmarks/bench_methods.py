"""Methods benchmark, one run: batched vs one-clip-at-a-time per method, and the relevance
conservation of bsx's canonizer vs the paper's (zennit's ResNetCanonizer).

Lines:
- "<method> per clip (batch of N vs one at a time)": seconds per clip; ratio > 1 means the
  batched path is faster.
- "input relevance / target logit, <ckpt> (bsx canonizer vs paper's)": the mean ratio over the
  clips; 1 means relevance is conserved, the paper's canonizer roughly quadruples it (each of
  the two residual adds doubles it). Here "ours" and "baseline" are ratios, not times.
Model: the paper's checkpoints when BSX_PAPER_CHECKPOINTS is set (else a seeded random
ResNetSmall); clips: the EmoDB files in BSX_REAL_SPEECH when set (else random log-mels).
Run: python benchmarks/bench_methods.py [--device cpu|cuda] [--clips N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import best_of, report  # noqa: E402

from bsx.device import resolve_device  # noqa: E402
from bsx.models.resnet_small import ResNetSmall  # noqa: E402
from bsx.plugins import build  # noqa: E402

METHODS = ("gradcam", "saliency", "integrated-gradients", "lrp", "crp", "occlusion-time")


def clips(n: int) -> torch.Tensor:
    root = os.environ.get("BSX_REAL_SPEECH")
    if root:
        from bsx.audio import prepare

        files = sorted((Path(root) / "emodb").glob("*.wav"))[:n]
        if files:
            return torch.tensor(np.stack([prepare(f).logmel for f in files]))[:, None]
    g = torch.Generator().manual_seed(0)
    return torch.rand((n, 1, 128, 134), generator=g) * 70 - 80


def nets(device: torch.device) -> dict[str, torch.nn.Module]:
    root = os.environ.get("BSX_PAPER_CHECKPOINTS")
    if not root:
        torch.manual_seed(0)
        return {"random ResNetSmall": ResNetSmall(7).to(device).eval()}
    from bsx.models.checkpoint import load_model

    return {name: load_model(Path(root) / f"best_model_{name}.pth", label_preset="paper7",
                             device=device).net for name in ("tess", "crema")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--clips", type=int, default=8)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    x = clips(args.clips).to(dev)
    n = x.shape[0]
    models = nets(dev)
    print(f"device {dev}, {n} clips, models: {', '.join(models)}")
    for name, net in models.items():
        with torch.no_grad():
            logits = net(x)
        target = logits.argmax(1)
        logit = logits[torch.arange(n, device=dev), target]
        ratios = {}
        for can in ("bsx", "paper"):
            rel = build("method", "lrp", net, options={"canonizer": can}).attribute(x, target)
            ratios[can] = float((rel.sum(dim=(1, 2)) / logit).mean())
            per_clip = [round(float(v), 2) for v in (rel.sum(dim=(1, 2)) / logit).cpu()]
            print(f"  {name} {can} canonizer, per clip: {per_clip}")
        report(f"input relevance / target logit, {name} (bsx canonizer vs paper's)",
               ratios["bsx"], ratios["paper"], unit="x logit")
    net = next(iter(models.values()))
    with torch.no_grad():
        target = net(x).argmax(1)
    for method in METHODS:
        m = build("method", method, net)
        m.attribute(x[:1], target[:1])  # warm-up
        batched = best_of(lambda m=m: m.attribute(x, target), repeat=2) / n
        single = best_of(lambda m=m: [m.attribute(x[i:i + 1], target[i:i + 1])
                                      for i in range(n)], repeat=1) / n
        report(f"{method} per clip (batch of {n} vs one at a time)", batched, single)


if __name__ == "__main__":
    main()

"""Waveform methods benchmark, one run: seconds per clip of every waveform method on the same
clips, and how well each one's salient windows find the planted spans (gt-precision).

The clips are the synth corpus's test split (speaker-independent, seed 42: the split both
packaged models were trained without). Each clip goes the evaluation's own way
(docs/model-contract.md): prepare through the model's front-end, predict (mean of unit
logits), explain the predicted class, sum per-sample relevance into 20 ms frames and stitch
(bsx.evaluation.attribute), top-5 windows of 10 frames (bsx.windows), mapped to the original
file, against Clip.meta["spans"] (bsx.scoring.groundtruth). --cnn adds the packaged log-mel
CNN and its methods on the same clips, for the README's side-by-side table.

Lines: "<model> <method>: X s/clip, gt-precision P (recall R) on N clips", then the model's
test UAR, then "<variant> conservation": the median over clips of input relevance / target
logit (the rest is absorbed by bias terms; 1 = all of the logit reaches the samples).
Timings are the attribute stage only (prediction excluded), batch = all test clips of one
length group, CPU threads as torch sets them.
Run: python benchmarks/bench_waveform_methods.py [--checkpoint DIR] [--limit N] [--cnn]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

WAVEFORM_METHODS = ("attnlrp", "integrated-gradients", "input-x-gradient", "saliency",
                    "occlusion-time", "attention-rollout", "random")
CNN_METHODS = ("crp", "gradcam", "integrated-gradients", "saliency", "occlusion-time", "random")


def test_clips(limit: int | None) -> list[Any]:
    from bsx.datasets.splits import make_split
    from bsx.plugins import build

    ds = build("dataset", "synth")
    clips = make_split(ds.clips(), mode="speaker", seed=42)["test"]
    return clips[:limit] if limit else clips


def run_model(name: str, net: torch.nn.Module, labels: tuple[str, ...], fe: Any,
              clips: list[Any], methods: tuple[str, ...]) -> dict[str, Any]:
    """Per method: seconds per clip, mean gt-precision and recall; plus the model's UAR."""
    from bsx.audio import prepare
    from bsx.evaluation.attribute import attribute, clip_logits, stack_units
    from bsx.evaluation.salient import salient_windows
    from bsx.models.metrics import classification_report
    from bsx.plugins import build
    from bsx.scoring.groundtruth import gt_precision_recall
    from bsx.windows import WindowOptions

    prepared = [prepare(c.path, fe) for c in clips]
    units = stack_units(prepared, torch.device("cpu"))
    logits = clip_logits(net, units).numpy()
    pred = logits.argmax(1)
    truth = np.array([labels.index(c.label) for c in clips])
    uar = classification_report(truth, pred, labels)["uar"]
    out: dict[str, Any] = {"uar": uar, "n": len(clips), "methods": {}}
    for method in methods:
        m = build("method", method, net)
        t0 = time.perf_counter()
        att = attribute(m, units, pred, prepared)
        seconds = (time.perf_counter() - t0) / len(clips)
        _, wins = salient_windows(att.clips, prepared, fe.frame_s, WindowOptions())
        pr = [gt_precision_recall([(w.start_s, w.end_s) for w in ws],
                                  [tuple(s) for s in c.meta["spans"]])
              for ws, c in zip(wins, clips, strict=True)]
        prec, rec = np.nanmean([p for p, _ in pr]), np.nanmean([r for _, r in pr])
        out["methods"][method] = {"s_per_clip": seconds, "gt_precision": float(prec),
                                  "gt_recall": float(rec)}
        print(f"{name} {method}: {seconds:.4g} s/clip, gt-precision {prec:.3f} "
              f"(recall {rec:.3f}) on {len(clips)} clips", flush=True)
    print(f"{name}: test UAR {uar:.3f} on {len(clips)} clips (chance {1 / len(labels):.2f})",
          flush=True)
    return out


def conservation(net: torch.nn.Module, fe: Any, clips: list[Any]) -> None:
    """Median input relevance / target logit of both LRP variants (predicted class)."""
    from bsx.audio import prepare
    from bsx.methods.attnlrp import AttnLrp
    from bsx.methods.options import AttnLrpOptions

    xs = [torch.from_numpy(prepare(c.path, fe).units()[0])[None] for c in clips]
    for variant in ("cp-lrp", "attnlrp"):
        method = AttnLrp(net, AttnLrpOptions(variant=variant))
        ratios = []
        for x in xs:
            with torch.no_grad():
                logits = net(x)[0]
            t = logits.argmax()
            ratios.append((method.attribute(x, t[None]).sum() / logits[t]).item())
        q = np.percentile(ratios, [25, 50, 75])
        print(f"{variant} conservation: input relevance / logit median {q[1]:.3f} "
              f"(quartiles {q[0]:.3f}, {q[2]:.3f}) on {len(xs)} clips", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="a save_pretrained directory (default: the packaged waveform model)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--methods", nargs="*", default=list(WAVEFORM_METHODS))
    ap.add_argument("--cnn", action="store_true", help="also the packaged log-mel CNN")
    a = ap.parse_args()
    from bsx.models.hf import load_hf

    clips = test_clips(a.limit)
    net, labels, fe = load_hf(a.checkpoint)
    run_model("waveform", net, labels, fe, clips, tuple(a.methods))
    conservation(net, fe, clips)
    if a.cnn:
        from bsx.models.checkpoint import load_model

        cnn = load_model(None)
        run_model("cnn", cnn.net, cnn.labels, cnn.frontend, clips, CNN_METHODS)


if __name__ == "__main__":
    main()

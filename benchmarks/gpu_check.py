"""The GPU check: every built-in log-mel method on the device vs the CPU for the same clips,
attribution throughput on both, evaluate end to end on the device, peak GPU memory and the
largest batch that fits. Run through benchmarks/gpu_check.sh (under 5 minutes on a GPU).

    python benchmarks/gpu_check.py --device cuda [--json OUT.json]
    python benchmarks/gpu_check.py --device cpu --tiny --methods gradcam,random  (CI-sized)

With --device cpu the "device" side is the CPU too: the comparison is CPU with CPU (the
report says so), which checks the script, not a GPU. Maps count as equal when
max |device - cpu| <= TOLERANCE x max |cpu| (TF32 off for that comparison; throughput is
timed with torch's defaults). The model: --checkpoint (with --frontend/--label-preset), else
the paper's RAVDESS checkpoint (BSX_PAPER_CHECKPOINTS), else (or with --tiny) an untrained
ResNetSmall on the paper front-end: cost and agreement do not depend on training.
The clips are synthetic vowel-like signals (harmonics with vibrato and pauses), so nothing
needs a corpus.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TOLERANCE = 1e-3  # relative to the CPU map's largest magnitude
LOGMEL_METHODS = (
    "crp",
    "gradcam",
    "integrated-gradients",
    "lrp",
    "occlusion",
    "occlusion-time",
    "random",
    "saliency",
)
WAVEFORM_ONLY = ("attention-rollout", "attnlrp", "input-x-gradient")  # transformer models
# the CPU side of the slow methods runs on fewer clips, so the check stays under 5 minutes
# (the paper's 2-D occlusion: ~35 s per clip on 2 cores; integrated gradients: 50 passes)
CLIPS_FOR = {"occlusion": 1, "integrated-gradients": 4}
BATCH_CAP = {"cuda": 2048, "cpu": 8}
BATCH_BUDGET_S = 25.0  # per method, for the largest-batch search


def synthetic_clip(seed: int, sr: int, seconds: float) -> np.ndarray:
    """A voiced signal with pitch movement and a pause: something a log-mel model responds to."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f0 = 110 + 90 * rng.random() + 15 * np.sin(2 * np.pi * (2 + 3 * rng.random()) * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 12))
    y *= np.sin(2 * np.pi * 1.3 * t) > -0.6  # pauses
    return (0.1 * y + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def load(args: argparse.Namespace, tmp: Path) -> tuple[Any, str]:
    """(LoadedModel on the CPU, checkpoint path for evaluate)."""
    import torch

    from bsx.audio import get_frontend
    from bsx.models.checkpoint import CheckpointInfo, load_model, save_checkpoint

    ckpt = args.checkpoint
    if ckpt is None and not args.tiny:
        cand = Path(os.environ.get("BSX_PAPER_CHECKPOINTS", "/work/shared/reference/checkpoints"))
        if (cand / "best_model_rav.pth").is_file():
            ckpt = str(cand / "best_model_rav.pth")
            args.frontend = args.frontend or "paper-ravdess-train"
            args.label_preset = args.label_preset or "ravdess8"
    if ckpt is None:
        from bsx.models.resnet_small import ResNetSmall

        torch.manual_seed(0)
        labels = ["angry", "fear", "happy", "neutral", "sad"]
        ckpt = str(
            save_checkpoint(
                tmp / "tiny.pt",
                ResNetSmall(len(labels)),
                CheckpointInfo(
                    model_name="resnet-small",
                    model_options={},
                    labels=labels,
                    frontend=get_frontend("paper"),
                    dataset="synth",
                    split={},
                    metrics={},
                    epoch=0,
                ),
            )
        )
    loaded = load_model(ckpt, label_preset=args.label_preset, frontend=args.frontend, device="cpu")
    return loaded, ckpt


def build_on(name: str, net: Any, device: Any) -> Any:
    """A method on its own copy of the model (LRP and CRP patch the model's modules)."""
    from bsx.plugins import build

    return build("method", name, copy.deepcopy(net).to(device).eval())


def sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_method(method: Any, x: Any, target: Any, device: Any) -> tuple[np.ndarray, float]:
    """(maps, seconds) for one call on the device."""
    sync(device)
    t0 = time.perf_counter()
    rel = method.attribute(x.to(device), target.to(device))
    sync(device)
    return rel.detach().float().cpu().numpy(), time.perf_counter() - t0


def compare(
    name: str, loaded: Any, x: Any, target: Any, cpu: Any, dev: Any, repeat: int
) -> dict[str, Any]:
    """One method: maps on both (TF32 off), then throughput on both (defaults; the CPU
    timed once, the comparison call being its warm-up)."""
    import torch

    n = min(len(x), CLIPS_FOR.get(name, len(x)))
    x, target = x[:n], target[:n]

    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        m_cpu = build_on(name, loaded.net, cpu)
        m_dev = build_on(name, loaded.net, dev)
        a, _ = run_method(m_cpu, x, target, cpu)
        b, _ = run_method(m_dev, x, target, dev)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    scale = float(np.max(np.abs(a))) or 1.0
    diff = float(np.max(np.abs(a - b))) / scale
    row: dict[str, Any] = {
        "method": name,
        "clips": n,
        "max_rel_diff": diff,
        "equal": diff <= TOLERANCE,
        "finite": bool(np.isfinite(b).all()),
    }
    for side, method, device in (("cpu", m_cpu, cpu), ("device", m_dev, dev)):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        times = 1 if device.type == "cpu" else repeat
        if device.type != "cpu":
            run_method(method, x, target, device)  # warm-up
        best = min(run_method(method, x, target, device)[1] for _ in range(times))
        row[f"{side}_clips_per_s"] = len(x) / best
        if device.type == "cuda":
            row["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return row


def largest_batch(name: str, loaded: Any, x: Any, dev: Any, cap: int) -> dict[str, Any]:
    """Double the batch (the clips repeated) until out of memory, the cap or the time budget."""
    import torch

    method = build_on(name, loaded.net, dev)
    fits, size, t0, why = 0, max(1, len(x)), time.perf_counter(), "cap"
    while size <= cap:
        reps = -(-size // len(x))
        xb = x.repeat(reps, *([1] * (x.ndim - 1)))[:size]
        tb = torch.zeros(size, dtype=torch.long)
        try:
            run_method(method, xb, tb, dev)
        except torch.OutOfMemoryError:
            why = "out of memory"
            break
        finally:
            if dev.type == "cuda":
                torch.cuda.empty_cache()
        fits = size
        if time.perf_counter() - t0 > BATCH_BUDGET_S:
            why = "time budget"
            break
        size *= 2
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
    return {"method": name, "largest_batch": fits, "stopped_by": why, "peak_gpu_mb": peak}


def evaluate(args: argparse.Namespace, ckpt: str, tmp: Path) -> dict[str, Any]:
    """`bsx evaluate` on the synth corpus on the device (in this process)."""
    import torch

    from bsx.evaluation import EvalConfig, run_evaluation

    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    n = args.eval_clips
    cfg = EvalConfig(
        dataset="synth",
        dataset_options={"per_class": max(1, -(-n // 5))},
        split="all",
        limit=n,
        methods=[args.eval_method],
        cues=["egemaps"],
        metrics=args.metrics.split(",") if args.metrics else None,
        device=args.device,
        checkpoint=Path(ckpt),
        frontend=args.frontend,
        label_preset=args.label_preset,
        workers=args.workers,
    )
    t0 = time.perf_counter()
    summary = run_evaluation(cfg, tmp / "evaluate", resume=False, progress=False)
    out = {
        "clips": int(summary["n_clips"]),
        "seconds": time.perf_counter() - t0,
        "method": args.eval_method,
        "device": str(dev),
        "metrics": args.metrics or "default",
    }
    if dev.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--methods", default=",".join(LOGMEL_METHODS))
    ap.add_argument(
        "--batch-methods", default="gradcam,crp", help="methods whose largest batch is searched"
    )
    ap.add_argument("--clips", type=int, default=16, help="clips compared and timed")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each clip")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--frontend", default=None)
    ap.add_argument("--label-preset", default=None)
    ap.add_argument("--tiny", action="store_true", help="an untrained ResNetSmall")
    ap.add_argument("--eval-clips", type=int, default=32)
    ap.add_argument("--eval-method", default="gradcam")
    ap.add_argument("--metrics", default=None, help="evaluate's metrics (default: defaults)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-cap", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the report here too")
    args = ap.parse_args(argv)

    import torch

    from bsx.audio import prepare_waveform
    from bsx.evaluation.attribute import stack_units

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit(
            "gpu_check: no CUDA device here (torch.cuda.is_available() is False); "
            "--device cpu runs the same checks CPU with CPU"
        )
    cpu, dev = torch.device("cpu"), torch.device(args.device)
    report: dict[str, Any] = {
        "device": args.device,
        "compared_with": "cpu",
        "note": (
            "CPU compared with CPU: checks the script, not a GPU"
            if dev.type == "cpu"
            else f"CUDA ({torch.cuda.get_device_name(dev)}) compared with the CPU"
        ),
        "torch": torch.__version__,
        "tolerance": TOLERANCE,
        "tolerance_rule": "max|device - cpu| <= tolerance x max|cpu|, TF32 off",
    }
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        loaded, ckpt = load(args, tmp)
        fe = loaded.frontend
        prepared = [
            prepare_waveform(synthetic_clip(i, fe.sample_rate, args.seconds), fe)
            for i in range(args.clips)
        ]
        units = stack_units(prepared, cpu)
        x = units.inputs()
        with torch.no_grad():
            target = loaded.net(x).argmax(1)
        report["model"] = {
            "checkpoint": ckpt,
            "name": loaded.model_name,
            "frontend": fe.name,
            "input": list(x.shape),
        }
        names = [m for m in args.methods.split(",") if m]
        unknown = [m for m in names if m not in LOGMEL_METHODS]
        if unknown:
            sys.exit(
                f"gpu_check: {', '.join(unknown)} are not built-in log-mel methods "
                f"({', '.join(LOGMEL_METHODS)}; waveform-only: {', '.join(WAVEFORM_ONLY)})"
            )
        report["methods"] = []
        for name in names:
            row = compare(name, loaded, x, target, cpu, dev, args.repeat)
            report["methods"].append(row)
            print(
                f"{name}: max rel diff {row['max_rel_diff']:.2e} "
                f"({'equal' if row['equal'] else 'DIFFERENT'} within {TOLERANCE:g}); "
                f"{row['cpu_clips_per_s']:.3g} clips/s on cpu, "
                f"{row['device_clips_per_s']:.3g} on {args.device}"
                + (f"; peak {row['peak_gpu_mb']:.0f} MB" if "peak_gpu_mb" in row else ""),
                flush=True,
            )
        report["skipped_methods"] = {
            m: "waveform-only (needs a waveform transformer model)" for m in WAVEFORM_ONLY
        }
        cap = args.batch_cap or BATCH_CAP[dev.type]
        report["batch"] = [
            largest_batch(m, loaded, x, dev, cap) for m in args.batch_methods.split(",") if m
        ]
        for b in report["batch"]:
            print(
                f"largest batch for {b['method']} on {args.device}: {b['largest_batch']} "
                f"(stopped by {b['stopped_by']}, cap {cap})",
                flush=True,
            )
        report["evaluate"] = evaluate(args, ckpt, tmp)
        e = report["evaluate"]
        print(
            f"evaluate on {e['device']}: {e['clips']} synth clips, {e['method']}, "
            f"{e['metrics']} metrics, {e['seconds']:.1f} s",
            flush=True,
        )
    peaks = [
        r.get("peak_gpu_mb") for r in [*report["methods"], *report["batch"], report["evaluate"]]
    ]
    report["peak_gpu_mb"] = max((p for p in peaks if p is not None), default=None)
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["seconds"] = time.perf_counter() - t_start
    report["all_equal"] = all(r["equal"] for r in report["methods"])
    print(
        f"gpu_check: {report['note']}; all maps equal within {TOLERANCE:g}: "
        f"{report['all_equal']}; {report['seconds']:.0f} s",
        flush=True,
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()

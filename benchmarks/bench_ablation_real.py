"""Cue ablation on real speech: why salient windows lost to random ones, and the fair test.

Real EmoDB clips (../shared/corpora/emodb, or BSX_EMODB) through the paper's checkpoints
(BSX_PAPER_CHECKPOINTS, default ../shared/reference/checkpoints) with the front-ends they were
trained through (TESS and CREMA-D: paper7 labels; RAVDESS: ravdess8), each clip explained
for its predicted class; loudness is neutralised in the salient windows and in random ones.

Per setup x method it prints the model's accuracy on the clips, the share of salient-window
time that lies in the front-end's padding, and the mean drop of the target probability in
salient vs random windows, the gain (= difference) with a bootstrap 95% CI, and the edit sizes
(RMS change of the log-mel input, dB), for:
- "before": the ablation as it was (git show BEFORE:src/bsx/scoring/ablation.py; skipped
  without git): salient windows unclipped, one generator per batch, pauses amplified, random
  windows unmatched;
- "before, windows clipped": the same code given windows clipped to the content;
- "now, unmatched": bsx's ablation with draws=RandomDraws(match="none");
- "now": bsx's ablation (clipped, per-clip generator, pauses kept, edit-matched random),
  with "gain per dB" (drop per dB of input change, salient minus random: what evaluate
  reports as ablation-gain).
Run: python benchmarks/bench_ablation_real.py [--per-class 10] [--methods gradcam,crp,random]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bsx.audio import get_frontend
from bsx.datasets.cache import prepare_many
from bsx.evaluation.attribute import attribute, clip_logits, stack_units
from bsx.evaluation.salient import salient_windows
from bsx.models.checkpoint import load_model
from bsx.plugins import build
from bsx.scoring.ablation import RandomDraws, cue_ablation
from bsx.windows import WindowOptions, for_method

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "81829fa"  # main before issue 18's ablation fixes
SETUPS = {  # name: (checkpoint, label preset, front-end the checkpoint was trained through)
    "tess": ("best_model_tess.pth", "paper7", "paper-tess-train"),
    "crema": ("best_model_crema.pth", "paper7", "paper-crema-train"),
    "ravdess": ("best_model_rav.pth", "ravdess8", "paper-ravdess-train"),
}


def shared(*parts: str) -> Path:
    for base in (ROOT.parent, ROOT.parent.parent):
        p = base.joinpath("shared", *parts)
        if p.exists():
            return p
    return ROOT.parent.joinpath("shared", *parts)


def before_module() -> types.ModuleType | None:
    """The ablation module as it was at BEFORE, for the 'before' lines (None without git)."""
    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show",
                              f"{BEFORE}:src/bsx/scoring/ablation.py"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    mod = types.ModuleType("bsx_ablation_before")
    exec(compile(src, "ablation_before.py", "exec"), mod.__dict__)
    return mod


def ci(x: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = rng.choice(x, size=(n_boot, x.size)).mean(axis=1)
    return float(x.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def line(name: str, res: Any, n_clips: int) -> None:
    g, lo, hi = ci(np.asarray(res.gain))
    es = getattr(res, "edit_salient", None)
    er = getattr(res, "edit_random", None)
    edits = ("" if es is None else
             f", edit dB salient {np.nanmean(es):.2f} random {np.nanmean(er):.2f}")
    n = int(np.isfinite(res.gain).sum())
    per_db = getattr(res, "gain_per_db", None)
    if per_db is not None:
        d, dlo, dhi = ci(np.asarray(per_db))
        edits += f", gain per dB {d:+.4f} [{dlo:+.4f}, {dhi:+.4f}]"
    print(f"  {name}: drop salient {np.nanmean(res.drop_salient):+.4f} random "
          f"{np.nanmean(res.drop_random):+.4f}, gain {g:+.4f} [{lo:+.4f}, {hi:+.4f}] "
          f"(n {n}/{n_clips}){edits}", flush=True)


def clip_to_content(wins: list[list[tuple[float, float]]], prepared: list[Any]
                    ) -> list[list[tuple[float, float]]]:
    out = []
    for ws, p in zip(wins, prepared, strict=True):
        a0, b0 = p.pad_offset_s, p.pad_offset_s + p.content_s
        out.append([(max(a, a0), min(b, b0)) for a, b in ws if min(b, b0) > max(a, a0)])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--methods", default="gradcam,crp,random")
    ap.add_argument("--setups", default="tess,crema,ravdess")
    ap.add_argument("--cue", default="loudness")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    root = Path(os.environ.get("BSX_EMODB", shared("corpora", "emodb")))
    ckpts = Path(os.environ.get("BSX_PAPER_CHECKPOINTS", shared("reference", "checkpoints")))
    old = before_module()
    ds = build("dataset", "emodb", options={"data_root": root})
    for setup in args.setups.split(","):
        ckpt, preset, fe_name = SETUPS[setup]
        m = load_model(ckpts / ckpt, label_preset=preset, frontend=get_frontend(fe_name))
        by: dict[str, list[Any]] = {}
        for c in ds.clips():
            if c.label in m.labels:
                by.setdefault(c.label, []).append(c)
        rng = np.random.default_rng(0)
        clips = [c for lab in sorted(by)
                 for c in rng.permutation(np.array(by[lab], dtype=object))[:args.per_class]]
        prepared, bad = prepare_many(clips, m.frontend, workers=1, progress=False)
        ok = [i for i, p in enumerate(prepared) if p is not None]
        clips, prepared = [clips[i] for i in ok], [prepared[i] for i in ok]
        units = stack_units(prepared, torch.device("cpu"))
        pred = clip_logits(m.net, units).argmax(1).numpy()
        truth = np.array([m.labels.index(c.label) for c in clips])
        pad = np.mean([p.pad_offset_s for p in prepared])
        print(f"{setup} ({ckpt}, {fe_name}): {len(clips)} EmoDB clips, accuracy "
              f"{(pred == truth).mean():.3f} (chance {1 / len(by):.3f}), mean padding before "
              f"the content {pad:.2f} s", flush=True)
        for mname in args.methods.split(","):
            meth = build("method", mname, m.net)
            att = attribute(meth, units, pred, prepared)
            wins, _ = salient_windows(att.clips, prepared, m.frontend.frame_s,
                                      for_method(WindowOptions(), meth))
            spans = [[(w.start_s, w.end_s) for w in ws] for ws in wins]
            clipped = clip_to_content(spans, prepared)
            total = sum(b - a for ws in spans for a, b in ws)
            inside = sum(b - a for ws in clipped for a, b in ws)
            print(f" {mname}: salient-window time in padding {1 - inside / total:.3f}",
                  flush=True)
            if old is not None:
                line("before", old.cue_ablation(m.net, prepared, spans, pred, cue=args.cue),
                     len(clips))
                line("before, windows clipped",
                     old.cue_ablation(m.net, prepared, clipped, pred, cue=args.cue), len(clips))
            keys = [c.id for c in clips]
            line("now, unmatched", cue_ablation(m.net, prepared, spans, pred, cue=args.cue,
                                                keys=keys,
                                                draws=RandomDraws(match="none")), len(clips))
            line("now", cue_ablation(m.net, prepared, spans, pred, cue=args.cue, keys=keys),
                 len(clips))


if __name__ == "__main__":
    main()

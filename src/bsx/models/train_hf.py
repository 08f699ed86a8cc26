"""Train a tiny wav2vec2-architecture emotion classifier on a bsx dataset (the synth corpus).

    python -m bsx.models.train_hf --out runs/w2v-tiny [--epochs 60] [--seed 0]

The packaged waveform model (src/bsx/data/default_waveform_model/) was made by this script
with its defaults. Same split as the packaged CNN (speaker-independent, seed 42, 80/10/10,
written to OUT/split.json); the waveforms are what the model's front-end keeps (the whole
utterance from the first to the last non-silent interval, bsx.models.hf_config), prepared
once and cached as one .npz under the bsx cache. Training is from scratch (no pretrained
weights exist offline): AdamW, cosine schedule, batches of similar-length clips zero-padded
at the end to the longest, random gain and a random shift of up to 50 ms (silence prepended)
as augmentation, best epoch by validation UAR. Writes OUT/model (a save_pretrained
directory), OUT/report.json and OUT/split.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bsx.models.hf import HfSize

LABELS = ("angry", "fear", "happy", "neutral", "sad")
# ~110 k parameters: a 5-layer conv encoder (total stride 320, like wav2vec2's 7 layers),
# hidden 64, 2 transformer layers of 4 heads
TINY = HfSize(
    hidden=64, layers=2, heads=4, intermediate=128, conv_dim=(32, 32, 32, 32, 32),
    conv_kernel=(10, 8, 4, 4, 2), conv_stride=(5, 4, 4, 2, 2), pos_kernel=16, pos_groups=4,
)


def cached_waveforms(clips: list[Any], fe: Any) -> dict[str, np.ndarray]:
    """clip id -> the model's input waveform (one unit per synth clip), cached once."""
    from bsx.audio import prepare
    from bsx.paths import cache_dir

    key = hashlib.sha256(
        (fe.model_dump_json() + "|".join(f"{c.id}:{c.path}" for c in clips)).encode()
    ).hexdigest()[:16]
    path = cache_dir("waveforms") / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    out: dict[str, np.ndarray] = {}
    for c in clips:
        units = prepare(c.path, fe).units()
        if len(units) != 1:
            raise ValueError(f"{c.path}: longer than one unit; train on shorter clips")
        out[c.id] = units[0].astype(np.float32)
    np.savez(path, **out)  # type: ignore[arg-type]
    return out


def batches(lengths: np.ndarray, size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Index batches of similar length (sorted, cut, batch order shuffled when rng is given)."""
    order = np.argsort(lengths, kind="stable")
    if rng is not None:  # shuffle within small length buckets first
        order = order[np.argsort(lengths[order] // 800 + rng.random(len(order)) * 0.99,
                                 kind="stable")]
    out = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(out)  # type: ignore[arg-type]
    return out


def pad(waves: list[np.ndarray], shifts: list[int] | None = None) -> torch.Tensor:
    shifts = shifts or [0] * len(waves)
    n = max(len(w) + s for w, s in zip(waves, shifts, strict=True))
    x = np.zeros((len(waves), n), dtype=np.float32)
    for i, (w, s) in enumerate(zip(waves, shifts, strict=True)):
        x[i, s:s + len(w)] = w
    return torch.from_numpy(x)


@torch.no_grad()
def predict(net: Any, waves: list[np.ndarray], batch_size: int = 32) -> np.ndarray:
    """Logits (N, C) clip by clip length group, each clip unpadded where lengths allow."""
    net.eval()
    out = np.zeros((len(waves), net.model.config.num_labels), dtype=np.float32)
    lengths = np.array([len(w) for w in waves])
    for idx in batches(lengths, batch_size, None):
        out[idx] = net(pad([waves[i] for i in idx])).numpy()
    return out


def train(out: Path, *, epochs: int = 60, batch_size: int = 16, lr: float = 2e-3,
          seed: int = 0, threads: int = 2, max_minutes: float = 25.0) -> dict[str, Any]:
    from bsx.datasets.splits import load_or_make_split
    from bsx.models.hf import build_config, new_classifier, save_hf
    from bsx.models.metrics import classification_report
    from bsx.plugins import build

    torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    ds = build("dataset", "synth")
    clips = [c for c in ds.clips() if c.label in LABELS]
    split = load_or_make_split(clips, out / "split.json", mode="speaker", seed=42)
    net = new_classifier(build_config("wav2vec2", LABELS, TINY), seed=seed)
    fe_fields = {"trim": "relative-dbfs", "trim_db": 14.0, "min_silence_s": 0.5}
    save_hf(net, out / "model", frontend=fe_fields)  # the front-end comes from the directory
    from bsx.models.hf_config import hf_frontend

    fe = hf_frontend(out / "model")
    waves = cached_waveforms([c for part in split.values() for c in part], fe)
    index = {lab: i for i, lab in enumerate(LABELS)}

    def part(name: str) -> tuple[list[np.ndarray], np.ndarray]:
        return ([waves[c.id] for c in split[name]],
                np.array([index[c.label] for c in split[name]]))

    (xtr, ytr), (xva, yva), (xte, yte) = part("train"), part("val"), part("test")
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * -(-len(xtr) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1)
    lengths = np.array([len(w) for w in xtr])
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, -1, {})
    history = []
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        losses = []
        for idx in batches(lengths, batch_size, rng):
            shifts = [int(s) for s in rng.integers(0, 800, len(idx))]
            gains = torch.from_numpy(rng.uniform(0.3, 1.5, (len(idx), 1)).astype(np.float32))
            x = pad([xtr[i] for i in idx], shifts) * gains
            loss = nn.functional.cross_entropy(net(x), torch.from_numpy(ytr[idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        val = classification_report(yva, predict(net, xva).argmax(1), LABELS)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_uar": val["uar"],
                        "seconds": round(time.time() - t0, 1)})
        print(json.dumps(history[-1]), flush=True)
        if val["uar"] > best[0]:
            best = (val["uar"], epoch + 1,
                    {k: v.detach().clone() for k, v in net.state_dict().items()})
        if time.time() - t0 > max_minutes * 60:
            break
    net.load_state_dict(best[2])
    net.eval()
    test = classification_report(yte, predict(net, xte).argmax(1), LABELS)
    val = classification_report(yva, predict(net, xva).argmax(1), LABELS)
    save_hf(net, out / "model", frontend=fe_fields)
    report = {
        "model": "wav2vec2 (tiny, from scratch)", "config": {
            k: list(v) if isinstance(v, tuple) else v for k, v in asdict(TINY).items()},
        "parameters": sum(p.numel() for p in net.parameters()),
        "dataset": "synth", "split": {"mode": "speaker", "seed": 42,
                                      "counts": {k: len(v) for k, v in split.items()}},
        "train": {"epochs": epochs, "epochs_run": len(history), "best_epoch": best[1],
                  "batch_size": batch_size, "lr": lr, "seed": seed,
                  "minutes": round((time.time() - t0) / 60, 1)},
        "test": {k: test[k] for k in ("accuracy", "uar", "macro_f1")},
        "val": {k: val[k] for k in ("accuracy", "uar", "macro_f1")},
        "history": history,
    }
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=25.0)
    a = ap.parse_args()
    rep = train(a.out, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                threads=a.threads, max_minutes=a.max_minutes)
    print(json.dumps({k: rep[k] for k in ("parameters", "test", "val", "train")}, indent=1))


if __name__ == "__main__":
    main()

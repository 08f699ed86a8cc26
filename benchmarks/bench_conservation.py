"""CRP's conservation on the models of a `bsx train --cv loso` folder: relevance sum / logit.

    python benchmarks/bench_conservation.py runs/emodb-loso --data-root ~/corpora/emodb \
        [--clips 8] [--method crp]

For each fold's model, the first `--clips` clips of its test speaker are explained for their
predicted class, unit by unit (the model's input), and the ratio of the relevance sum to the
explained logit is reported per fold (median and range over units) and overall. LRP-type rules
conserve relevance up to what biases absorb (merged batch norms, the classifier's bias): a
ratio near 1 says the map accounts for the logit; the CRNN's GRU, which zennit has no rule
for, gives ~0.1 (tests/methods/test_unruled_layers.py).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from bsx.models.checkpoint import load_model
from bsx.models.train import Corpus, stack_units
from bsx.plugins import build


def fold_ratios(fold: Path, corpus: Corpus, n_clips: int, method: str) -> np.ndarray:
    """Relevance sum / logit for every unit of the fold's first test clips."""
    loaded = load_model(fold / "model.pt")
    speakers = set(json.loads((fold / "model.json").read_text())["split"]["test_speakers"])
    clips, _ = corpus.labelled_clips()
    test = [c for c in clips if c.speaker in speakers][:n_clips]
    prepared, _ = corpus.prepare(test, loaded.frontend, progress=False)
    X, _ = stack_units([p for p in prepared.values() if p is not None])
    x = torch.from_numpy(X)
    with torch.no_grad():
        logits = loaded.net(x)
    target = logits.argmax(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rel = build("method", method, loaded.net).attribute(x, target)
    sums = rel.reshape(len(x), -1).sum(1)
    return (sums / logits[torch.arange(len(x)), target]).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cv_dir", type=Path)
    ap.add_argument("--data-root", type=Path, required=True)
    ap.add_argument("--dataset", default="emodb")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--method", default="crp")
    args = ap.parse_args()
    corpus = Corpus(args.dataset, data_root=args.data_root)
    every = []
    for fold in sorted(args.cv_dir.glob("fold-*")):
        if not (fold / "model.pt").is_file():
            continue
        r = fold_ratios(fold, corpus, args.clips, args.method)
        every.append(r)
        print(f"{fold.name}: {args.method} relevance sum / logit: median {np.median(r):.3f} "
              f"[{r.min():.3f}, {r.max():.3f}] over {len(r)} units")
    if every:
        r = np.concatenate(every)
        print(f"all folds: median {np.median(r):.3f}, mean {r.mean():.3f} "
              f"[{r.min():.3f}, {r.max():.3f}] over {len(r)} units")


if __name__ == "__main__":
    main()

"""Training throughput on the CPU: bsx's fit() with batches of 32 vs a clip-by-clip loop.

The paper's front-end gives (1, 128, 134) inputs; both sides run the same resnet-small
(and crnn) with AdamW for the same clips. Prints one line per comparison:
"name: ours X, baseline Y, ratio Z" (clips per second; ratio = ours / baseline).
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from bsx.models.recipe import TrainConfig
from bsx.models.train import TrainData, fit
from bsx.plugins import build


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(-50, 10, (n, 1, 128, 134)).astype(np.float32),
            rng.integers(0, 7, n).astype(np.int64))


def ours(model: str, X: np.ndarray, y: np.ndarray) -> float:
    Xv, yv = X[:2], y[:2]
    cfg = TrainConfig(model=model, epochs=1, batch_size=32, device="cpu")
    fit(TrainData(X[:32], y[:32], Xv, yv, 7), cfg, progress=False)  # warm
    t = time.perf_counter()
    fit(TrainData(X, y, Xv, yv, 7), cfg, progress=False)
    return len(X) / (time.perf_counter() - t)


def baseline(model: str, X: np.ndarray, y: np.ndarray) -> float:
    """A clip-at-a-time loop (batch 1), as a naive per-file training script does."""
    torch.manual_seed(0)
    net = build("model", model, 7)
    net.eval()  # BatchNorm cannot train on batches of one; eval-mode BN, as such scripts do
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(2):  # warm-up
        opt.zero_grad()
        loss_fn(net(torch.from_numpy(X[i : i + 1])), torch.from_numpy(y[i : i + 1])).backward()
    t = time.perf_counter()
    for i in range(len(X)):
        opt.zero_grad()
        loss = loss_fn(net(torch.from_numpy(X[i : i + 1])), torch.from_numpy(y[i : i + 1]))
        loss.backward()
        opt.step()
    return len(X) / (time.perf_counter() - t)


def main() -> None:
    print(f"# cpu, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    for model, n_ours, n_base in (("resnet-small", 128, 32), ("crnn", 128, 32)):
        X, y = data(n_ours, 0)
        a = ours(model, X, y)
        b = baseline(model, X[:n_base], y[:n_base])
        print(f"train-{model}: ours(fit, batch 32) {a:.1f} clips/s, baseline(loop, batch 1) "
              f"{b:.1f} clips/s, ratio {a / b:.2f}", flush=True)


if __name__ == "__main__":
    main()

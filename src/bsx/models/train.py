"""Training: the paper's recipe, made reproducible and resumable.

Recipe (Nasr et al. 2025): AdamW (lr 3e-4, weight decay 1e-4), batch 32, up to 50 epochs,
early stopping on validation accuracy with patience 7, mixed precision on CUDA. bsx adds:
a speaker-independent split by default (the paper's random split leaked test clips into
training), a seeded deterministic run on the CPU, and an epoch checkpoint (`last.pt`,
tensors and plain values only) so an interrupted run resumes from its last finished epoch
and ends exactly where an uninterrupted run would have ended.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bsx.errors import BadCheckpoint, BsxError
from bsx.models.metrics import classification_report, confusion_matrix, uar

LAST = "last.pt"


@dataclass
class TrainResult:
    """Best weights (by validation accuracy), per-epoch history, and the net holding them."""

    state_dict: dict[str, Tensor]
    history: list[dict[str, float]]
    best_epoch: int
    best_val_accuracy: float
    net: nn.Module
    stopped_early: bool = False
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _deterministic(on: bool) -> Iterator[None]:
    """torch.use_deterministic_algorithms for the block only (it is process-wide)."""
    before = torch.are_deterministic_algorithms_enabled()
    warn_before = torch.is_deterministic_algorithms_warn_only_enabled()
    if on:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_before)


def _check_arrays(X: np.ndarray, y: np.ndarray, n_classes: int, what: str) -> None:
    if X.ndim != 4 or X.shape[1] != 1:
        raise BsxError(f"{what} spectrograms must be (N, 1, n_mels, T), got {X.shape}")
    if len(X) != len(y):
        raise BsxError(f"{what}: {len(X)} spectrograms but {len(y)} labels")
    if len(X) == 0:
        raise BsxError(f"{what} split is empty; give more clips or another split")
    if y.min() < 0 or y.max() >= n_classes:
        raise BsxError(f"{what} labels must lie in [0, {n_classes})")


@torch.no_grad()
def predict(
    net: nn.Module, X: np.ndarray | Tensor, *, batch_size: int = 64,
    device: torch.device | None = None,
) -> np.ndarray:
    """(N, 1, M, T) -> (N, C) float32 logits, in eval mode, batch by batch."""
    dev = device or next(net.parameters()).device
    was_training = net.training
    net.eval()
    out = []
    for i in range(0, len(X), batch_size):
        xb = torch.as_tensor(X[i : i + batch_size], dtype=torch.float32).to(dev)
        out.append(net(xb).float().cpu())
    net.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


def _run_state(
    net: nn.Module, opt: torch.optim.Optimizer, scaler: Any, best: dict[str, Tensor],
    history: list[dict[str, float]], epoch: int, bad: int, best_epoch: int, best_acc: float,
    config: dict[str, Any],
) -> dict[str, Any]:
    return {
        "net": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "optim": opt.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else {},
        "best": best,
        "history": history,
        "epoch": epoch,
        "bad_epochs": bad,
        "best_epoch": best_epoch,
        "best_acc": best_acc,
        "rng": torch.get_rng_state(),
        "config": json.dumps(config, sort_keys=True),
    }


def fit(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    model_name: str = "resnet-small",
    model_options: dict[str, Any] | None = None,
    n_classes: int,
    epochs: int = 50,
    batch_size: int = 32,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    patience: int = 7,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train `model_name` on (N, 1, M, T) float32 spectrograms; keep the best epoch.

    Each epoch shuffles with a generator seeded by (seed, epoch), so a resumed run draws the
    same batches; the global torch RNG (dropout) is saved in the epoch checkpoint too.
    `on_epoch(epoch, record)` runs after each epoch's checkpoint is written.
    """
    from bsx.device import resolve_device
    from bsx.plugins import build

    dev = resolve_device(device) if isinstance(device, str) else device
    X_train = np.asarray(X_train, dtype=np.float32)
    X_val = np.asarray(X_val, dtype=np.float32)
    y_train = np.asarray(y_train, dtype=np.int64)
    y_val = np.asarray(y_val, dtype=np.int64)
    _check_arrays(X_train, y_train, n_classes, "training")
    _check_arrays(X_val, y_val, n_classes, "validation")
    if epochs < 1 or batch_size < 1 or patience < 1:
        raise BsxError("epochs, batch size and patience must be at least 1")
    config = {
        "model": model_name, "model_options": model_options or {}, "n_classes": n_classes,
        "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "seed": seed,
        "n_train": len(X_train), "n_val": len(X_val), "shape": list(X_train.shape[1:]),
    }
    amp = dev.type == "cuda"
    torch.manual_seed(seed)
    net = build("model", model_name, n_classes, options=model_options or {}).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    loss_fn = nn.CrossEntropyLoss()

    history: list[dict[str, float]] = []
    best: dict[str, Tensor] = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    best_acc, best_epoch, bad, start = -math.inf, 0, 0, 0
    last = Path(out) / LAST if out is not None else None
    if resume and last is not None and last.is_file():
        try:
            st = torch.load(last, map_location="cpu", weights_only=True)
            saved_config = json.loads(st["config"])
        except Exception as exc:
            raise BadCheckpoint(
                f"{last}: not a readable bsx epoch checkpoint ({type(exc).__name__}); "
                "delete it to start afresh"
            ) from None
        if saved_config != config:
            diff = sorted(k for k in config if saved_config.get(k) != config[k])
            raise BsxError(
                f"{last}: was written by a run with other settings ({', '.join(diff)}); "
                "use the same settings, another --out, or drop --resume"
            )
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["optim"])
        if scaler is not None and st["scaler"]:
            scaler.load_state_dict(st["scaler"])
        best, history = st["best"], list(st["history"])
        start, bad, best_epoch = int(st["epoch"]), int(st["bad_epochs"]), int(st["best_epoch"])
        best_acc = float(st["best_acc"])
        torch.set_rng_state(st["rng"])
    resumed_from = start
    if last is not None:
        last.parent.mkdir(parents=True, exist_ok=True)

    Xt = torch.from_numpy(X_train)
    yt = torch.from_numpy(y_train)
    stopped = bad >= patience
    bar = _Progress(epochs, start, enabled=progress)
    with _deterministic(dev.type == "cpu"), bar:
        for epoch in range(start + 1, epochs + 1):
            if stopped:
                break
            net.train()
            gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
            order = torch.randperm(len(Xt), generator=gen)
            total, seen = 0.0, 0
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                if len(idx) < 2 and len(order) > 1:
                    continue  # BatchNorm needs more than one sample per batch
                xb = Xt[idx].to(dev, non_blocking=True)
                yb = yt[idx].to(dev, non_blocking=True)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                    loss = loss_fn(net(xb), yb)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
            logits = predict(net, X_val, batch_size=max(64, batch_size), device=dev)
            val_loss = float(loss_fn(torch.from_numpy(logits), torch.from_numpy(y_val)))
            cm = confusion_matrix(y_val, logits.argmax(1), n_classes)
            val_acc = float(np.trace(cm) / cm.sum())
            record = {
                "epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val_loss,
                "val_accuracy": val_acc, "val_uar": uar(cm),
            }
            history.append(record)
            if val_acc > best_acc:
                best_acc, best_epoch, bad = val_acc, epoch, 0
                best = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            else:
                bad += 1
            stopped = bad >= patience
            if last is not None:
                state = _run_state(net, opt, scaler, best, history, epoch, bad, best_epoch,
                                   best_acc, config)
                tmp = last.with_name(LAST + ".tmp")
                torch.save(state, tmp)
                tmp.replace(last)
            bar.advance(record, best_epoch)
            if on_epoch is not None:
                on_epoch(epoch, record)
    net.load_state_dict(best)
    net.eval()
    return TrainResult(
        state_dict=best, history=history, best_epoch=best_epoch, best_val_accuracy=best_acc,
        net=net, stopped_early=stopped and (history[-1]["epoch"] if history else 0) < epochs,
        resumed_from=resumed_from,
    )


class _Progress:
    """A rich progress bar over epochs on stderr (quiet when disabled)."""

    def __init__(self, epochs: int, start: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.epochs, self.start = epochs, start
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from bsx.cli.console import err

            self._bar = Progress(
                TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), console=err, transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "train", total=self.epochs, completed=self.start, info=""
            )
        return self

    def advance(self, rec: dict[str, float], best_epoch: int) -> None:
        if self._bar is not None:
            info = (f"loss {rec['train_loss']:.3f}  val acc {rec['val_accuracy']:.3f}  "
                    f"val UAR {rec['val_uar']:.3f}  best epoch {best_epoch}")
            self._bar.update(self._task, advance=1, info=info)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def evaluate(
    net: nn.Module, X: np.ndarray, y: np.ndarray, labels: Sequence[str], *,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Predict and score: accuracy, UAR, macro F1, per-class recall, confusion matrix."""
    logits = predict(net, X, batch_size=batch_size)
    return classification_report(np.asarray(y), logits.argmax(1), labels)


@dataclass
class TrainRun:
    """What `bsx train` leaves behind: the final checkpoint, the report, the fit result."""

    checkpoint: Path
    report: dict[str, Any]
    result: TrainResult


def plot_confusion(cm: np.ndarray, labels: Sequence[str], path: Path, title: str = "") -> Path:
    """Row-normalised confusion matrix as a PNG (counts written in the cells)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cm = np.asarray(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.nan_to_num(cm / cm.sum(axis=1, keepdims=True))
    n = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * n, 0.8 + 0.7 * n))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def report_table(report: dict[str, Any], title: str = "test split") -> Any:
    """A rich table: per-class recall and support, then accuracy, UAR, macro F1."""
    from rich.table import Table

    table = Table(title=f"{title}: {report['n']} clips")
    table.add_column("class")
    table.add_column("recall", justify="right")
    table.add_column("support", justify="right")
    for lab in report["labels"]:
        r = report["per_class_recall"][lab]
        table.add_row(lab, "-" if r is None else f"{r:.3f}", str(report["support"][lab]))
    table.add_section()
    for key, name in (("accuracy", "accuracy"), ("uar", "UAR"), ("macro_f1", "macro F1")):
        v = report[key]
        table.add_row(f"[bold]{name}[/bold]", "-" if v != v else f"[bold]{v:.3f}[/bold]", "")
    return table


def train_dataset(
    dataset: str = "synth",
    *,
    out: Path,
    data_root: Path | None = None,
    dataset_options: dict[str, Any] | None = None,
    model: str = "resnet-small",
    model_options: dict[str, Any] | None = None,
    frontend: str | Any = "paper",
    split_mode: str = "speaker",
    split_seed: int = 42,
    epochs: int = 50,
    batch_size: int = 32,
    lr: float = 3e-4,
    weight_decay: float = 1e-4,
    patience: int = 7,
    seed: int = 0,
    device: str | torch.device = "auto",
    resume: bool = False,
    workers: int = 2,
    cache: Path | None = None,
    progress: bool = True,
) -> TrainRun:
    """Dataset plugin -> split -> spectrograms -> fit -> test report + checkpoint under `out`.

    Writes out/split.json (reused by later runs), out/last.pt (epoch state, for --resume),
    out/model.pt + model.json (best epoch), out/report.json and out/confusion.png.
    """
    from bsx.audio import get_frontend
    from bsx.datasets.cache import prepare_many
    from bsx.datasets.splits import load_or_make_split, split_record
    from bsx.device import resolve_device
    from bsx.models.checkpoint import save_checkpoint
    from bsx.plugins import build, lookup

    dev = resolve_device(device) if isinstance(device, str) else device
    fe = get_frontend(frontend)
    lookup("model", model).make_options(model_options)  # fail before the slow part
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds_opts = dict(dataset_options or {})
    if data_root is not None:
        ds_opts["data_root"] = Path(data_root)
    ds = build("dataset", dataset, options=ds_opts)
    clips = [c for c in ds.clips() if c.label in ds.labels]
    if not clips:
        raise BsxError(f"dataset '{dataset}' has no clips with labels {', '.join(ds.labels)}")
    present = {c.label for c in clips}
    labels = tuple(lab for lab in ds.labels if lab in present)
    index = {lab: i for i, lab in enumerate(labels)}

    split = load_or_make_split(clips, out / "split.json", mode=split_mode,  # type: ignore[arg-type]
                               seed=split_seed)
    order = [c for part in ("train", "val", "test") for c in split[part]]
    prepared, skipped = prepare_many(order, fe, workers=workers, cache=cache, progress=progress)
    by_id = {c.id: p for c, p in zip(order, prepared, strict=True)}

    def arrays(part: str) -> tuple[np.ndarray, np.ndarray]:
        keep = [(by_id[c.id], index[c.label]) for c in split[part] if by_id[c.id] is not None]
        if not keep:
            raise BsxError(
                f"the {part} split of '{dataset}' holds no usable clips "
                f"({len(split[part])} assigned, {len(skipped)} skipped in all)"
            )
        X = np.stack([p.logmel[None] for p, _ in keep]).astype(np.float32)  # type: ignore[union-attr]
        return X, np.array([y for _, y in keep], dtype=np.int64)

    Xtr, ytr = arrays("train")
    Xva, yva = arrays("val")
    Xte, yte = arrays("test")
    res = fit(Xtr, ytr, Xva, yva, model_name=model, model_options=model_options,
              n_classes=len(labels), epochs=epochs, batch_size=batch_size, lr=lr,
              weight_decay=weight_decay, patience=patience, seed=seed, device=dev, out=out,
              resume=resume, progress=progress)
    test = evaluate(res.net, Xte, yte, labels)
    val = evaluate(res.net, Xva, yva, labels)
    split_info = {  # the split's speakers (clip ids for random) go to the sidecar
        **split_record(split, mode=split_mode, seed=split_seed, dataset_options=ds_opts),
        "file": "split.json",
        "counts": {k: len(split[k]) for k in ("train", "val", "test")},
        "used": {"train": len(ytr), "val": len(yva), "test": len(yte)},
    }
    opts = lookup("model", model).make_options(model_options).model_dump(mode="json")
    train_cfg = {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                 "weight_decay": weight_decay, "patience": patience, "seed": seed,
                 "device": str(dev), "best_epoch": res.best_epoch,
                 "epochs_run": len(res.history), "stopped_early": res.stopped_early}
    ckpt = save_checkpoint(
        out / "model.pt", res.state_dict, model_name=model, model_options=opts, labels=labels,
        frontend=fe, dataset=dataset, split=split_info,
        metrics={"test": {k: test[k] for k in ("accuracy", "uar", "macro_f1")},
                 "val": {k: val[k] for k in ("accuracy", "uar", "macro_f1")}},
        epoch=res.best_epoch,
        extra={"dataset_options": ds_opts, "train": train_cfg},
    )
    report = {
        "dataset": dataset, "dataset_options": ds_opts, "model": model, "model_options": opts,
        "frontend": fe.model_dump(), "labels": list(labels), "split": split_info,
        "train": train_cfg, "history": res.history, "test": test, "val": val,
        "skipped": [{"clip": s.clip.id, "reason": s.reason} for s in skipped],
        "checkpoint": ckpt.name,
    }
    from bsx.models.checkpoint import jsonable

    (out / "report.json").write_text(
        json.dumps(jsonable(report), indent=1, allow_nan=False) + "\n"
    )
    plot_confusion(np.array(test["confusion"]), labels, out / "confusion.png",
                   title=f"{dataset} test, {model}: UAR {test['uar']:.3f}")
    return TrainRun(checkpoint=ckpt, report=report, result=res)

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
    groups_train: np.ndarray | None = None,
    groups_val: np.ndarray | None = None,
    class_weight: np.ndarray | None = None,
    augment: Any = None,
    monitor: str = "accuracy",
    lr_schedule: str = "constant",
) -> TrainResult:
    """Train `model_name` on (N, 1, M, T) float32 spectrograms; keep the best epoch.

    Each epoch shuffles with a generator seeded by (seed, epoch), so a resumed run draws the
    same batches; the global torch RNG (dropout) is saved in the epoch checkpoint too.
    `on_epoch(epoch, record)` runs after each epoch's checkpoint is written.

    Whole utterances (Frontend.keep "whole"): rows are units and `groups_*` name each row's
    clip (0..n_clips-1). An epoch then draws ONE random unit per training clip (every clip
    counts once, whatever its length: a random crop), and validation scores each clip by the
    mean of its units' logits (the engine's utterance-level rule). `class_weight` (C,)
    weights the loss; `augment` (bsx.models.augment.AugmentOptions) augments each training
    batch; `monitor` ("accuracy" or "uar") picks the best epoch (TrainResult.best_val_accuracy
    then holds the monitored score); `lr_schedule` "cosine"
    decays the learning rate from `lr` towards 0 over `epochs` (set from the epoch number, so
    a resumed run follows the same schedule).
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
    if monitor not in ("accuracy", "uar"):
        raise BsxError(f"monitor '{monitor}': accepted: accuracy, uar")
    if lr_schedule not in ("constant", "cosine"):
        raise BsxError(f"lr schedule '{lr_schedule}': accepted: constant, cosine")
    config = {
        "model": model_name, "model_options": model_options or {}, "n_classes": n_classes,
        "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "seed": seed,
        "n_train": len(X_train), "n_val": len(X_val), "shape": list(X_train.shape[1:]),
    }
    extras = _recipe_extras(groups_train, class_weight, augment, monitor)
    if lr_schedule != "constant":
        extras["lr_schedule"] = lr_schedule
    config.update(extras)  # only what differs from the plain recipe: old last.pt still resume
    amp = dev.type == "cuda"
    torch.manual_seed(seed)
    net = build("model", model_name, n_classes, options=model_options or {}).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    loss_fn = nn.CrossEntropyLoss()
    train_loss_fn = nn.CrossEntropyLoss(
        weight=None if class_weight is None
        else torch.as_tensor(class_weight, dtype=torch.float32, device=dev))
    units = _Units(groups_train, len(X_train))
    val_groups = None if groups_val is None else np.asarray(groups_val, dtype=np.int64)
    y_val_clip = y_val if val_groups is None else _per_group(y_val, val_groups)

    history: list[dict[str, float]] = []
    best: dict[str, Tensor] = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    best_acc, best_epoch, bad, start = -math.inf, 0, 0, 0
    last = Path(out) / LAST if out is not None else None
    if resume and last is not None and last.is_file():
        from bsx.models.torch_files import load_tensors

        st = load_tensors(last, "bsx epoch checkpoint (delete it to start afresh)",
                          map_location="cpu")
        try:
            saved_config = json.loads(st["config"])
        except (KeyError, TypeError, ValueError) as exc:
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
            order = units.draw(gen)
            if lr_schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
            total, seen = 0.0, 0
            for i in range(0, len(order), batch_size):
                idx = order[i : i + batch_size]
                if len(idx) < 2 and len(order) > 1:
                    continue  # BatchNorm needs more than one sample per batch
                xb = Xt[idx].to(dev, non_blocking=True)
                yb = yt[idx].to(dev, non_blocking=True)
                if augment is not None:
                    from bsx.models.augment import augment_batch

                    xb = augment_batch(xb, gen, augment)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(dev.type, dtype=torch.float16, enabled=amp):
                    loss = train_loss_fn(net(xb), yb)
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
            if val_groups is not None:
                logits = _per_group(logits, val_groups, mean=True)
            val_loss = float(loss_fn(torch.from_numpy(logits), torch.from_numpy(y_val_clip)))
            cm = confusion_matrix(y_val_clip, logits.argmax(1), n_classes)
            val_acc = float(np.trace(cm) / cm.sum())
            record = {
                "epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val_loss,
                "val_accuracy": val_acc, "val_uar": uar(cm),
                "lr": float(opt.param_groups[0]["lr"]),
            }
            history.append(record)
            score = val_acc if monitor == "accuracy" else record["val_uar"]
            if score > best_acc:
                best_acc, best_epoch, bad = score, epoch, 0
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


def _recipe_extras(groups: np.ndarray | None, class_weight: np.ndarray | None, augment: Any,
                   monitor: str) -> dict[str, Any]:
    """The settings beyond the paper's recipe, for last.pt's config check (defaults left out)."""
    out: dict[str, Any] = {}
    if groups is not None:
        out["n_train_clips"] = int(np.max(groups)) + 1 if len(groups) else 0
    if class_weight is not None:
        out["class_weight"] = [round(float(w), 6) for w in class_weight]
    if augment is not None:
        out["augment"] = augment.model_dump(mode="json")
    if monitor != "accuracy":
        out["monitor"] = monitor
    return out


class _Units:
    """Which rows an epoch trains on: all rows shuffled, or one random unit per clip."""

    def __init__(self, groups: np.ndarray | None, n: int) -> None:
        self.n = n
        self.rows: list[Tensor] | None = None
        if groups is not None:
            g = np.asarray(groups, dtype=np.int64)
            if len(g) != n:
                raise BsxError(f"{len(g)} group ids for {n} training rows")
            self.rows = [torch.from_numpy(np.flatnonzero(g == k))
                         for k in range(int(g.max()) + 1 if len(g) else 0)]
            self.rows = [r for r in self.rows if len(r)]

    def draw(self, gen: torch.Generator) -> Tensor:
        if self.rows is None:
            return torch.randperm(self.n, generator=gen)
        pick = torch.rand(len(self.rows), generator=gen)
        chosen = torch.stack([r[int(p * len(r))] for r, p in zip(self.rows, pick, strict=True)])
        return chosen[torch.randperm(len(chosen), generator=gen)]


def _per_group(values: np.ndarray, groups: np.ndarray, *, mean: bool = False) -> np.ndarray:
    """Rows -> one per group (0..G-1): the mean (logits) or the first row (labels)."""
    g = np.asarray(groups, dtype=np.int64)
    n = int(g.max()) + 1 if len(g) else 0
    if not mean:
        first = np.full(n, -1, dtype=np.int64)
        for i in range(len(g) - 1, -1, -1):
            first[g[i]] = i
        return np.asarray(values)[first]
    sums = np.zeros((n, values.shape[1]), dtype=np.float64)
    np.add.at(sums, g, values)
    return (sums / np.bincount(g, minlength=n)[:, None]).astype(np.float32)


def predict_clips(net: nn.Module, X: np.ndarray, groups: np.ndarray | None, *,
                  batch_size: int = 64) -> np.ndarray:
    """(N units, 1, M, T) -> (n_clips, C) logits: the mean of each clip's units' logits."""
    logits = predict(net, X, batch_size=batch_size)
    return logits if groups is None else _per_group(logits, groups, mean=True)


def stack_units(prepared: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Prepared clips -> (rows (N, 1, M, T) float32, clip index per row): a paper preset gives
    one row per clip, a whole-utterance front-end one row per unit."""
    rows: list[np.ndarray] = []
    groups: list[int] = []
    for k, p in enumerate(prepared):
        for u in p.units():
            rows.append(u[None])
            groups.append(k)
    return np.stack(rows).astype(np.float32), np.asarray(groups, dtype=np.int64)


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Class weights n / (C * n_c) (sklearn's "balanced"); 0 for a class absent here."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_classes).astype(float)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, counts.sum() / (n_classes * counts), 0.0)
    return w.astype(np.float32)


class _Progress:
    """A rich progress bar over epochs on stderr (quiet when disabled)."""

    def __init__(self, epochs: int, start: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self.epochs, self.start = epochs, start
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from bsx.progress import stderr

            self._bar = Progress(
                TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), console=stderr(), transient=False,
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
    batch_size: int = 64, groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Predict and score: accuracy, UAR, macro F1, per-class recall, confusion matrix.
    `groups`: each row's clip; clips are scored by their units' mean logits."""
    logits = predict_clips(net, X, groups, batch_size=batch_size)
    y = np.asarray(y) if groups is None else _per_group(np.asarray(y), groups)
    return classification_report(y, logits.argmax(1), labels)


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
    class_weight: bool = False,
    augment: Any = None,
    monitor: str = "accuracy",
    lr_schedule: str = "constant",
) -> TrainRun:
    """Dataset plugin -> split -> spectrograms -> fit -> test report + checkpoint under `out`.

    Writes out/split.json (reused by later runs), out/last.pt (epoch state, for --resume),
    out/model.pt + model.json (best epoch), out/report.json and out/confusion.png.
    A whole-utterance front-end trains on one random unit per clip per epoch and scores
    clips by their units' mean logits (fit); `class_weight` weights the loss by the inverse
    class frequency of the training clips.
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

    def arrays(part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        keep = [(by_id[c.id], index[c.label]) for c in split[part] if by_id[c.id] is not None]
        if not keep:
            raise BsxError(
                f"the {part} split of '{dataset}' holds no usable clips "
                f"({len(split[part])} assigned, {len(skipped)} skipped in all)"
            )
        X, groups = stack_units([p for p, _ in keep])
        y = np.array([y for _, y in keep], dtype=np.int64)
        one_each = len(groups) == len(keep)  # one unit per clip: rows are clips
        return X, y[groups], None if one_each else groups

    Xtr, ytr, gtr = arrays("train")
    Xva, yva, gva = arrays("val")
    Xte, yte, gte = arrays("test")
    y_clips = ytr if gtr is None else _per_group(ytr, gtr)
    res = fit(Xtr, ytr, Xva, yva, model_name=model, model_options=model_options,
              n_classes=len(labels), epochs=epochs, batch_size=batch_size, lr=lr,
              weight_decay=weight_decay, patience=patience, seed=seed, device=dev, out=out,
              resume=resume, progress=progress, groups_train=gtr, groups_val=gva,
              class_weight=balanced_weights(y_clips, len(labels)) if class_weight else None,
              augment=augment, monitor=monitor, lr_schedule=lr_schedule)
    test = evaluate(res.net, Xte, yte, labels, groups=gte)
    val = evaluate(res.net, Xva, yva, labels, groups=gva)
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
                 "epochs_run": len(res.history), "stopped_early": res.stopped_early,
                 **_recipe_extras(None, None, augment, monitor), "lr_schedule": lr_schedule,
                 "class_weight": "balanced" if class_weight else "none"}
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

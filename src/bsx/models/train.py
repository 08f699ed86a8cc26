"""Training: the paper's recipe, made reproducible and resumable.

Recipe (Nasr et al. 2025): AdamW (lr 3e-4, weight decay 1e-4), batch 32, up to 50 epochs,
early stopping on validation accuracy with patience 7, mixed precision on CUDA. bsx adds:
a speaker-independent split by default (the paper's random split leaked test clips into
training), a seeded deterministic run on the CPU, and an epoch checkpoint (`last.pt`,
tensors and plain values only) so an interrupted run resumes from its last finished epoch
and ends exactly where an uninterrupted run would have ended. The settings come as one
bsx.models.recipe.TrainConfig; the arrays as one TrainData.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from bsx.errors import BadCheckpoint, BsxError
from bsx.models.metrics import classification_report, confusion_matrix, uar
from bsx.models.probe import PROBE, encode_prepared, fit_recipe, pin
from bsx.models.recipe import TrainConfig

if TYPE_CHECKING:
    from bsx.audio import Frontend
    from bsx.datasets.base import Clip

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


def _check_arrays(X: np.ndarray, y: np.ndarray, n_classes: int, what: str, *,
                  may_be_empty: bool = False) -> None:
    if X.ndim != 4 or X.shape[1] != 1:
        raise BsxError(f"{what} spectrograms must be (N, 1, n_mels, T), got {X.shape}")
    if len(X) != len(y):
        raise BsxError(f"{what}: {len(X)} spectrograms but {len(y)} labels")
    if len(X) == 0 and may_be_empty:
        return
    if len(X) == 0:
        raise BsxError(f"{what} split is empty; give more clips or another split")
    if y.min() < 0 or y.max() >= n_classes:
        raise BsxError(f"{what} labels must lie in [0, {n_classes})")


def nhwc(net: nn.Module, dev: torch.device) -> bool:
    """Channels-last on the CPU for models that declare it safe (channels_last_ok): the
    log-mel CNN trains ~1.5x faster per batch so (measured in docs/training.md)."""
    return dev.type == "cpu" and bool(getattr(net, "channels_last_ok", False))


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
        if nhwc(net, dev):
            xb = xb.contiguous(memory_format=torch.channels_last)
        out.append(net(xb).float().cpu())
    net.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class TrainData:
    """What fit() learns from: (N, 1, M, T) float32 rows with int labels in [0, n_classes),
    for training and validation. Whole utterances: `groups_*` name each row's clip
    (0..n_clips-1); rows are then units, and clips are what counts (see fit). The
    validation rows may be none when the recipe selects the last epoch."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    n_classes: int
    groups_train: np.ndarray | None = None
    groups_val: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, dtype in (("X_train", np.float32), ("X_val", np.float32),
                            ("y_train", np.int64), ("y_val", np.int64)):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=dtype))
        if self.groups_val is not None:
            object.__setattr__(self, "groups_val", np.asarray(self.groups_val, dtype=np.int64))
        _check_arrays(self.X_train, self.y_train, self.n_classes, "training")
        _check_arrays(self.X_val, self.y_val, self.n_classes, "validation", may_be_empty=True)

    def train_clip_labels(self) -> np.ndarray:
        """One label per training clip (per row when rows are clips)."""
        return self.y_train if self.groups_train is None else _per_group(self.y_train,
                                                                         self.groups_train)

    def val_clip_labels(self) -> np.ndarray:
        return self.y_val if self.groups_val is None else _per_group(self.y_val, self.groups_val)


def class_weights(config: TrainConfig, data: TrainData) -> np.ndarray | None:
    """The recipe's loss weights for these data: none, balanced over the training clips,
    or the given per-class weights."""
    if config.class_weight == "none":
        return None
    if config.class_weight == "balanced":
        return balanced_weights(data.train_clip_labels(), data.n_classes)
    if len(config.class_weight) != data.n_classes:
        raise BsxError(f"class_weight gives {len(config.class_weight)} weights for "
                       f"{data.n_classes} classes")
    return np.asarray(config.class_weight, dtype=np.float32)


def _resume_key(config: TrainConfig, data: TrainData,
                weights: np.ndarray | None) -> dict[str, Any]:
    """The settings that shape an epoch's trajectory, as last.pt records them. Fields at the
    paper's values are left out (the form last.pt has always had), so old epoch
    checkpoints still resume; epochs and patience may change on a resume."""
    key: dict[str, Any] = {
        "model": config.model, "model_options": dict(config.model_options),
        "n_classes": data.n_classes, "batch_size": config.batch_size, "lr": config.lr,
        "weight_decay": config.weight_decay, "seed": config.seed, "n_train": len(data.X_train),
        "n_val": len(data.X_val), "shape": list(data.X_train.shape[1:]),
    }
    g = data.groups_train
    if g is not None:
        key["n_train_clips"] = int(np.max(g)) + 1 if len(g) else 0
    if config.ema is not None:
        key["ema"] = config.ema
    if weights is not None:
        key["class_weight"] = [round(float(w), 6) for w in weights]
    if config.augment is not None:  # settings added later are left out while off
        key["augment"] = {k: v for k, v in config.augment.model_dump(mode="json").items()
                          if k not in ("warp", "mixup") or v}
    if config.monitor != "accuracy":
        key["monitor"] = config.monitor
    if config.lr_schedule != "constant":
        key["lr_schedule"] = config.lr_schedule
    if config.select != "best":
        key["select"] = config.select
    return key


@dataclass
class _Session:
    """The network and what trains it, built from the recipe after seeding torch."""

    net: nn.Module
    opt: torch.optim.Optimizer
    scaler: Any
    loss_fn: nn.Module
    train_loss_fn: nn.Module
    dev: torch.device
    ema: nn.Module | None = None
    ema_decay: float = 0.0

    @property
    def scored(self) -> nn.Module:
        """The network validation scores and the best epoch keeps: the averaged one, if any."""
        return self.ema if self.ema is not None else self.net

    @torch.no_grad()
    def average(self) -> None:
        """One EMA step after an optimiser step (float tensors; BN counters copied)."""
        if self.ema is None:
            return
        for e, p in zip(self.ema.state_dict().values(), self.net.state_dict().values(),
                        strict=True):
            if e.is_floating_point():
                e.mul_(self.ema_decay).add_(p, alpha=1 - self.ema_decay)
            else:
                e.copy_(p)

    @classmethod
    def start(cls, config: TrainConfig, n_classes: int, weights: np.ndarray | None,
              dev: torch.device) -> _Session:
        from bsx.plugins import build

        torch.manual_seed(config.seed)
        net = build("model", config.model, n_classes, options=dict(config.model_options))
        net = net.to(dev)
        if nhwc(net, dev):
            net = net.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        scaler = torch.amp.GradScaler("cuda") if dev.type == "cuda" else None
        train_loss_fn = nn.CrossEntropyLoss(
            weight=None if weights is None
            else torch.as_tensor(weights, dtype=torch.float32, device=dev))
        ema = copy.deepcopy(net) if config.ema is not None else None
        return cls(net, opt, scaler, nn.CrossEntropyLoss(), train_loss_fn, dev, ema,
                   config.ema or 0.0)

    @property
    def amp(self) -> bool:
        return self.dev.type == "cuda"


@dataclass
class _State:
    """Where a run stands after `epoch` finished epochs: what last.pt saves and restores."""

    best: dict[str, Tensor]
    history: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    bad: int = 0
    best_epoch: int = 0
    best_acc: float = -math.inf

    def note(self, record: dict[str, float], score: float, net: nn.Module, *,
             last: bool = False) -> None:
        """Add an epoch's record; keep the weights when `score` beats the best so far (or
        always, with `last`: the final epoch's weights are kept)."""
        self.history.append(record)
        self.epoch = int(record["epoch"])
        if last or score > self.best_acc:
            self.best_acc, self.best_epoch, self.bad = score, self.epoch, 0
            self.best = _cpu_copy(net)
        else:
            self.bad += 1

    def save(self, path: Path, s: _Session, key: dict[str, Any]) -> None:
        state = {
            "net": _cpu_copy(s.net), "optim": s.opt.state_dict(),
            "scaler": s.scaler.state_dict() if s.scaler is not None else {},
            "best": self.best, "history": self.history, "epoch": self.epoch,
            "bad_epochs": self.bad, "best_epoch": self.best_epoch, "best_acc": self.best_acc,
            "rng": torch.get_rng_state(), "config": json.dumps(key, sort_keys=True),
        }
        if s.ema is not None:
            state["ema"] = _cpu_copy(s.ema)
        tmp = path.with_name(LAST + ".tmp")
        torch.save(state, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, s: _Session, key: dict[str, Any]) -> _State:
        """Restore a run from last.pt (network, optimiser, scaler, RNG) if its key matches."""
        from bsx.models.torch_files import load_tensors

        st = load_tensors(path, "bsx epoch checkpoint (delete it to start afresh)",
                          map_location="cpu")
        try:
            saved = json.loads(st["config"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadCheckpoint(
                f"{path}: not a readable bsx epoch checkpoint ({type(exc).__name__}); "
                "delete it to start afresh"
            ) from None
        if saved != key:
            diff = sorted(k for k in key if saved.get(k) != key[k])
            raise BsxError(
                f"{path}: was written by a run with other settings ({', '.join(diff)}); "
                "use the same settings, another --out, or drop --resume"
            )
        s.net.load_state_dict(st["net"])
        s.opt.load_state_dict(st["optim"])
        if s.ema is not None:
            s.ema.load_state_dict(st["ema"])
        if s.scaler is not None and st["scaler"]:
            s.scaler.load_state_dict(st["scaler"])
        torch.set_rng_state(st["rng"])
        return cls(best=st["best"], history=list(st["history"]), epoch=int(st["epoch"]),
                   bad=int(st["bad_epochs"]), best_epoch=int(st["best_epoch"]),
                   best_acc=float(st["best_acc"]))


def _cpu_copy(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


def fit(
    data: TrainData,
    config: TrainConfig | None = None,
    *,
    out: Path | None = None,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train `config.model` on `data`; keep the best epoch (by `config.monitor`).

    Each epoch shuffles with a generator seeded by (seed, epoch), so a resumed run draws the
    same batches; the global torch RNG (dropout) is saved in the epoch checkpoint
    (out/last.pt) too. `on_epoch(epoch, record)` runs after each epoch's checkpoint is written.

    Whole utterances (data.groups_*): an epoch draws ONE random unit per training clip (every
    clip counts once, whatever its length: a random crop), and validation scores each clip by
    the mean of its units' logits (the engine's utterance-level rule). TrainResult's
    best_val_accuracy holds the monitored score; lr_schedule "cosine" decays the learning rate
    from lr towards 0 over epochs (set from the epoch number, so a resume follows it too).
    """
    from bsx.device import resolve_device

    config = config or TrainConfig()
    if config.select == "best" and len(data.X_val) == 0:
        raise BsxError("no validation clips to choose the best epoch on; give some, or "
                       "select the last epoch (select='last')")
    dev = resolve_device(config.device)
    weights = class_weights(config, data)
    s = _Session.start(config, data.n_classes, weights, dev)
    units = _Units(data.groups_train, len(data.X_train))
    key = _resume_key(config, data, weights)
    last = Path(out) / LAST if out is not None else None
    if resume and last is not None and last.is_file():
        state = _State.load(last, s, key)
    else:
        state = _State(best=_cpu_copy(s.net))
    resumed_from = state.epoch
    if last is not None:
        last.parent.mkdir(parents=True, exist_ok=True)
    bar = _Progress(config.epochs, state.epoch, enabled=progress)
    with _deterministic(dev.type == "cpu"), bar:
        for epoch in range(state.epoch + 1, config.epochs + 1):
            if config.select == "best" and state.bad >= config.patience:
                break
            record = _epoch(s, data, config, units, epoch)
            state.note(record, record["val_accuracy" if config.monitor == "accuracy"
                                      else "val_uar"], s.scored, last=config.select == "last")
            if last is not None:
                state.save(last, s, key)
            bar.advance(record, state.best_epoch)
            if on_epoch is not None:
                on_epoch(epoch, record)
    s.net.load_state_dict(state.best)
    s.net.eval()
    ran = state.history[-1]["epoch"] if state.history else 0
    return TrainResult(
        state_dict=state.best, history=state.history, best_epoch=state.best_epoch,
        best_val_accuracy=state.best_acc, net=s.net,
        stopped_early=ran < config.epochs,
        resumed_from=resumed_from,
    )


def _epoch(s: _Session, data: TrainData, config: TrainConfig, units: _Units,
           epoch: int) -> dict[str, float]:
    """One epoch: train on this epoch's draw of rows, then score the validation clips."""
    s.net.train()
    gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
    order = units.draw(gen)
    if config.lr_schedule == "cosine":
        for group in s.opt.param_groups:
            group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / config.epochs))
    train_loss = _train_pass(s, data, config, order, gen)
    if len(data.X_val) == 0:  # select="last": nothing to validate on
        return {"epoch": epoch, "train_loss": train_loss, "val_loss": math.nan,
                "val_accuracy": math.nan, "val_uar": math.nan,
                "lr": float(s.opt.param_groups[0]["lr"])}
    logits = predict(s.scored, data.X_val, batch_size=max(64, config.batch_size),
                     device=s.dev)
    if data.groups_val is not None:
        logits = _per_group(logits, data.groups_val, mean=True)
    y_val = data.val_clip_labels()
    val_loss = float(s.loss_fn(torch.from_numpy(logits), torch.from_numpy(y_val)))
    cm = confusion_matrix(y_val, logits.argmax(1), data.n_classes)
    return {
        "epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
        "val_accuracy": float(np.trace(cm) / cm.sum()), "val_uar": uar(cm),
        "lr": float(s.opt.param_groups[0]["lr"]),
    }


def _train_pass(s: _Session, data: TrainData, config: TrainConfig, order: Tensor,
                gen: torch.Generator) -> float:
    """Batches of `order` through the network (mixed precision on CUDA); the mean loss."""
    Xt, yt = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    total, seen = 0.0, 0
    for i in range(0, len(order), config.batch_size):
        idx = order[i : i + config.batch_size]
        if len(idx) < 2 and len(order) > 1:
            continue  # BatchNorm needs more than one sample per batch
        xb = Xt[idx].to(s.dev, non_blocking=True)
        yb = yt[idx].to(s.dev, non_blocking=True)
        mixed = None
        if config.augment is not None:
            from bsx.models.augment import augment_batch, mix_pairs

            xb = augment_batch(xb, gen, config.augment)
            if config.augment.mixup > 0:
                xb, perm, lam = mix_pairs(xb, config.augment.mixup, gen)
                mixed = (yb[perm], lam)
        if nhwc(s.net, s.dev):
            xb = xb.contiguous(memory_format=torch.channels_last)
        s.opt.zero_grad(set_to_none=True)
        with torch.autocast(s.dev.type, dtype=torch.float16, enabled=s.amp):
            out, per_row = _training_logits(s.net, xb)
            loss = s.train_loss_fn(out, yb.repeat_interleave(per_row))
            if mixed is not None:  # mixup: the loss mixes the two labels as the inputs were
                other = s.train_loss_fn(out, mixed[0].repeat_interleave(per_row))
                loss = mixed[1] * loss + (1 - mixed[1]) * other
        if s.scaler is not None:
            s.scaler.scale(loss).backward()
            s.scaler.step(s.opt)
            s.scaler.update()
        else:
            loss.backward()
            s.opt.step()
        s.average()
        total += float(loss.detach()) * len(idx)
        seen += len(idx)
    return total / max(seen, 1)


def _training_logits(net: nn.Module, xb: Tensor) -> tuple[Tensor, int]:
    """The logits the loss scores, and how many rows each input has there: an ensemble
    (members K > 1, cnn) scores each member's own logits, K rows per input, as if the members
    were trained one by one (Adam does not see the 1/K the shared mean gives each member's
    loss); any other network its output, one row per input."""
    if getattr(net, "members", 1) > 1:
        member_logits: Callable[[Tensor], Tensor] = getattr(net, "member_logits")  # noqa: B009
        per = member_logits(xb)  # (B, K, C)
        return per.reshape(-1, per.shape[-1]), per.shape[1]
    return net(xb), 1


def train_record(config: TrainConfig, dev: torch.device, res: TrainResult) -> dict[str, Any]:
    """What a sidecar and report.json keep of a training run: the recipe (canonical form),
    the device it ran on, and how it ended."""
    return {"recipe": config.canonical(), "device": str(dev), "best_epoch": res.best_epoch,
            "epochs_run": len(res.history), "stopped_early": res.stopped_early}


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
            info = f"loss {rec['train_loss']:.3f}"
            if not math.isnan(rec["val_uar"]):  # select="last" may train without val clips
                info += (f"  val acc {rec['val_accuracy']:.3f}  val UAR {rec['val_uar']:.3f}  "
                         f"best epoch {best_epoch}")
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


@dataclass(frozen=True)
class Corpus:
    """The clips to train on: a dataset plugin with its options and folder, and how their
    spectrograms are prepared (worker processes, cache folder). A plain name is a Corpus
    with the defaults."""

    dataset: str = "synth"
    data_root: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    workers: int = 2
    cache: Path | None = None

    @classmethod
    def of(cls, corpus: str | Corpus) -> Corpus:
        return corpus if isinstance(corpus, Corpus) else cls(corpus)

    def dataset_options(self) -> dict[str, Any]:
        """The plugin's options, with data_root folded in (what sidecars record)."""
        opts = dict(self.options)
        if self.data_root is not None:
            opts["data_root"] = Path(self.data_root)
        return opts

    def labelled_clips(self) -> tuple[list[Clip], tuple[str, ...]]:
        """The clips whose label the plugin trains on, and those labels that occur, in the
        plugin's order."""
        from bsx.plugins import build

        ds = build("dataset", self.dataset, options=self.dataset_options())
        clips = [c for c in ds.clips() if c.label in ds.labels]
        if not clips:
            raise BsxError(f"dataset '{self.dataset}' has no clips with labels "
                           f"{', '.join(ds.labels)}")
        present = {c.label for c in clips}
        return clips, tuple(lab for lab in ds.labels if lab in present)

    def prepare(self, clips: list[Clip], fe: Frontend, *,
                progress: bool) -> tuple[dict[str, Any], list[Any]]:
        """Clip id -> prepared spectrogram units (None when unreadable), and the skips."""
        from bsx.datasets.cache import prepare_many

        prepared, skipped = prepare_many(clips, fe, workers=self.workers, cache=self.cache,
                                         progress=progress)
        return {c.id: p for c, p in zip(clips, prepared, strict=True)}, skipped


def begin(config: TrainConfig, out: Path) -> tuple[torch.device, Frontend, Path]:
    """The device and front-end a recipe names (checked before the slow part), and the
    output folder, made."""
    from bsx.audio import get_frontend
    from bsx.device import resolve_device

    dev = resolve_device(config.device)
    fe = get_frontend(config.frontend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return dev, fe, out


def for_model(config: TrainConfig) -> TrainConfig:
    """The recipe as recorded: hf-probe pins its encoder (directory, weights hash, front-end)."""
    return pin(config) if config.model == PROBE else config


def model_inputs(config: TrainConfig, prepared: dict[str, Any], dev: torch.device, *,
                 progress: bool) -> dict[str, Any]:
    """What fit's rows are made of: the prepared clips, or for hf-probe their hidden states
    through the frozen encoder, computed once here (bsx.models.probe)."""
    if config.model != PROBE:
        return prepared
    return encode_prepared(config, prepared, device=dev, progress=progress)


Part = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def _split_arrays(dataset: str, split: dict[str, Any], prepared: dict[str, Any],
                  labels: tuple[str, ...], n_skipped: int) -> dict[str, Part]:
    """Each split part as (rows, row labels, row clip or None when rows are clips)."""
    index = {lab: i for i, lab in enumerate(labels)}
    parts: dict[str, Part] = {}
    for part in ("train", "val", "test"):
        keep = [(prepared[c.id], index[c.label]) for c in split[part]
                if prepared[c.id] is not None]
        if not keep:
            raise BsxError(
                f"the {part} split of '{dataset}' holds no usable clips "
                f"({len(split[part])} assigned, {n_skipped} skipped in all)"
            )
        X, groups = stack_units([p for p, _ in keep])
        y = np.array([y for _, y in keep], dtype=np.int64)
        one_each = len(groups) == len(keep)  # one unit per clip: rows are clips
        parts[part] = (X, y[groups], None if one_each else groups)
    return parts


def train_dataset(
    corpus: str | Corpus = "synth",
    config: TrainConfig | None = None,
    *,
    out: Path,
    resume: bool = False,
    progress: bool = True,
) -> TrainRun:
    """Dataset plugin -> split -> spectrograms -> fit -> test report + checkpoint under `out`.

    Writes out/split.json (reused by later runs), out/last.pt (epoch state, for --resume),
    out/model.pt + model.json (best epoch), out/report.json and out/confusion.png.
    A whole-utterance front-end trains on one random unit per clip per epoch and scores
    clips by their units' mean logits (fit).
    """
    from bsx.datasets.splits import load_or_make_split

    corpus, config = Corpus.of(corpus), for_model(config or TrainConfig())
    dev, fe, out = begin(config, out)
    clips, labels = corpus.labelled_clips()
    split = load_or_make_split(clips, out / "split.json", mode=config.split_mode,
                               seed=config.split_seed)
    order = [c for part in ("train", "val", "test") for c in split[part]]
    by_id, skipped = corpus.prepare(order, fe, progress=progress)
    by_id = model_inputs(config, by_id, dev, progress=progress)
    parts = _split_arrays(corpus.dataset, split, by_id, labels, len(skipped))
    (Xtr, ytr, gtr), (Xva, yva, gva) = parts["train"], parts["val"]
    data = TrainData(Xtr, ytr, Xva, yva, len(labels), groups_train=gtr, groups_val=gva)
    res = fit(data, fit_recipe(config), out=out, resume=resume, progress=progress)
    run = _RunOutputs(corpus, config, fe, labels, out)
    return run.write(split, parts, res, skipped, dev)


@dataclass(frozen=True)
class _RunOutputs:
    """What train_dataset writes under `out` once fit is done."""

    corpus: Corpus
    config: TrainConfig
    frontend: Any
    labels: tuple[str, ...]
    out: Path

    def write(self, split: dict[str, Any], parts: dict[str, Part], res: TrainResult,
              skipped: list[Any], dev: torch.device) -> TrainRun:
        """model.pt + model.json, report.json and confusion.png; the run's summary."""
        from bsx.datasets.splits import split_record
        from bsx.models.checkpoint import CheckpointInfo, jsonable, save_checkpoint
        from bsx.plugins import lookup

        cfg, dataset, ds_opts = self.config, self.corpus.dataset, self.corpus.dataset_options()
        test = evaluate(res.net, parts["test"][0], parts["test"][1], self.labels,
                        groups=parts["test"][2])
        val = evaluate(res.net, parts["val"][0], parts["val"][1], self.labels,
                       groups=parts["val"][2])
        split_info = {  # the split's speakers (clip ids for random) go to the sidecar
            **split_record(split, mode=cfg.split_mode, seed=cfg.split_seed,
                           dataset_options=ds_opts),
            "file": "split.json",
            "counts": {k: len(split[k]) for k in ("train", "val", "test")},
            "used": {k: len(parts[k][1]) for k in ("train", "val", "test")},
        }
        opts = lookup("model", cfg.model).make_options(cfg.model_options).model_dump(mode="json")
        train = train_record(cfg, dev, res)
        info = CheckpointInfo(
            model_name=cfg.model, model_options=opts, labels=self.labels,
            frontend=self.frontend, dataset=dataset, split=split_info,
            metrics={"test": {k: test[k] for k in ("accuracy", "uar", "macro_f1")},
                     "val": {k: val[k] for k in ("accuracy", "uar", "macro_f1")}},
            epoch=res.best_epoch, extra={"dataset_options": ds_opts, "train": train},
        )
        ckpt = save_checkpoint(self.out / "model.pt", res.state_dict, info)
        report = {
            "dataset": dataset, "dataset_options": ds_opts, "model": cfg.model,
            "model_options": opts, "frontend": self.frontend.model_dump(),
            "labels": list(self.labels), "split": split_info, "train": train,
            "history": res.history, "test": test, "val": val,
            "skipped": [{"clip": s.clip.id, "reason": s.reason} for s in skipped],
            "checkpoint": ckpt.name,
        }
        (self.out / "report.json").write_text(
            json.dumps(jsonable(report), indent=1, allow_nan=False) + "\n"
        )
        plot_confusion(np.array(test["confusion"]), self.labels, self.out / "confusion.png",
                       title=f"{dataset} test, {cfg.model}: UAR {test['uar']:.3f}")
        return TrainRun(checkpoint=ckpt, report=report, result=res)

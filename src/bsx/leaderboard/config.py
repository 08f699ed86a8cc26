"""Leaderboard configs: a TOML grid of datasets x models x methods, expanded to cells.

A cell is one evaluate run (an EvalConfig) of one method on one dataset with one model; all
cue sets and metrics of the grid are computed inside it, because the engine shares cue tracks
between cue-based metrics. Each cell carries a content hash over its EvalConfig, the bsx
version and fingerprints of its inputs (checkpoint bytes, corpus file listing, expert table),
so a cell whose inputs and code version did not change is never recomputed.

    [grid]
    methods = ["gradcam", "crp", "random"]
    cues = ["egemaps"]
    metrics = ["relevance-mass-accuracy", "pointing-game"]
    split = "test"
    limit = 40
    # baseline = "noise"   # removal baseline of the faithfulness metrics (default "silence")

    [[datasets]]
    name = "synth"
    options = { per_class = 20 }

    [[models]]
    label = "default"      # no checkpoint: the packaged default model
    # seed_checkpoints = ["runs/seeds/seed-1/model.pt", "runs/seeds/seed-2/model.pt"]

Relative paths (data_root, checkpoint, seed_checkpoints, expert) are relative to the config
file. A model with seed_checkpoints (the same model trained with other seeds, or the --out
folder of `bsx train --seeds`) adds seed-rank-correlation and seed-window-iou to its cells;
a grid's seed metrics are kept only for the models that have them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bsx.errors import BsxError, first_problem, not_a_file
from bsx.evaluation.config import EvalConfig

STORE_NAME = "leaderboard.sqlite"


class BadConfig(BsxError):
    """A leaderboard config file that cannot be read or does not describe a valid grid."""


class DatasetEntry(BaseModel):
    """One dataset of the grid: a dataset plugin, its root and options."""

    model_config = ConfigDict(extra="forbid")
    name: str
    label: str | None = None
    data_root: Path | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    split: Literal["train", "val", "test", "all"] | None = None
    emotions: list[str] | None = None
    limit: int | None = None


class ModelEntry(BaseModel):
    """One model of the grid; nothing set means the packaged default model."""

    model_config = ConfigDict(extra="forbid")
    label: str | None = None
    model: str | None = None
    checkpoint: Path | None = None
    label_preset: str | None = None
    labels: list[str] | None = None
    frontend: str | None = None
    seed_checkpoints: list[Path] | None = None


class Grid(BaseModel):
    """What every cell shares: methods, cue sets, metrics, split, sample limit, seed."""

    model_config = ConfigDict(extra="forbid")
    methods: list[str] = Field(min_length=1)
    cues: list[str] = Field(default_factory=lambda: ["egemaps"])
    metrics: list[str] | None = None
    split: Literal["train", "val", "test", "all"] = "test"
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    device: str = "auto"
    batch_size: int = Field(default=16, ge=1)
    workers: int = Field(default=1, ge=1)
    target: Literal["predicted", "true"] = "predicted"
    method_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    window_options: dict[str, Any] = Field(default_factory=dict)
    expert: Path | None = None
    baseline: Literal["silence", "noise"] = "silence"
    baseline_snr_db: float = 20.0


class LeaderboardFile(BaseModel):
    """The whole TOML file."""

    model_config = ConfigDict(extra="forbid")
    name: str = "leaderboard"
    grid: Grid
    datasets: list[DatasetEntry] = Field(min_length=1)
    models: list[ModelEntry] = Field(default_factory=lambda: [ModelEntry()])


@dataclass(frozen=True)
class Cell:
    """One evaluate run of the grid and the hash that names it."""

    hash: str
    dataset: str
    model: str
    method: str
    config: EvalConfig


@dataclass(frozen=True)
class Leaderboard:
    """A parsed config: its name, the hash of the whole grid, and its cells."""

    path: Path
    name: str
    config_hash: str
    cells: list[Cell]


def load_config(path: Path | str) -> Leaderboard:
    """Read and validate a leaderboard TOML file; BadConfig naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BadConfig(not_a_file(path, "leaderboard config file (TOML)"))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadConfig(f"{path}: not valid TOML ({exc})") from None
    except OSError:
        raise BadConfig(not_a_file(path, "leaderboard config file (TOML)")) from None
    try:
        doc = LeaderboardFile.model_validate(raw)
    except ValidationError as exc:
        where, msg = first_problem(exc, "file")
        raise BadConfig(f"{path}: '{where}': {msg}") from None
    _check_names(path, doc)
    base = path.resolve().parent
    cells: list[Cell] = []
    for ds in doc.datasets:
        for md in doc.models:
            for method in doc.grid.methods:
                cfg = _cell_config(base, doc.grid, ds, md, method)
                cells.append(Cell(hash=cell_hash(cfg), dataset=ds.label or ds.name,
                                  model=_model_label(md), method=method, config=cfg))
    seen: dict[str, Cell] = {}
    for c in cells:
        if c.hash in seen:
            raise BadConfig(f"{path}: two cells are identical ({c.dataset} / {c.model} / "
                            f"{c.method}); remove the repeated dataset, model or method")
        seen[c.hash] = c
    labels = [(c.dataset, c.model, c.method) for c in cells]
    if len(set(labels)) < len(labels):
        raise BadConfig(f"{path}: two datasets or models share a label; give each a unique "
                        "'label'")
    grid_hash = _sha(json.dumps(sorted(c.hash for c in cells)))
    return Leaderboard(path=path, name=doc.name, config_hash=grid_hash, cells=cells)


def _model_label(md: ModelEntry) -> str:
    if md.label:
        return md.label
    if md.checkpoint is not None:
        return md.checkpoint.stem if md.checkpoint.stem != "model" else md.checkpoint.parent.name
    return md.model or "default"


def _check_names(path: Path, doc: LeaderboardFile) -> None:
    """Unknown methods, cue sets, datasets or metrics: one sentence naming the file."""
    from bsx.plugins import lookup
    from bsx.scoring.specs import get_metric

    try:
        for m in doc.grid.methods:
            lookup("method", m)
        for c in doc.grid.cues:
            lookup("cue", c)
        for d in doc.datasets:
            lookup("dataset", d.name)
        for md in doc.models:
            if md.model:
                lookup("model", md.model)
        for metric in doc.grid.metrics or []:
            get_metric(metric)
    except BsxError as exc:
        raise BadConfig(f"{path}: {exc}") from None
    if len(set(doc.grid.methods)) < len(doc.grid.methods):
        raise BadConfig(f"{path}: 'grid.methods' lists a method twice")


def _rel(base: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    p = p.expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _cell_config(base: Path, grid: Grid, ds: DatasetEntry, md: ModelEntry,
                 method: str) -> EvalConfig:
    from bsx.evaluation.seeds import SEED_METRICS

    seeds = ([p for p in (_rel(base, q) for q in md.seed_checkpoints) if p is not None]
             if md.seed_checkpoints is not None else None)
    metrics = grid.metrics
    if metrics is not None and seeds is None:
        metrics = [m for m in metrics if m not in SEED_METRICS]
    return EvalConfig(
        dataset=ds.name, data_root=_rel(base, ds.data_root), dataset_options=dict(ds.options),
        model=md.model, checkpoint=_rel(base, md.checkpoint), label_preset=md.label_preset,
        labels=md.labels, frontend=md.frontend, methods=[method],
        method_options={method: grid.method_options[method]}
        if method in grid.method_options else {},
        cues=list(grid.cues), metrics=list(metrics) if metrics is not None else None,
        split=ds.split or grid.split, emotions=ds.emotions,
        limit=ds.limit if ds.limit is not None else grid.limit, seed=grid.seed,
        device=grid.device, batch_size=grid.batch_size, workers=grid.workers,
        target=grid.target, window_options=dict(grid.window_options),
        expert=_rel(base, grid.expert), seed_checkpoints=seeds, baseline=grid.baseline,
        baseline_snr_db=grid.baseline_snr_db,
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; 'missing' when it does not exist (the engine will say why)."""
    if not path.is_file():
        return "missing"
    from bsx.paths import sha256_file

    try:
        return sha256_file(path)
    except OSError:
        return "unreadable"  # the engine will say why when it reads the file


def tree_digest(root: Path) -> str:
    """Fingerprint of a corpus folder: every file's relative path, size and mtime.

    Reading every audio file would cost as much as the evaluation; a changed, added or
    removed file changes the listing. An entry that cannot be read (a dangling symlink, a
    folder without permission, as under /etc) is listed as unreadable, with one warning line:
    the dataset decides what it makes of such a file, the fingerprint only notes it.
    """
    if not root.exists():
        return "missing"
    rows, unreadable = [], []

    def note(exc: OSError) -> None:
        where = Path(str(exc.filename))
        name = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        unreadable.append(f"{name} ({exc.strerror or exc})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=note):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            try:
                st = p.stat()
            except OSError as exc:
                note(exc)
                rows.append(f"{p.relative_to(root).as_posix()}\tunreadable")
                continue
            rows.append(f"{p.relative_to(root).as_posix()}\t{st.st_size}\t{st.st_mtime_ns}")
    if unreadable:
        more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
        warnings.warn(f"{root}: cannot read {unreadable[0]}{more}; the input fingerprint "
                      "lists them as unreadable", stacklevel=2)
    return _sha("\n".join(rows))


def default_model_dir() -> Path:
    """Where the packaged default model lives (the same place bsx.models.checkpoint reads)."""
    import bsx

    return Path(bsx.__file__).resolve().parent / "data" / "default_model"


def input_fingerprints(cfg: EvalConfig) -> dict[str, str]:
    """Digests of the files a cell reads besides its config: weights, corpus, expert table."""
    fp: dict[str, str] = {}
    if cfg.checkpoint is not None and cfg.checkpoint.is_dir():  # a save_pretrained directory
        fp["checkpoint"] = _sha("".join(file_digest(p) for p in sorted(cfg.checkpoint.glob("*"))))
    elif cfg.checkpoint is not None:
        fp["checkpoint"] = file_digest(cfg.checkpoint)
        fp["checkpoint_sidecar"] = file_digest(cfg.checkpoint.with_suffix(".json"))
    elif cfg.model is None:
        d = default_model_dir()
        fp["default_model"] = _sha("".join(file_digest(p) for p in sorted(d.glob("*")))
                                   if d.is_dir() else "missing")
    if cfg.seed_checkpoints is not None:
        fp["seed_checkpoints"] = _sha("".join(_weights_digest(p) for p in cfg.seed_checkpoints))
    if cfg.data_root is not None:
        fp["data_root"] = tree_digest(cfg.data_root)
    if cfg.expert is not None:
        fp["expert"] = file_digest(cfg.expert)
    return fp


def _weights_digest(path: Path) -> str:
    """A seed checkpoint's fingerprint: the weights and sidecar of a file; of a folder, every
    seed-*/model.pt and .json in it (the --out of `bsx train --seeds`), else all its files."""
    if not path.is_dir():
        return file_digest(path) + file_digest(path.with_suffix(".json"))
    files = sorted(p for pat in ("seed-*/model.pt", "seed-*/model.json") for p in path.glob(pat))
    files = files or sorted(p for p in path.glob("*") if p.is_file())
    return _sha("".join(f"{p.relative_to(path)}:{file_digest(p)}" for p in files))


@functools.lru_cache(maxsize=1)
def bsx_code_digest() -> str:
    """Fingerprint of the installed bsx: every source and data file under the package (a
    version string stays the same across commits; a changed line must re-run the cells)."""
    import bsx

    root = Path(bsx.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def code_fingerprints(cfg: EvalConfig) -> dict[str, str]:
    """bsx's code digest and the distribution + version of every third-party plugin a cell
    uses (their code is theirs to version)."""
    from bsx.plugins import lookup

    fp = {"bsx": bsx_code_digest()}
    used = [("dataset", cfg.dataset), *(("method", m) for m in cfg.methods),
            *(("cue", c) for c in cfg.cues), *(("metric", m) for m in cfg.metrics or [])]
    if cfg.model is not None:
        used.append(("model", cfg.model))
    for kind, name in used:
        try:
            spec = lookup(kind, name)  # type: ignore[arg-type]
        except BsxError:
            continue  # the run itself will say what is unknown
        if spec.dist and spec.dist != "bsx":
            fp[f"{kind}:{name}"] = f"{spec.dist}=={spec.version}"
    return fp


def cell_hash(cfg: EvalConfig) -> str:
    """Content hash of a cell: its EvalConfig, the code that runs it (bsx and plugins) and its
    input fingerprints."""
    from bsx import __version__

    payload = {"config": json.loads(cfg.model_dump_json()), "bsx_version": __version__,
               "code": code_fingerprints(cfg), "inputs": input_fingerprints(cfg)}
    return _sha(json.dumps(payload, sort_keys=True))[:16]

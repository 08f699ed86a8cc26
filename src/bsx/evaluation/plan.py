"""Plan a run: which clips, in which order, what a resumed run has already done.

Torch-free: it reads the corpus listing and the run folder only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.errors import BsxError
from bsx.evaluation.config import EvalConfig

if TYPE_CHECKING:
    from bsx.audio import Frontend
    from bsx.datasets.base import Clip
    from bsx.results import ResultWriter


def select_clips(clips: list[Any], cfg: EvalConfig, labels: tuple[str, ...],
                 split_meta: dict[str, Any]) -> list[Any]:
    """The model's own split (its stored speakers: bsx.datasets.splits.select_split, so no
    training speaker leaks in), then the emotion and model-label filters, then a seeded
    stratified --limit."""
    from bsx.datasets.splits import select_split

    clips = select_split(clips, cfg.split, split_meta, dataset=cfg.dataset,
                         dataset_options=cfg.dataset_options, mode=cfg.split_mode)
    if cfg.clip_ids is not None:
        wanted_ids = set(cfg.clip_ids)
        clips = [c for c in clips if c.id in wanted_ids]
    if cfg.emotions:
        wanted = {e.strip().lower() for e in cfg.emotions}
        unknown = wanted - {c.label for c in clips}
        if unknown:
            raise BsxError(
                f"--emotions: {', '.join(sorted(unknown))} not in dataset '{cfg.dataset}'; "
                f"it has: {', '.join(sorted({c.label for c in clips}))}"
            )
        clips = [c for c in clips if c.label in wanted]
    # a regression run's labels are its dimensions: every clip is explained
    known = [c for c in clips if c.label in labels or cfg.dimension is not None]
    if len(known) < len(clips):
        dropped = sorted({c.label for c in clips} - set(labels))
        warnings.warn(f"{len(clips) - len(known)} clips with labels the model does not know "
                      f"({', '.join(dropped)}) are left out", stacklevel=2)
    clips = known
    if not clips:
        raise BsxError(f"dataset '{cfg.dataset}' has no clips with the model's labels "
                       f"({', '.join(labels)})")
    if cfg.limit is not None and cfg.limit < len(clips):
        rng = np.random.default_rng(cfg.seed)
        by_label: dict[str, list[Any]] = {}
        for c in clips:
            by_label.setdefault(c.label, []).append(c)
        for group in by_label.values():
            rng.shuffle(group)  # type: ignore[arg-type]
        picked: list[Any] = []
        while len(picked) < cfg.limit:
            for group in by_label.values():
                if group and len(picked) < cfg.limit:
                    picked.append(group.pop())
        order = {c.id: i for i, c in enumerate(clips)}
        clips = sorted(picked, key=lambda c: order[c.id])
    return clips


@dataclass(frozen=True)
class Plan:
    """The clips a run evaluates, the ones not yet written (todo), the front-end they go
    through, the results writer, and the files the corpus listing skipped for their names, as
    (path, reason)."""

    frontend: Frontend
    clips: tuple[Clip, ...]
    writer: ResultWriter
    todo: tuple[Clip, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def make_plan(cfg: EvalConfig, out: Path, labels: tuple[str, ...], frontend: Frontend,
              split_meta: dict[str, Any], *, resume: bool) -> Plan:
    """Select the clips, check a resumed run's settings, open the writer (torch-free)."""
    import json

    from bsx.plugins import build
    from bsx.results import ResultWriter

    ds_options = dict(cfg.dataset_options)
    if cfg.data_root is not None:
        ds_options["data_root"] = cfg.data_root
    dataset = build("dataset", cfg.dataset, options=ds_options)
    clips = select_clips(dataset.clips(), cfg, labels, split_meta)
    previous = out / "config.json"
    if resume and previous.is_file():
        try:
            old = json.loads(previous.read_text())
        except (OSError, ValueError):  # JSONDecodeError, bad UTF-8
            raise BsxError(f"{previous}: not readable JSON, so this run's settings are unknown; "
                           "start again with --overwrite or choose another --out") from None
        if not isinstance(old, dict):
            old = {}
        if old.get("config") != json.loads(cfg.model_dump_json()):
            raise BsxError(f"{previous}: was written by a run with other settings; resume it "
                           "with the same options or choose another --out")
    root = getattr(dataset, "root", None)  # the CSVs name clips relative to it
    writer = ResultWriter(out, resume=resume,
                          corpus_root=Path(root) if root is not None else None)
    done = writer.done_clips() if resume else set()
    return Plan(frontend=frontend, clips=tuple(clips),
                writer=writer, todo=tuple(c for c in clips if c.id not in done),
                skipped=tuple(named_skips(dataset)))


def named_skips(dataset: Any) -> list[tuple[str, str]]:
    """The files a corpus dataset skipped for their names, as (path, reason) skip entries,
    with one warning line, so `bsx evaluate` lists them as `bsx data prepare` does."""
    skipped = [(str(path), why) for path, why in getattr(dataset, "skipped", None) or []]
    if skipped:
        more = f" (and {len(skipped) - 1} more, listed in summary.json)" if len(skipped) > 1 else ""
        warnings.warn(f"skipped {skipped[0][1]}{more}", stacklevel=2)
    return skipped


def split_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The sidecar's split, with its dataset and (older sidecars) the training options."""
    out = dict(meta.get("split") or {})
    out.setdefault("dataset", str(meta.get("dataset", "")))
    extra = meta.get("extra")
    if "dataset_options" not in out and isinstance(extra, dict) and "dataset_options" in extra:
        out["dataset_options"] = extra["dataset_options"]
    return out

"""One evaluation split into shards (Ray tasks or local processes), merged into one run.

The result must equal a single-machine run, so:
- the clips are selected ONCE, here, exactly as the engine selects them (split, emotions,
  the model's labels, a seeded --limit), and each shard is a run of the engine on its subset
  (`EvalConfig.clip_ids`);
- shards are contiguous runs of whole batches (cut at multiples of `batch_size`), so every
  batch a shard evaluates is a batch the single run evaluates: same clips, same order;
- each shard writes its batches under out/shards/<i>/; bsx.evaluation.tail.merge_runs
  copies their batch parts, in shard order, into out/parts/, which then holds exactly the
  parts a single run writes, merges their skip lists and runs the tail a single run ends
  with (dataset-level agreement against the neutral clips of ALL shards, tables, summary,
  figures, report) once over them.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bsx.errors import BsxError

if TYPE_CHECKING:
    from bsx.evaluation.tail import RunParts


def plan_shards(clip_ids: list[str], shards: int, batch_size: int) -> list[list[str]]:
    """Split the ordered clip ids into at most `shards` contiguous runs of whole batches,
    as even as the batches allow (fewer shards when there are fewer batches)."""
    if shards < 1:
        raise BsxError(f"--shards must be at least 1, not {shards}")
    if batch_size < 1:
        raise BsxError(f"batch size must be at least 1, not {batch_size}")
    n_batches = math.ceil(len(clip_ids) / batch_size)
    n = min(shards, n_batches)
    out = []
    for k in range(n):
        lo, hi = k * n_batches // n, (k + 1) * n_batches // n
        out.append(clip_ids[lo * batch_size: hi * batch_size])
    return [s for s in out if s]


def selected_clip_ids(cfg: Any, loaded: Any = None) -> list[str]:
    """The ids of the clips a single `run_evaluation(cfg, ...)` would evaluate, in its order
    (`loaded`: cfg's model, already loaded)."""
    from bsx.evaluation.plan import select_clips, split_meta
    from bsx.plugins import build

    loaded = loaded if loaded is not None else _load(cfg)
    options = dict(cfg.dataset_options)
    if cfg.data_root is not None:
        options["data_root"] = cfg.data_root
    dataset = build("dataset", cfg.dataset, options=options)
    clips = select_clips(dataset.clips(), cfg, tuple(loaded.labels), split_meta(loaded.meta))
    return [c.id for c in clips]


def _load(cfg: Any) -> Any:
    from bsx.models.checkpoint import load_model

    return load_model(cfg.checkpoint, model=cfg.model, labels=cfg.labels,
                      label_preset=cfg.label_preset, frontend=cfg.frontend, device="cpu")


def _run_shard(cfg_json: str, out: str) -> RunParts:
    """One shard: the engine's batches on its clip subset, no tail (module level, so Ray and
    pools can pickle it). Resumable: an interrupted shard continues from its written batches."""
    from bsx.evaluation import EvalConfig
    from bsx.evaluation.run import run_batches

    cfg = EvalConfig.model_validate_json(cfg_json)
    return run_batches(cfg, Path(out), resume=True, progress=False)


def run_sharded(cfg: Any, out: Path, shards: int, executor: str = "local", *,
                workers: int = 2, resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """Evaluate `cfg` as `shards` shards on `executor` ("local": a process pool of `workers`,
    inline for 1; "ray": Ray tasks on RAY_ADDRESS or a local Ray with `workers` CPUs), write
    each under out/shards/<i>/, merge into out/ as a single run writes it; return the summary.

    A regression model's dimensions (cfg.dimension, or each in turn into out/<dimension>/,
    as bsx.evaluation.dimensional.run_dimensions lays them out) are sharded one at a time:
    every shard of a dimension explains that output, and the dimensional scores, which
    correlate across all clips, are computed once by the merged tail.

    Each shard runs with cfg.workers cue workers of its own. With `resume` a rerun continues:
    finished shards are not recomputed (each shard resumes from its parts); without, earlier
    shards under out/shards/ are discarded first.
    """
    from bsx.evaluation.dimensional import dimensions_of, run_dimensions
    from bsx.leaderboard.executors import make_executor

    ex = make_executor(executor, workers)  # a bad name fails before anything starts
    loaded = _load(cfg)
    dims = dimensions_of(cfg, loaded)  # a regression model: each dimension sharded in turn
    if len(dims) > 1:
        return run_dimensions(cfg, Path(out), dims, lambda c, o: _shard_and_merge(
            c, o, shards, ex, loaded, executor=executor, resume=resume, progress=progress))
    if dims:
        cfg = cfg.model_copy(update={"dimension": dims[0]})
    return _shard_and_merge(cfg, Path(out), shards, ex, loaded, executor=executor,
                            resume=resume, progress=progress)


def _shard_and_merge(cfg: Any, out: Path, shards: int, ex: Any, loaded: Any, *,
                     executor: str, resume: bool, progress: bool) -> dict[str, Any]:
    """run_sharded for one run (a classifier, or one dimension of a regression model)."""
    from bsx.evaluation.tail import merge_runs

    ids = selected_clip_ids(cfg, loaded)
    plan = plan_shards(ids, shards, cfg.batch_size)
    if not resume and (out / "shards").exists():
        shutil.rmtree(out / "shards")
    dirs = [out / "shards" / str(i) for i in range(len(plan))]
    # the meta-evaluation's clips shared out, so the merged run re-scores about as many
    share = {"meta_clips": -(-cfg.meta_clips // len(plan))} if cfg.meta_eval and plan else {}
    jobs = [(cfg.model_copy(update={"clip_ids": part, "limit": None, **share})
             .model_dump_json(), str(d)) for part, d in zip(plan, dirs, strict=True)]
    if progress:
        from bsx.progress import note

        note(f"{len(ids)} clips in {len(plan)} shard(s) on {executor}")
    failed = []
    for i, _, exc in ex.run(_run_shard, jobs):
        if exc is not None:
            failed.append(f"shard {i} ({dirs[i]}): {type(exc).__name__}: {exc}")
        elif progress:
            note(f"shard {i} done")
    if failed:
        raise BsxError("; ".join(failed) + "; rerun the same command to retry failed shards")
    return merge_runs(dirs, out, cfg)

"""The tail of a run: after the batches, the dataset-level tables, statistics, claims,
figures and report, from the files under the run's folder.

One function, `run_tail`, ends every kind of run. A local run calls it on its own folder; a
sharded run (bsx.shards) and a cross-validated one (bsx.evaluation.folds) first merge their
parts' batch files into one folder (`merge_runs`) and call it there, with the skip lists of
ALL parts merged: what the tail reads is the same files a single run writes, so it gives the
same summary. Each run leaves what its batch loop knows and the files do not (the clips it
selected, the clips it could not use, where its training clips are known from) in
batches.json, which is what a merge reads of each part.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.audio import KEPT_SHARE_WARNING
from bsx.evaluation.config import EvalConfig

if TYPE_CHECKING:
    import pandas as pd

    from bsx.scoring.specs import MetricSpec

BATCHES_FILE = "batches.json"


@dataclass(frozen=True)
class RunParts:
    """What a run's batch loop leaves for its tail: how many clips it selected, the clips it
    could not use as (clip id or file, reason), what is known of the checkpoint's training
    clips (run.training_data) and how many clips the meta-evaluation re-scored."""

    n_clips: int
    skipped: tuple[tuple[str, str], ...] = ()
    training: Mapping[str, Any] = field(default_factory=dict)
    meta_clips: int = 0

    def save(self, out: Path) -> None:
        """out/batches.json, read back by `read_parts` when runs are merged."""
        from bsx.report.strict_json import write_json

        write_json(out / BATCHES_FILE, {
            "n_clips": self.n_clips, "skipped": [list(s) for s in self.skipped],
            "training": dict(self.training), "meta_clips": self.meta_clips})


def read_parts(run: Path) -> RunParts:
    """The RunParts a finished run saved in its folder."""
    from bsx.errors import BsxError

    path = run / BATCHES_FILE
    try:
        raw = json.loads(path.read_text())
        return RunParts(n_clips=int(raw["n_clips"]),
                        skipped=tuple((str(a), str(b)) for a, b in raw["skipped"]),
                        training=dict(raw["training"]), meta_clips=int(raw["meta_clips"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BsxError(f"{path}: not the batches.json of a finished run ({exc}); rerun that "
                       "part") from None


def merged(parts: Sequence[RunParts]) -> RunParts:
    """The parts of one run as one: clips and meta-evaluation clips added up, skip lists
    concatenated in part order (an entry every part shares, a file the corpus listing skipped
    for its name, once), the first training note that warns (else the first)."""
    skipped = tuple(dict.fromkeys(s for p in parts for s in p.skipped))
    warned = [p.training for p in parts if p.training.get("warning")]
    training = warned[0] if warned else parts[0].training if parts else {}
    return RunParts(n_clips=sum(p.n_clips for p in parts), skipped=skipped, training=training,
                    meta_clips=sum(p.meta_clips for p in parts))


def merge_parts(run_dirs: Sequence[Path], out: Path) -> int:
    """Copy every run's batch parts into out/parts/, renumbered in run then batch order
    (the order a single run writes them). Returns the number of batches."""
    parts = out / "parts"
    if parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    seq = 0
    for d in run_dirs:
        files = sorted((d / "parts").glob("*-*.parquet"))
        batches = sorted({int(f.stem.rsplit("-", 1)[1]) for f in files})
        renumber = {b: seq + i + 1 for i, b in enumerate(batches)}
        for f in files:
            name, num = f.stem.rsplit("-", 1)
            shutil.copyfile(f, parts / f"{name}-{renumber[int(num)]:06d}.parquet")
        seq += len(batches)
    return seq


def merge_runs(run_dirs: Sequence[Path], out: Path, cfg: EvalConfig,
               record: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge finished runs (shards, folds) into `out` and run the tail there: their batch
    parts in order, their skip lists, and config.json from the first run's with `cfg` (the
    whole run's settings) and the entries of `record` in place of its own."""
    from bsx.locks import hold_folder
    from bsx.report.strict_json import write_json

    out.mkdir(parents=True, exist_ok=True)
    with hold_folder(out, "bsx evaluate"):
        merge_parts(run_dirs, out)
        parts = merged([read_parts(d) for d in run_dirs])
        first = json.loads((run_dirs[0] / "config.json").read_text())
        write_json(out / "config.json",
                   {**first, "config": json.loads(cfg.model_dump_json()), **(record or {})})
        parts.save(out)
        return run_tail(out, cfg, parts)


def run_specs(cfg: EvalConfig, *, warn: bool = False) -> dict[str, MetricSpec]:
    """The run's metric specs by canonical name (the names rows are emitted under). A run of
    one dimension of a regression model (cfg.dimension) drops the classifier-only metrics and
    adds the dimensional ones (bsx.evaluation.dimensional.regression_specs)."""
    from bsx.evaluation.seeds import with_seed_metrics
    from bsx.scoring.specs import DEFAULT_METRICS, get_metric

    metrics = list(cfg.metrics) if cfg.metrics is not None else list(DEFAULT_METRICS)
    specs = {s.name: s for s in map(get_metric, with_seed_metrics(cfg, metrics))}
    if cfg.dimension is not None and cfg.dimension != "all":
        from bsx.evaluation.dimensional import regression_specs

        specs = regression_specs(cfg, specs, warn=warn)[0]
    return specs


def run_tail(out: Path, cfg: EvalConfig, parts: RunParts) -> dict[str, Any]:
    """The tail of the run whose batch files and config.json lie under `out`: tables,
    agreement against neutral speech over all clips, statistics, claims, meta-evaluation,
    summary.json, figures and report.html. Returns the summary."""
    from bsx.evaluation.dimensional import (
        dimension_results,
        regression_model_scores,
        regression_specs,
    )
    from bsx.expert import load_expert
    from bsx.report.posthoc import AGREEMENT_METRICS, agreement_tables
    from bsx.report.strict_json import write_json
    from bsx.report.summary import agreement_summary, summarise
    from bsx.results import ResultWriter
    from bsx.scoring.claims import claims_summary

    config = json.loads((out / "config.json").read_text())
    root = config.get("corpus_root")
    writer = ResultWriter(out, resume=True, corpus_root=Path(root) if root else None)
    specs, expert = run_specs(cfg), load_expert(cfg.expert)
    read = {"profiles": writer.read("profiles"), "clips": writer.read("clips")}
    if read["clips"].empty:
        raise_no_usable_clips(parts.n_clips, list(parts.skipped))
    warn_kept_share(read["clips"], str(config.get("frontend", {}).get("name", "")))
    profile_figures = draw_profile_figures(out, read["profiles"])
    agree, extra = agreement_tables(read["profiles"], read["clips"], expert,
                                    metrics=[m for m in AGREEMENT_METRICS if m in specs])
    dim_rows, dim_summary = dimension_results(cfg, read["profiles"], read["clips"], specs)
    tables = writer.finalize([r for r in [*extra, *dim_rows] if r["metric"] in specs],
                             tables=read)
    tables["agreement"] = agree
    if not agree.empty:
        agree.to_parquet(out / "agreement.parquet", index=False)
    summary = summarise(tables, cfg=cfg, metrics=specs, skipped=list(parts.skipped),
                        expert=expert, agreement_rows=agreement_summary(agree),
                        claim_rows=claims_summary(agree), training=dict(parts.training))
    summary["n_skipped"] = len(parts.skipped)
    if cfg.dimension is not None:
        summary.update(task="regression", dimension=cfg.dimension, dimensional=dim_summary,
                       skipped_metrics=regression_specs(
                           cfg, run_specs(cfg.model_copy(update={"dimension": None})))[1],
                       model=regression_model_scores(read["clips"], cfg.dimension))
    if cfg.meta_eval:
        from bsx.evaluation.meta import meta_evaluation
        from bsx.progress import status

        status("meta-evaluation of the metrics")
        summary["meta_evaluation"] = meta_evaluation(
            writer.read("meta"), writer.read("meta_profiles"), read["profiles"],
            read["clips"], expert, specs, parts.meta_clips, cfg.dimension)
    write_json(out / "summary.json", summary)
    write_figures_and_report(out, summary, profile_figures, config)
    return summary


def raise_no_usable_clips(n_clips: int, skipped: list[tuple[str, str]]) -> None:
    """Every clip was skipped: say why (the first reason) instead of writing empty results."""
    from bsx.errors import BsxError

    why = f"; the first: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
    raise BsxError(f"no usable clips: {len(skipped) or n_clips} of {n_clips} clips could not be "
                   f"used{why}")


def warn_kept_share(clips: pd.DataFrame, frontend: str) -> None:
    """One warning line when the front-end kept less than KEPT_SHARE_WARNING of the speech
    of some clips (the paper presets keep the first non-silent interval, at most 2 s)."""
    if clips.empty or "kept_share" not in clips:
        return
    share = clips["kept_share"].to_numpy(dtype=float)
    short = share < KEPT_SHARE_WARNING
    if short.any():
        warnings.warn(
            f"front-end '{frontend}' kept less than {KEPT_SHARE_WARNING:.0%} of the speech of "
            f"{int(short.sum())} of {len(share)} clips (median kept {np.median(share):.0%}); "
            "--keep whole explains whole utterances", stacklevel=2)


def draw_profile_figures(out: Path, profiles: pd.DataFrame) -> list[Path | None]:
    """Each method's cue-profile figure, per cue set."""
    from bsx.report.figures import cue_profile_bars

    if profiles.empty:
        return []
    pairs = profiles[["method", "cues"]].drop_duplicates().itertuples(index=False)
    return [cue_profile_bars(profiles[(profiles["method"] == method)
                                      & (profiles["cues"] == cues)],
                             out / f"cue_profile_{method}_{cues}.png", method, cues)
            for method, cues in pairs]


def write_figures_and_report(out: Path, summary: dict[str, Any],
                             profile_figures: list[Path | None],
                             config: Mapping[str, Any]) -> None:
    """The metric figure, the cue-profile figures and the self-contained report.html beside
    the result files."""
    import pandas as pd

    from bsx.report.figures import metric_comparison
    from bsx.report.html import examples_section, write_report

    table = pd.DataFrame(summary.get("metrics", []))
    figures = [metric_comparison(table, out / "metrics.png"), *profile_figures]
    write_report(out, summary, table, figures, dict(config), examples=examples_section(out))

"""`bsx evaluate`: the main job. Methods x cue sets on a dataset, scored and reported."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from bsx.cli.common import parse_options, require_file, split_list
from bsx.cli.console import err, out
from bsx.cli.explain import Keep
from bsx.errors import BsxError


def evaluate(
    method: Annotated[list[str], typer.Option(
        help="Attribution method(s): comma-separated or the option repeated")] = ["crp"],  # noqa: B006
    cues: Annotated[list[str], typer.Option(
        help="Cue extractor(s): comma-separated or the option repeated")] = ["egemaps"],  # noqa: B006
    dataset: Annotated[str, typer.Option(help="Dataset plugin")] = "synth",
    data_root: Annotated[Path | None, typer.Option(help="Corpus root folder")] = None,
    model: Annotated[str | None, typer.Option(help="Model plugin (with --checkpoint)")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="Model checkpoint file, a save_pretrained folder (hf), or a `bsx train --cv` "
        "folder: each fold's model on its own held-out speakers, merged")] = None,
    label_preset: Annotated[str | None, typer.Option(help="paper7 | ravdess8")] = None,
    labels: Annotated[str | None, typer.Option(help="Class labels in output order")] = None,
    frontend: Annotated[str | None, typer.Option(help="Front-end preset")] = None,
    keep: Annotated[Keep | None, typer.Option(
        help="What of each clip the model sees: whole (the whole utterance, in 2 s units "
        "every ~1 s) or first-interval (the paper); default: the model's front-end.")] = None,
    metrics: Annotated[list[str] | None, typer.Option(
        help="Metrics, comma-separated or repeated (default: the fast set)")] = None,
    split: Annotated[str, typer.Option(help="train | val | test | all")] = "test",
    emotions: Annotated[str | None, typer.Option(help="Only these emotions")] = None,
    limit: Annotated[int | None, typer.Option(help="At most N clips (stratified)")] = None,
    target: Annotated[str, typer.Option(help="Explain the predicted or true class")] = "predicted",
    dimension: Annotated[str | None, typer.Option(
        help="A regression model's output to evaluate (arousal, valence, ...; default: all, "
        "each into --out/<dimension>/; docs/dimensional.md)")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Clips per batch")] = 16,
    workers: Annotated[int, typer.Option(help="Processes for front-end and cues")] = 2,
    seed: Annotated[int, typer.Option(help="Seed for sampling and random baselines")] = 0,
    expert: Annotated[Path | None, typer.Option(help="Your own expert cue table (CSV)")] = None,
    opt: Annotated[list[str] | None, typer.Option(
        "--opt", help="A method option METHOD.KEY=VALUE (repeatable), e.g. --opt crp.top_n=3 "
        "--opt crp.layer=layer1.conv1")] = None,
    window_opt: Annotated[list[str] | None, typer.Option(
        "--window-opt", help="Salient-window option KEY=VALUE (repeatable): width, hop, k, "
        "threshold (mean|median|quantile|none), sign (positive|absolute)")] = None,
    split_mode: Annotated[str | None, typer.Option(
        help="speaker | random (default: the checkpoint's own split)")] = None,
    ablation_cue: Annotated[str, typer.Option(help="Cue ablated: loudness | pitch | noise")]
    = "loudness",
    baseline: Annotated[str, typer.Option(
        help="What removed frames become in faithfulness-correlation and region-perturbation: "
        "silence (the clip's dB floor) or noise (white noise --baseline-snr-db below the "
        "clip)")] = "silence",
    baseline_snr_db: Annotated[float, typer.Option(help="SNR of the noise baseline, dB")] = 20.0,
    seed_checkpoints: Annotated[str | None, typer.Option(
        help="The same model trained with other seeds: checkpoint files (comma-separated) or "
        "the --out folder of `bsx train --seeds`; adds seed-rank-correlation and "
        "seed-window-iou (how much their explanations agree with --checkpoint's)")] = None,
    trained_on_split: Annotated[str | None, typer.Option(
        help="The checkpoint's split where it has no sidecar: a JSON file of its train / val /"
             " test speakers, or 'none' if it never saw this corpus")] = None,
    meta_eval: Annotated[bool, typer.Option(
        "--meta-eval", help="Also meta-evaluate every metric of the run: is it reactive (tells "
        "the map from random, inverted and time-shifted maps) and resilient (stable under a "
        "1-frame shift, another seed, the other baseline)? A table in summary.json and "
        "report.html (docs/meta-evaluation.md)")] = False,
    meta_clips: Annotated[int, typer.Option(
        help="Clips the meta-evaluation re-scores (spread over the run; its cost grows with "
        "them)")] = 16,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Results folder")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a run in --out, skipping done clips")]
    = False,
    overwrite: Annotated[bool, typer.Option(help="Discard results already in --out")] = False,
    executor: Annotated[str, typer.Option(
        help="local (this process, the default); ray: shards as Ray tasks on RAY_ADDRESS or "
        "a local Ray, written under --out/shards/<i>/ and merged into one run; ray-actors: "
        "one run whose attribution runs on Ray actors (one per method, a GPU share each "
        "when the cluster has GPUs) and cues on Ray CPU tasks (docs/scale-out.md)")] = "local",
    shards: Annotated[int | None, typer.Option(
        help="Split the clips into N shards of whole batches [--workers with ray]")] = None,
) -> None:
    """Evaluate explanation methods: cue agreement, localisation, faithfulness, ablation."""
    from bsx.cli.notices import printed_warnings
    from bsx.progress import reporting

    # A status line at once, then a bar per long stage (synth generation, the batches).
    with reporting(err, first="bsx evaluate: checking the options"), printed_warnings(err):
        from bsx.plugins import lookup

        methods = split_list(method) or []
        cue_sets = split_list(cues) or []
        for m in methods:
            lookup("method", m)
        for c in cue_sets:
            lookup("cue", c)
        from bsx.models.hf_config import check_family

        check_family(checkpoint)  # an unsupported HF family is refused before torch loads
        from bsx.evaluation import EvalConfig, run_evaluation
        from bsx.scoring.specs import get_metric

        for m in split_list(metrics) or []:
            get_metric(m)
        method_options: dict[str, dict[str, object]] = {}
        for key, value in parse_options(opt, "--opt").items():
            mname, dot, okey = key.partition(".")
            if not dot or mname not in methods:
                raise BsxError(f"--opt '{key}': write METHOD.KEY=VALUE with METHOD one of "
                               f"{', '.join(methods)}")
            method_options.setdefault(mname, {})[okey] = value
        if split_mode not in (None, "speaker", "random"):
            raise BsxError(f"--split-mode '{split_mode}' is not one of: speaker, random")
        if ablation_cue not in ("loudness", "pitch", "noise"):
            raise BsxError(f"--ablation-cue '{ablation_cue}' is not one of: loudness, pitch, noise")
        if baseline not in ("silence", "noise"):
            raise BsxError(f"--baseline '{baseline}' is not one of: silence, noise")
        if split not in ("train", "val", "test", "all"):
            raise BsxError(f"--split '{split}' is not one of: train, val, test, all")
        if target not in ("predicted", "true"):
            raise BsxError(f"--target '{target}' is not one of: predicted, true")
        if batch_size < 1 or workers < 1:
            raise BsxError("--batch-size and --workers must be at least 1")
        if executor not in ("local", "ray", "ray-actors"):
            raise BsxError(f"--executor '{executor}' is not one of: local, ray, ray-actors")
        if executor == "ray-actors" and shards is not None:
            raise BsxError("--shards splits a run for --executor ray; --executor ray-actors "
                           "spreads one run's attribution and cues over Ray: leave out --shards")
        if meta_clips < 1:
            raise BsxError(f"--meta-clips {meta_clips}: give at least 1 clip")
        if limit is not None and limit < 1:
            raise BsxError(f"--limit {limit}: give at least 1 clip, or leave --limit out for all")
        require_file(expert, "expert-cue table (CSV)")
        if out_dir is None:
            out_dir = Path("bsx-runs") / time.strftime("evaluate-%Y%m%d-%H%M%S")
        if (out_dir / "parts").is_dir() and any((out_dir / "parts").iterdir()):
            if not (resume or overwrite):
                raise BsxError(f"{out_dir} already holds results; pass --resume to continue that "
                               "run or --overwrite to start again")
        cfg = EvalConfig(
            dataset=dataset, data_root=data_root, model=model, checkpoint=checkpoint,
            label_preset=label_preset, labels=split_list(labels), frontend=frontend,
            keep=keep.value if keep else None,
            methods=methods, cues=cue_sets, metrics=split_list(metrics), split=split,  # type: ignore[arg-type]
            emotions=split_list(emotions), limit=limit, seed=seed, device=device,
            batch_size=batch_size, workers=workers, target=target, expert=expert,  # type: ignore[arg-type]
            method_options=method_options, window_options=parse_options(window_opt, "--window-opt"),
            split_mode=split_mode, ablation_cue=ablation_cue,  # type: ignore[arg-type]
            baseline=baseline, baseline_snr_db=baseline_snr_db,  # type: ignore[arg-type]
            seed_checkpoints=split_list(seed_checkpoints),  # type: ignore[arg-type]
            trained_on_split=(None if trained_on_split is None else "none"
                              if trained_on_split.strip().lower() == "none"
                              else Path(trained_on_split)),
            meta_eval=meta_eval, meta_clips=meta_clips, dimension=dimension,
        )
        if executor == "local" and shards is None:
            summary = run_evaluation(cfg, out_dir, resume=resume)
        elif executor == "ray-actors":
            from bsx.ray_actors import run_on_actors

            summary = run_on_actors(cfg, out_dir, workers=workers, resume=resume)
        else:
            from bsx.shards import run_sharded

            summary = run_sharded(cfg, out_dir, shards or workers, executor, workers=workers,
                                  resume=resume)
    print_summary(summary)
    out.print(f"results in {out_dir}/ (results.parquet, results.csv, timings.csv, summary.json, "
              "config.json, report.html)")


def print_summary(summary: dict) -> None:  # type: ignore[type-arg]
    """Rich table: one row per metric, one column per method (mean and 95% CI), beside the
    model's own accuracy, so methods compare side by side. A regression run: per dimension,
    the table and the dimensional verdicts."""
    from rich.table import Table

    if summary.get("task") == "regression":
        for dim, sub in (summary.get("dimensions") or {summary.get("dimension"): summary}).items():
            out.print(f"dimension {dim}:", highlight=False)
            print_summary({k: v for k, v in sub.items() if k != "task"})
            for r in sub.get("dimensional", []):
                if r.get("expected") != "none":
                    out.print(r["salient_sentence"], highlight=False, soft_wrap=True)
        return
    m = summary.get("model", {})
    if "dimension" in m:
        rho, mean, sd = (m.get(k) for k in ("spearman_vs_true", "mean", "sd"))
        out.print(f"model on {m.get('n', 0)} clips: predicted {m['dimension']} mean "
                  f"{float('nan') if mean is None else mean:.3f}, SD "
                  f"{float('nan') if sd is None else sd:.3f}"
                  + ("" if rho is None else f", Spearman rho with the known values {rho:.3f}"),
                  highlight=False)
    else:
        out.print(f"model on {m.get('n', 0)} clips: accuracy "
                  f"{m.get('accuracy', float('nan')):.3f}, UAR {m.get('uar', float('nan')):.3f}")
    rows = summary.get("metrics", [])
    methods = list(dict.fromkeys(r["method"] for r in rows))
    table = Table(title="explanation scores: mean [95% CI] (↑ higher is better, ↓ lower)")
    table.add_column("metric")
    table.add_column("cues")  # a plain column: "[egemaps]" would be read as rich markup
    table.add_column("against")
    for method in methods:
        table.add_column(method, justify="right")
    cells: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for r in rows:
        arrow = "↑" if r["direction"] == "higher" else "↓"
        key = (f"{r['metric']} {arrow}", r["cues"] or "", r["against"] or "", r["category"])
        mean, lo, hi = r["mean"], r["ci_low"], r["ci_high"]
        cells.setdefault(key, {})[r["method"]] = (
            "-" if mean is None else
            f"{mean:.3f} [{lo:.2f}, {hi:.2f}]" if lo is not None and hi is not None
            else f"{mean:.3f}")
    for key in sorted(cells, key=lambda k: (k[3], k[0], k[1], k[2])):
        table.add_row(key[0], key[1], key[2], *[cells[key].get(mth, "") for mth in methods])
    out.print(table)
    if summary.get("arousal_groups"):
        from bsx.scoring.claims import arousal_line

        out.print(arousal_line(summary["arousal_groups"]), highlight=False)
    for method, sh in summary.get("window_shares", {}).items():
        pad, pause = sh.get("padding"), sh.get("pauses")
        if pad is not None:
            out.print(f"{method}: salient-window time in padding {pad:.1%}"
                      + (f", in pauses {pause:.1%}" if pause is not None else ""),
                      highlight=False)
    if summary.get("meta_evaluation"):
        from bsx.scoring.meta import meta_line

        out.print(meta_line(summary["meta_evaluation"]), highlight=False)
    if summary.get("skipped"):
        err.print(f"[yellow]{len(summary['skipped'])} clips skipped[/yellow] "
                  "(listed in summary.json)")


def attach(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)

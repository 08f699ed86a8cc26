"""What defines an evaluation run: the config stored with its results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from bsx.canonical import omit_new_defaults

Split = Literal["train", "val", "test", "all"]
Baseline = Literal["silence", "noise"]

# The fields of the first stored config.json: always written. Any field added since is left
# out while at its default (bsx.canonical), so an existing run's config.json still matches on
# --resume and a leaderboard cell's hash is what it was. Never add to this set.
STORED_FIELDS = frozenset({
    "ablation_cue", "batch_size", "checkpoint", "clip_ids", "cues", "data_root", "dataset",
    "dataset_options", "device", "emotions", "expert", "frontend", "keep", "label_preset",
    "labels", "limit", "method_options", "methods", "metrics", "model", "seed", "split",
    "split_mode", "target", "window_options", "workers"})


class EvalConfig(BaseModel):
    """Everything that defines an evaluation run; stored with its results.

    keep: "whole" or "first-interval" overrides what the model's front-end keeps of each clip
    (docs/model-contract.md); None uses the front-end as stored with the model.
    baseline: what the removal metrics (faithfulness-correlation, region-perturbation) put in
    place of removed frames: "silence" (the clip's dB floor; zeros for waveform models) or
    "noise" (white noise baseline_snr_db below the clip; bsx.scoring.perturb).
    seed_checkpoints: the same model trained with other seeds (checkpoint files, or the --out
    folder of `bsx train --seeds`); given, the run scores how much their explanations agree
    with the main model's (bsx.evaluation.seeds).
    trained_on_split: what the user states about the checkpoint's training data where its
    sidecar does not (a plain state dict): a JSON split file (its training speakers or clips,
    bsx.datasets.splits.read_stated_split; --split then selects its held-out part), or "none"
    (the model never saw this corpus). None: the sidecar's split, else a warning that the
    clips may include training data (bsx.honesty.training_data_warning).
    meta_eval: also meta-evaluate every metric of the run on `meta_clips` of its clips (spread
    evenly): how reactive and how resilient each score is on this model and these clips
    (bsx.evaluation.meta, docs/meta-evaluation.md); summary["meta_evaluation"].
    dimension: a regression model's output to evaluate (None or "all": each in turn, into
    out/<dimension>/; bsx.evaluation.dimensional, docs/dimensional.md); refused for a
    classifier. Set, every clip is evaluated whatever its label.
    """

    model_config = ConfigDict(extra="forbid")

    dataset: str = "synth"
    data_root: Path | None = None
    dataset_options: dict[str, Any] = Field(default_factory=dict)
    model: str | None = None
    checkpoint: Path | None = None
    label_preset: str | None = None
    labels: list[str] | None = None
    frontend: str | None = None
    keep: Literal["whole", "first-interval"] | None = None
    methods: list[str] = Field(default_factory=lambda: ["crp"])
    method_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cues: list[str] = Field(default_factory=lambda: ["egemaps"])
    metrics: list[str] | None = None
    split: Split = "test"
    split_mode: Literal["speaker", "random"] | None = None
    emotions: list[str] | None = None
    limit: int | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 16
    workers: int = 2
    target: Literal["predicted", "true"] = "predicted"
    window_options: dict[str, Any] = Field(default_factory=dict)
    ablation_cue: str = "loudness"
    expert: Path | None = None
    clip_ids: list[str] | None = None  # only these clips (a shard, bsx.shards), after the split
    baseline: Baseline = "silence"
    baseline_snr_db: float = 20.0
    seed_checkpoints: list[Path] | None = None
    trained_on_split: Literal["none"] | Path | None = None
    meta_eval: bool = False
    meta_clips: int = Field(default=16, ge=1)
    dimension: str | None = None

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return omit_new_defaults(self, handler(self), STORED_FIELDS)


def window_options(cfg: EvalConfig) -> Any:
    """The validated salient-window options of a run (BadOptions naming the bad key)."""
    from pydantic import ValidationError

    from bsx.errors import BadOptions, first_problem
    from bsx.windows import WindowOptions

    try:
        return WindowOptions(**cfg.window_options)
    except ValidationError as exc:
        where, msg = first_problem(exc)
        raise BadOptions(f"window option '{where}': {msg}; accepted: "
                         f"{', '.join(WindowOptions.model_fields)}") from None


def stated_split(cfg: EvalConfig) -> dict[str, Any] | None:
    """The split meta the user stated with trained_on_split (None: none stated, or "none":
    the model never saw the corpus, so there is no split to apply)."""
    if cfg.trained_on_split is None or cfg.trained_on_split == "none":
        return None
    from bsx.datasets.splits import read_stated_split

    return read_stated_split(Path(cfg.trained_on_split), cfg.dataset)

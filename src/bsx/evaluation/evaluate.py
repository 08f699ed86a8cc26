"""`bsx.evaluate`: the evaluate run from Python, on any model the caller holds.

The same run as `bsx evaluate` (bsx.evaluation.run_evaluation with an EvalConfig); only the
model may also be an in-memory `bsx.Model`, and the results come back as a summary dict and a
pandas DataFrame besides the files under `out`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bsx.errors import BadOptions

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A finished run: summary (what summary.json holds), results (one row per clip x method
    x cue set x metric, as results.parquet) and the folder that holds every file."""

    summary: dict[str, Any]
    results: pd.DataFrame
    out: Path

    def table(self) -> pd.DataFrame:
        """The per-method metric table of the summary (mean, CI, direction per metric)."""
        import pandas as pd

        return pd.DataFrame(self.summary.get("metrics", []))

    def meta_table(self) -> pd.DataFrame:
        """Which scores can be trusted here: the meta-evaluation of a run with
        meta_eval=True, one flat row per score (docs/meta-evaluation.md); empty without."""
        from bsx.scoring.meta import meta_frame

        return meta_frame(self.summary.get("meta_evaluation"))


def evaluate(
    model: Any = None,
    dataset: str = "synth",
    methods: Sequence[str] = ("gradcam",),
    cues: Sequence[str] = ("egemaps",),
    metrics: Sequence[str] | None = None,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    progress: bool = False,
    **config: Any,
) -> Evaluation:
    """Evaluate `methods` x `cues` on `dataset` with `model`; return summary and results.

    model: a registered name, a checkpoint path, a save_pretrained directory, a `bsx.Model`
    or None (the packaged default). `config`: any other EvalConfig field (split, limit,
    dataset_options, batch_size, workers, device, window_options, ...; docs/api.md). out: the
    run's folder (a new temporary one when None). resume: carry on a run `out` holds.
    """
    from pydantic import ValidationError

    from bsx.errors import first_problem
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.run import run_evaluation
    from bsx.models.resolve import Model, model_source

    for key in ("model", "checkpoint"):
        if key in config:
            raise BadOptions(f"bsx.evaluate: give the model as its first argument, not {key}=")
    fields: dict[str, Any] = {
        "dataset": dataset,
        "methods": list(methods),
        "cues": list(cues),
        "metrics": None if metrics is None else list(metrics),
        **config,
    }
    loaded = record = None
    if isinstance(model, Model):
        given = [k for k in ("labels", "label_preset") if k in config]
        if given:
            raise BadOptions(
                f"bsx.evaluate: a bsx.Model declares its own labels; leave out {', '.join(given)}"
            )
        if config.get("frontend") is not None:
            from dataclasses import replace

            model = replace(model, frontend=fields.pop("frontend"))
        loaded = model.loaded(config.get("device"))
        record = {
            "checkpoint": {
                "path": None,
                "default": False,
                "sha256": None,
                "trained_on": None,
                "in_memory": model.name,
            }
        }
    else:
        fields.update(model_source(model))
    try:
        cfg = EvalConfig(**fields)
    except ValidationError as exc:
        where, msg = first_problem(exc)
        raise BadOptions(
            f"bsx.evaluate: option '{where}': {msg}; accepted: {', '.join(EvalConfig.model_fields)}"
        ) from None
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="bsx-evaluate-"))
    summary = run_evaluation(
        cfg, folder, resume=resume, progress=progress, record=record, loaded=loaded
    )
    import pandas as pd

    return Evaluation(
        summary=summary, results=pd.read_parquet(folder / "results.parquet"), out=folder
    )

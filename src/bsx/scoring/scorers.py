"""Scorers: what produces a metric's values (docs/scorers.md).

A metric is its MetricSpec plus the scorer its `compute` field names. A batch scorer is
fn(ctx, mb, specs) -> list[ScoreRow]: it reads one method's batch (bsx.evaluation.computes.
MethodBatch) and *returns* values for the specs asked of it; one call may serve several
metrics (one Quantus pass, one ablation pass). The batch loop groups the run's specs by
scorer, calls each once per method batch, checks that it returned only the names asked of it
and writes the rows (direction, unit and category from the spec). Because scorers return
values, anything may call them on other maps (the meta-evaluation does).

Plugin metrics may name the scorers that read the spec to know what to run (PLUGIN_SCORERS:
"clip" calls the spec's factory per clip, "quantus" and "localisation" run the Quantus metric
the spec's factory builds); the others serve bsx's own metrics only, and a plugin metric that
names one, or an unknown scorer, is refused when it registers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bsx.errors import BsxError

if TYPE_CHECKING:
    from bsx.scoring.specs import MetricSpec

PLUGIN_SCORERS: tuple[str, ...] = ("clip", "quantus", "localisation")


@dataclass(frozen=True)
class ScoreRow:
    """One value of one metric for clip `clip` (its index in the batch); `cues` and
    `against` name the cue set or mask kind the value is against, where it has one."""

    clip: int
    metric: str
    value: float
    cues: str = ""
    against: str = ""
    seconds: float = 0.0


BatchScorer = Callable[[Any, Any, Sequence["MetricSpec"]], list[ScoreRow]]


def rows_for_all(metric: str, values: Any, seconds: float, *, cues: str = "",
                 against: str = "") -> list[ScoreRow]:
    """One row per clip of a batch, in clip order (`values`: a sequence or 1-D array; None,
    where a pass computed nothing, gives no rows)."""
    if values is None:
        return []
    return [ScoreRow(i, metric, float(v), cues, against, seconds) for i, v in enumerate(values)]


def batch_scorers() -> dict[str, BatchScorer]:
    """Each scorer name of bsx.scoring.specs.COMPUTES -> its batch scorer."""
    from bsx.evaluation.computes import per_clip_function, post_hoc, seed_models
    from bsx.evaluation.groundtruth import localise, planted_windows
    from bsx.evaluation.model_scores import ablation, quantus

    return {"planted-windows": planted_windows, "localisation": localise,
            "cue-profiles": post_hoc, "quantus": quantus, "ablation": ablation,
            "seed-models": seed_models, "clip": per_clip_function,
            "dimension-cues": post_hoc}


def score(scorer: str, fn: BatchScorer, ctx: Any, mb: Any,
          specs: Sequence[MetricSpec]) -> list[ScoreRow]:
    """Call one scorer and check it returned only the metrics asked of it (else a bsx bug,
    named with the scorer)."""
    rows = fn(ctx, mb, specs)
    asked = {s.name for s in specs}
    extra = sorted({r.metric for r in rows} - asked)
    if extra:
        raise RuntimeError(f"scorer '{scorer}' returned {', '.join(extra)}, which it was not "
                           f"asked for ({', '.join(sorted(asked))})")
    return rows


def check_plugin_metric(spec: MetricSpec) -> None:
    """Refuse, in one sentence, a plugin metric whose scorer cannot run it."""
    from bsx.scoring.specs import COMPUTES

    if spec.compute not in COMPUTES:
        raise BsxError(f"metric '{spec.name}': no scorer '{spec.compute}'; a plugin metric "
                       f"names one of {', '.join(PLUGIN_SCORERS)}")
    if spec.compute not in PLUGIN_SCORERS:
        raise BsxError(f"metric '{spec.name}': scorer '{spec.compute}' serves bsx's own "
                       f"metrics only; a plugin metric names one of "
                       f"{', '.join(PLUGIN_SCORERS)}")

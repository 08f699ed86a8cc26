"""The rows a batch writes: one per clip x method x cue set x metric, with its direction.

Stages return values (bsx.scoring.scorers.ScoreRow for scores, dicts for the other tables);
the rows are built here from what they returned, and a batch's rows are one frozen BatchRows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bsx.scoring.scorers import ScoreRow
    from bsx.scoring.specs import MetricSpec

Row = dict[str, Any]


def result_rows(base: Sequence[Row], metrics: Mapping[str, MetricSpec], method: str,
                scores: Iterable[ScoreRow]) -> list[Row]:
    """results rows of one method's scores: each clip's base columns (`base[score.clip]`),
    the score, and its direction and category from the metric's spec (empty for the
    timing rows, which have none)."""
    rows = []
    for s in scores:
        spec = metrics.get(s.metric)
        rows.append({**base[s.clip], "method": method, "cues": s.cues, "metric": s.metric,
                     "against": s.against, "value": float(s.value),
                     "direction": spec.direction if spec else "",
                     "category": spec.category if spec else "", "seconds": s.seconds})
    return rows


@dataclass(frozen=True)
class BatchRows:
    """One batch's rows for each results table (bsx.results writes them): results,
    cue profiles, salient windows, the meta-evaluation's tables and, written last, clips."""

    results: tuple[Row, ...] = ()
    profiles: tuple[Row, ...] = ()
    windows: tuple[Row, ...] = ()
    clips: tuple[Row, ...] = ()
    meta: Mapping[str, Sequence[Row]] = field(default_factory=dict)

    def tables(self) -> dict[str, list[Row]]:
        return {"results": list(self.results), "profiles": list(self.profiles),
                "windows": list(self.windows),
                **{k: list(v) for k, v in self.meta.items()}, "clips": list(self.clips)}

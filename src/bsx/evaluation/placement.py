"""Where a run's two heavy stages run: each method's attribution of a batch, and the cue
extraction of a batch. The driver (bsx.evaluation.run) keeps everything else: preparing,
predicting, windows, metrics, the tail.

LocalPlacement, the default, runs attribution in this process and cues in the local worker
pool (bsx.cues.parallel); bsx.ray_actors places attribution on Ray actors and cues on Ray
tasks. A run builds its placement once per model (PlacementFactory), so a cross-validation
run gets one per fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from bsx.audio import Prepared
    from bsx.cues.base import CueExtractor
    from bsx.evaluation.attribute import Attributions, Backoff, Units
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.prepare import PendingCues
    from bsx.models.checkpoint import LoadedModel


class Placement(Protocol):
    """Runs a run's attribution and cue extraction; closed when its batches are done."""

    def submit_cues(self, extractors: dict[str, CueExtractor], prepared: Sequence[Prepared],
                    sample_rate: int, workers: int) -> PendingCues:
        """Start measuring the batch's cue tracks (prepare.submit_cues' contract)."""
        ...

    def attribute(self, methods: dict[str, Any], units: Units, target: np.ndarray,
                  prepared: list[Prepared]) -> dict[str, Attributions]:
        """Every method's Attributions of the batch, in the order of `methods`."""
        ...

    def close(self) -> None:
        """Release what the placement holds (workers, actors)."""
        ...


PlacementFactory = Callable[["EvalConfig", "LoadedModel"], Placement]


@dataclass
class LocalPlacement:
    """Attribution in this process (each method with its own out-of-memory back-off, kept
    across batches) and cues in the local worker pool."""

    backoffs: dict[str, Backoff] = field(default_factory=dict)

    def submit_cues(self, extractors: dict[str, CueExtractor], prepared: Sequence[Prepared],
                    sample_rate: int, workers: int) -> PendingCues:
        from bsx.evaluation.prepare import submit_cues

        return submit_cues(extractors, prepared, sample_rate, workers)

    def attribute(self, methods: dict[str, Any], units: Units, target: np.ndarray,
                  prepared: list[Prepared]) -> dict[str, Attributions]:
        from bsx.evaluation.attribute import Backoff, attribute

        return {m: attribute(method, units, target, prepared,
                             self.backoffs.setdefault(m, Backoff(name=m)))
                for m, method in methods.items()}

    def close(self) -> None:
        """Nothing to release: the cue pool is kept for the process (bsx.pool)."""


def local_placement(cfg: EvalConfig, loaded: LoadedModel) -> Placement:
    """The default PlacementFactory."""
    return LocalPlacement()

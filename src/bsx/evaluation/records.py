"""The rows a batch writes: one per clip x method x cue set x metric, with its direction."""

from __future__ import annotations

from typing import Any


class Records:
    """Collects a batch's rows for each results table (bsx.results writes them)."""

    def __init__(self, base: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
        self.base, self.metrics = base, metrics
        self.results: list[dict[str, Any]] = []
        self.profiles: list[dict[str, Any]] = []
        self.windows: list[dict[str, Any]] = []
        self.clips: list[dict[str, Any]] = []
        self.meta: dict[str, list[dict[str, Any]]] = {}  # bsx.evaluation.meta's tables

    def wants(self, metric: str) -> bool:
        return metric in self.metrics

    def emit(self, i: int, method: str, cues: str, metric: str, value: float, seconds: float,
             against: str = "") -> None:
        """One score of clip i; its direction and category come from the metric's spec."""
        spec = self.metrics.get(metric)
        self.results.append({**self.base[i], "method": method, "cues": cues, "metric": metric,
                             "against": against, "value": float(value),
                             "direction": spec.direction if spec else "",
                             "category": spec.category if spec else "", "seconds": seconds})

    def emit_all(self, method: str, cues: str, metric: str, values: Any, seconds: float,
                 against: str = "") -> None:
        for i, v in enumerate(values):
            self.emit(i, method, cues, metric, v, seconds, against)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        return {"results": self.results, "profiles": self.profiles, "windows": self.windows,
                **self.meta, "clips": self.clips}

"""The metric reference of the docs, generated from the specs so it cannot drift from them."""

from __future__ import annotations

from collections.abc import Iterable

from bsx.scoring.specs import DEFAULT_METRICS, METRICS, MetricSpec


def _bounds(spec: MetricSpec) -> str:
    return "unbounded" if spec.bounds is None else f"{spec.bounds[0]:g} to {spec.bounds[1]:g}"


def metric_reference(specs: Iterable[MetricSpec] | None = None) -> str:
    """Markdown: one table row per metric (name, what it measures, unit, range, better,
    role, scorer, whether it runs by default), grouped by role."""
    specs = list(METRICS.values() if specs is None else specs)
    lines = ["# Metric reference", "",
             "Generated from the metric specs (`bsx.scoring.specs`); `bsx evaluate --metrics` "
             "takes these names. *Role* says what a score can show: faithfulness, cue "
             "plausibility, ground truth and reliability are evidence about a method; "
             "descriptions (map shape) never count in a \"better than random\" headline.", ""]
    for role in ("faithfulness", "plausibility", "ground-truth", "reliability", "description"):
        group = [s for s in specs if s.evidence_role == role]
        if not group:
            continue
        lines += [f"## {role}", "",
                  "| metric | measures | unit | range | better | scorer | default |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for s in group:
            text = s.description.replace("|", "\\|")
            default = "yes" if s.name in DEFAULT_METRICS else ("slow" if s.slow else "no")
            lines.append(f"| `{s.name}` | {text} | {s.unit} | {_bounds(s)} | {s.direction} | "
                         f"{s.compute} | {default} |")
        lines.append("")
    return "\n".join(lines)

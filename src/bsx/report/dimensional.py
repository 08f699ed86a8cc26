"""report.html for a regression run: the model's line (no accuracy: predicted values and,
where the corpus knows them, their rank correlation with the truth) and the dimensional
verdicts, one sentence per cue (bsx.scoring.dimensional)."""

from __future__ import annotations

from typing import Any


def model_line(summary: dict[str, Any]) -> str:
    """<p> saying what the regression model predicted on the run's clips."""
    from bsx.report.html import _e, _num

    m = summary.get("model", {})
    rho = m.get("spearman_vs_true")
    truth = "" if rho is None else (f"; Spearman's rho with the clips' known values "
                                    f"<b>{_num(rho, 3)}</b>")
    return (f"<p>The model predicted <b>{_e(str(m.get('dimension', '')))}</b> for "
            f"<b>{m.get('n', 0)}</b> clips (mean {_num(m.get('mean'), 3)}, SD "
            f"{_num(m.get('sd'), 3)}{truth}). It is a regression model: every clip explains "
            f"this output, and the metrics that need a class are skipped.</p>")


def dimensional_html(summary: dict[str, Any]) -> str:
    """The dimensional verdicts (salient windows vs expectation, then vs random windows) and
    the skipped metrics with their reasons; "" for a classifier's run."""
    from bsx.report.html import _e

    rows = summary.get("dimensional") or []
    if summary.get("task") != "regression":
        return ""
    lines = [f"<li>{_e(r['salient_sentence'])}<br>{_e(r['gain_sentence'])}</li>"
             for r in rows if r.get("expected") != "none"]
    described = sorted({r["cue"] for r in rows if r.get("expected") == "none"})
    parts = ["<h3>Dimensional scores</h3>",
             "<p class='meta'>Spearman's rho across clips between the predicted value and each "
             "expected cue in the salient windows, signed by the expected direction "
             "(bsx/data/expert_dimensions.csv), and its margin over matched random windows "
             "(docs/dimensional.md).</p>",
             f"<ul>{''.join(lines)}</ul>" if lines else
             "<p>No cue of this dimension has a definite expected direction: its correlations "
             "are described in summary.json, never judged.</p>"]
    if described:
        parts.append(f"<p class='meta'>Described only (no definite expectation): "
                     f"{_e(', '.join(described))}.</p>")
    skipped = summary.get("skipped_metrics") or {}
    if skipped:
        items = "".join(f"<li>{_e(m)}: {_e(why)}</li>" for m, why in skipped.items())
        parts.append(f"<details><summary>Skipped metrics</summary><ul>{items}</ul></details>")
    return "".join(parts)

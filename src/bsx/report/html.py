"""A self-contained report.html: the tables and figures of a run in one file."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#eee}img{max-width:100%}"""


def _img(path: Path | None) -> str:
    if path is None or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(Path(path).name)}">'


def write_report(out: Path, summary: dict[str, Any], table: pd.DataFrame,
                 figures: list[Path | None], config: dict[str, Any]) -> Path:
    """Write out/report.html with figures embedded as data URIs (opens offline)."""
    model = summary.get("model", {})
    parts = [
        f"<html><head><meta charset='utf-8'><title>bsx report</title><style>{STYLE}</style>"
        "</head><body><h1>bsx evaluate report</h1>",
        f"<p>{summary.get('n_clips', 0)} clips; model accuracy "
        f"{model.get('accuracy', float('nan')):.3f}, UAR {model.get('uar', float('nan')):.3f}; "
        f"{len(summary.get('skipped', []))} skipped.</p>",
        "<h2>Scores per method (mean, 95% bootstrap CI; split by correct / wrong)</h2>",
        table.to_html(index=False, float_format=lambda v: f"{v:.3f}") if not table.empty else "",
        "<h2>Figures</h2>", *[_img(f) for f in figures],
    ]
    if summary.get("dataset_agreement"):
        parts += ["<h2>Expert-cue agreement per emotion and cue</h2>",
                  pd.DataFrame(summary["dataset_agreement"]).to_html(
                      index=False, float_format=lambda v: f"{v:.3f}")]
    if summary.get("timing"):
        parts += ["<h2>Cost per clip (seconds)</h2>",
                  pd.DataFrame(summary["timing"]).to_html(index=False)]
    if summary.get("skipped"):
        parts += ["<h2>Skipped clips</h2>", pd.DataFrame(summary["skipped"]).to_html(index=False)]
    parts += ["<h2>Configuration</h2><pre>", html.escape(json.dumps(config, indent=2)), "</pre>",
              "</body></html>"]
    path = Path(out) / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

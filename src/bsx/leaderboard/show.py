"""Leaderboard tables and figures: methods ranked per metric, honouring each metric's direction.

Every (dataset, model, metric, cue set, reference) group is ranked on its own; the random
baseline stays in the ranking (a method below it explains nothing) and every other method
shows its margin over it, signed so that positive means better than random.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from bsx.scoring.specs import rank

BASELINE = "random"
FORMATS = ("rich", "markdown", "html", "csv", "json")
Format = Literal["rich", "markdown", "html", "csv", "json"]
GROUP = ["dataset", "model", "metric", "cues", "against"]
COLUMNS = [*GROUP, "category", "direction", "rank", "method", "mean", "ci_low", "ci_high", "n",
           "vs_random", "baseline"]


def leaderboard_table(results: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Store results -> one row per group x method, ranked best first (rank 1 = best)."""
    if results.empty:
        return pd.DataFrame(columns=COLUMNS)
    df = results.copy()
    for col in ("cues", "against"):
        df[col] = df[col].fillna("").astype(str)
    rows = []
    for _, g in df.groupby(GROUP, sort=True, dropna=False):
        direction = str(g["direction"].iloc[0])
        if direction not in ("higher", "lower"):
            continue
        means = {str(m): float(v) if v is not None else math.nan
                 for m, v in zip(g["method"], g["mean"], strict=True)}
        order = rank(means, direction)  # type: ignore[arg-type]
        base = means.get(baseline, math.nan)
        by_method = g.set_index("method")
        for r, method in enumerate(order, start=1):
            row = by_method.loc[method]
            m = means[method]
            delta = (m - base) if direction == "higher" else (base - m)
            rows.append({**{k: row[k] for k in GROUP},
                         "category": row["category"], "direction": direction, "rank": r,
                         "method": method, "mean": m, "ci_low": float(row["ci_low"]),
                         "ci_high": float(row["ci_high"]), "n": int(row["n"]),
                         "vs_random": math.nan if method == baseline else delta,
                         "baseline": method == baseline})
    return pd.DataFrame(rows, columns=COLUMNS)


def mean_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Each method's mean rank over all groups of the table (lower is better)."""
    if table.empty:
        return pd.DataFrame(columns=["method", "mean_rank", "groups"])
    g = table.groupby("method")["rank"]
    out = pd.DataFrame({"mean_rank": g.mean(), "groups": g.size()}).reset_index()
    return out.sort_values(["mean_rank", "method"]).reset_index(drop=True)


def _f(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def _ci(r: pd.Series) -> str:
    return f"{_f(r['mean'])} [{_f(r['ci_low'])}, {_f(r['ci_high'])}]"


def _delta(v: float) -> str:
    return "" if math.isnan(v) else f"{0.0 if abs(v) < 5e-4 else v:+.3f}"


def _metric_label(r: pd.Series) -> str:
    arrow = "↑" if r["direction"] == "higher" else "↓"
    return f"{r['metric']} {arrow}"


def _text_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, cells and 'is baseline' per row, shared by the markdown and rich renderers."""
    many = table[["dataset", "model"]].drop_duplicates().shape[0] > 1
    header = (["dataset", "model"] if many else []) + [
        "metric", "cues", "vs", "rank", "method", "mean [95% CI]", "n", "Δ random"]
    rows, base = [], []
    for _, r in table.iterrows():
        rows.append(([str(r["dataset"]), str(r["model"])] if many else []) + [
            _metric_label(r), r["cues"] or "", r["against"] or "", str(r["rank"]),
            r["method"] + (" (baseline)" if r["baseline"] else ""), _ci(r), str(r["n"]),
            _delta(r["vs_random"])])
        base.append(bool(r["baseline"]))
    return header, rows, base


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub pipe table of the ranking, then each method's mean rank."""
    header, rows, _ = _text_rows(table)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    mr = mean_ranks(table)
    lines += ["", "| method | mean rank | groups |", "|---|---|---|"]
    lines += [f"| {r.method} | {r.mean_rank:.2f} | {r.groups} |" for r in mr.itertuples()]
    return "\n".join(lines) + "\n"


def to_html(table: pd.DataFrame, title: str = "bsx leaderboard") -> str:
    """A self-contained HTML page with the ranking; the random baseline in grey."""
    header, rows, base = _text_rows(table)
    esc = html.escape
    body = "".join(
        "<tr" + (' class="baseline"' if b else "") + ">"
        + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>\n"
        for row, b in zip(rows, base, strict=True))
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}tr.baseline{color:#888;font-style:italic}"
        "</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n<table>\n<tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>\n" + body
        + "</table>\n</body></html>\n")


def _ref(r: pd.Series) -> str:
    """What a score was measured against: 'planted', 'expert-cues (egemaps)', ''."""
    if r["against"] and r["cues"]:
        return f"{r['against']} ({r['cues']})"
    return str(r["against"] or r["cues"] or "")


def to_rich(table: pd.DataFrame, title: str = "leaderboard") -> object:
    """A rich Table: the metric once per group, groups separated by a line, the random
    baseline dimmed."""
    from rich.table import Table

    many = table[["dataset", "model"]].drop_duplicates().shape[0] > 1
    t = Table(title=f"{title}: rank 1 = best (↑ higher / ↓ lower is better)",
              caption="dimmed: the random baseline; Δ random > 0: better than random")
    if many:
        t.add_column("dataset/model", no_wrap=True)
    t.add_column("metric", overflow="fold", min_width=10)
    t.add_column("vs", overflow="fold", min_width=7)
    for h in ("#", "method", "mean", "95% CI", "n", "Δ random"):
        t.add_column(h, justify="left" if h == "method" else "right", no_wrap=True)
    keys = [tuple(r[k] for k in GROUP) for _, r in table.iterrows()]
    for i, (_, r) in enumerate(table.iterrows()):
        first = i == 0 or keys[i - 1] != keys[i]
        last = i + 1 == len(keys) or keys[i + 1] != keys[i]
        head = ([f"{r['dataset']}/{r['model']}" if first else ""] if many else []) + [
            _metric_label(r) if first else "", _ref(r) if first else ""]
        t.add_row(*head, str(r["rank"]), str(r["method"]), _f(r["mean"]),
                  f"{_f(r['ci_low'])}–{_f(r['ci_high'])}", str(r["n"]),
                  _delta(r["vs_random"]), style="dim" if r["baseline"] else None,
                  end_section=last)
    return t


def render(table: pd.DataFrame, fmt: str) -> str:
    """The table as text in one of FORMATS other than rich."""
    if fmt == "markdown":
        return to_markdown(table)
    if fmt == "html":
        return to_html(table)
    if fmt == "csv":
        return str(table.to_csv(index=False))
    if fmt == "json":
        return str(table.to_json(orient="records", indent=2))
    raise ValueError(f"unknown format {fmt!r}")


def heatmap(table: pd.DataFrame, path: Path) -> Path:
    """PNG heatmap, methods x metrics: colour = rank within the column (green best), text =
    mean. Ranks put metrics on one scale whatever their units or direction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    many = table[["dataset", "model"]].drop_duplicates().shape[0] > 1

    def col(r: pd.Series) -> str:
        ref = "/".join(x for x in (r["cues"], r["against"]) if x)
        arrow = "↑" if r["direction"] == "higher" else "↓"
        label = f"{r['metric']}{' (' + ref + ')' if ref else ''} {arrow}"
        return f"{r['dataset']}/{r['model']}: {label}" if many else label

    t = table.assign(column=table.apply(col, axis=1))
    size = t.groupby("column")["rank"].transform("max").clip(lower=2)
    t = t.assign(score=(t["rank"] - 1) / (size - 1))
    order = mean_ranks(table)["method"].tolist()
    cols = list(dict.fromkeys(t["column"]))
    score = t.pivot(index="method", columns="column", values="score").reindex(
        index=order, columns=cols)
    means = t.pivot(index="method", columns="column", values="mean").reindex(
        index=order, columns=cols)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(cols), 0.9 + 0.45 * len(order)))
    ax.imshow(score.to_numpy(dtype=float), cmap="RdYlGn_r", vmin=-0.4, vmax=1.4, aspect="auto")
    for i in range(len(order)):
        for j in range(len(cols)):
            v = means.iat[i, j]
            ax.text(j, i, "" if pd.isna(v) else f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(np.arange(len(cols)), labels=cols, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(order)), labels=order, fontsize=9)
    ax.set_title("leaderboard: methods (mean rank order) x metrics; green = best rank",
                 fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path

"""Leaderboard tables and figures: methods ranked per metric, honouring each metric's direction.

Every (dataset, model, metric, cue set, reference) group is ranked on its own; equal means
share a rank (the lowest, as scipy's rankdata method="min"). The random baseline stays in the
ranking (a method below it explains nothing) and every other method shows its margin over it,
signed so that positive means better than random. The design is paired (every cell evaluates
the same clips), so where the cells' per-clip scores are at hand (from_store reads them from
each cell's results.parquet) the margin is the mean of the per-clip differences, with a
speaker-clustered bootstrap 95% CI, a cluster sign-flip p and its Benjamini-Hochberg
adjustment over the table (bsx.scoring.stats); without them (a CSV), the plain difference of
means and no interval.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from bsx.report.numbers import mean_ci, num, signed
from bsx.scoring.inference import STATUS_WORDS, judge
from bsx.scoring.stats import Estimate, fdr, paired_difference

BASELINE = "random"
FORMATS = ("rich", "markdown", "html", "csv", "json")
Format = Literal["rich", "markdown", "html", "csv", "json"]
GROUP = ["dataset", "model", "metric", "cues", "against"]
DELTA = ["vs_random", "vs_random_ci_low", "vs_random_ci_high", "vs_random_p",
         "vs_random_p_fdr", "vs_random_n", "vs_random_n_clusters"]
COLUMNS = [*GROUP, "category", "direction", "rank", "method", "mean", "ci_low", "ci_high", "n",
           *DELTA, "vs_random_status", "baseline"]
CLIP_COLUMNS = ["dataset", "model", "method", "cues", "metric", "against", "clip_id", "speaker",
                "value"]


def tied_ranks(means: list[float], direction: str) -> list[int]:
    """Competition ranks (1 = best) by `direction`; equal means share the lowest rank
    (scipy.stats.rankdata method="min"); NaN ranks after every number."""
    from scipy.stats import rankdata

    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    x = np.asarray(means, dtype=np.float64)
    key = np.where(np.isnan(x), np.inf, -x if direction == "higher" else x)
    return [int(r) for r in rankdata(key, method="min")]


def _clip_index(clips: pd.DataFrame | None) -> dict[tuple[Any, ...], pd.DataFrame]:
    if clips is None or clips.empty:
        return {}
    df = clips.copy()
    for col in ("cues", "against"):
        df[col] = df[col].fillna("").astype(str)
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    keys = [*GROUP, "method"]
    per = df.groupby([*keys, "clip_id"], sort=False, dropna=False).agg(
        value=("value", "mean"), speaker=("speaker", "first")).reset_index()
    return {k: g.set_index("clip_id") for k, g in per.groupby(keys, sort=False, dropna=False)}


def _paired(m: pd.DataFrame | None, b: pd.DataFrame | None, direction: str) -> dict[str, Any]:
    """The method's margin over the baseline, paired by clip (NaN fields without clips)."""
    if m is None or b is None:
        return {}
    both = m.merge(b, how="inner", left_index=True, right_index=True, suffixes=("", "_base"))
    if both.empty:
        return {}
    sign = 1.0 if direction == "higher" else -1.0
    e = paired_difference(sign * both["value"].to_numpy(dtype=float),
                          sign * both["value_base"].to_numpy(dtype=float),
                          both["speaker"].to_numpy())
    return {"vs_random": e.effect, "vs_random_ci_low": e.ci_low,
            "vs_random_ci_high": e.ci_high, "vs_random_p": e.p, "vs_random_n": e.n,
            "vs_random_n_clusters": e.n_clusters}


def leaderboard_table(results: pd.DataFrame, baseline: str = BASELINE,
                      clips: pd.DataFrame | None = None) -> pd.DataFrame:
    """Store results -> one row per group x method, ranked best first (rank 1 = best; ties
    share a rank). `clips`: per-clip scores (CLIP_COLUMNS, e.g. clip_values) for the paired
    margin over the baseline; without them the margin is the difference of the means."""
    if results.empty:
        return pd.DataFrame(columns=COLUMNS)
    df = results.copy()
    for col in ("cues", "against"):
        df[col] = df[col].fillna("").astype(str)
    per_clip = _clip_index(clips)
    rows = []
    for key, g in df.groupby(GROUP, sort=True, dropna=False):
        direction = str(g["direction"].iloc[0])
        if direction not in ("higher", "lower"):
            continue
        methods = [str(m) for m in g["method"]]
        means = [float(v) if v is not None else math.nan for v in g["mean"]]
        ranks = tied_ranks(means, direction)
        order = sorted(range(len(methods)), key=lambda i: ranks[i])  # stable: input order
        base = dict(zip(methods, means, strict=True)).get(baseline, math.nan)
        base_clips = per_clip.get((*key, baseline))
        by_method = g.set_index("method")
        for i in order:
            method, m = methods[i], means[i]
            row = by_method.loc[method]
            delta: dict[str, Any] = dict.fromkeys(DELTA, math.nan)
            if method != baseline:
                delta["vs_random"] = (m - base) if direction == "higher" else (base - m)
                delta.update(_paired(per_clip.get((*key, method)), base_clips, direction))
            rows.append({**{k: row[k] for k in GROUP},
                         "category": row["category"], "direction": direction,
                         "rank": ranks[i], "method": method, "mean": m,
                         "ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"]),
                         "n": int(row["n"]), **delta, "vs_random_status": None,
                         "baseline": method == baseline})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["vs_random_p_fdr"] = fdr(table["vs_random_p"].to_numpy(dtype=float))
    table["vs_random_status"] = [_status(r) for r in table.itertuples()]
    return table


def _status(r: Any) -> str | None:
    """The verdict of the one inference rule (bsx.scoring.inference) on a paired margin;
    None for the baseline and for unpaired margins (a difference of means has no test)."""
    if r.baseline or not math.isfinite(r.vs_random_p):
        return None
    e = Estimate(r.vs_random, r.vs_random_ci_low, r.vs_random_ci_high, r.vs_random_p,
                 int(r.vs_random_n), int(r.vs_random_n_clusters))
    return judge(e, r.vs_random_p_fdr).status


def clip_values(store: Any, run_id: str | None = None) -> pd.DataFrame:
    """Per-clip scores (CLIP_COLUMNS) of a run's done cells, read from each cell's
    results.parquet (its out_dir as recorded, else cells/<hash> beside the store); cells
    whose files are gone are left out (their margins fall back to unpaired)."""
    cells = store.cells(run_id if run_id is not None else store.latest_run())
    parts = []
    for c in cells.itertuples():
        if c.status != "done":
            continue
        folders = [Path(c.out_dir)] if isinstance(c.out_dir, str) and c.out_dir else []
        folders.append(Path(store.path).parent / "cells" / str(c.cell_hash))
        f = next((d / "results.parquet" for d in folders if (d / "results.parquet").is_file()),
                 None)
        if f is None:
            continue
        df = pd.read_parquet(f)
        if "speaker" not in df:
            df["speaker"] = None
        df = df[CLIP_COLUMNS[2:]]
        df.insert(0, "model", c.model)
        df.insert(0, "dataset", c.dataset)
        parts.append(df[~df["metric"].str.startswith("time-")])
    if not parts:
        return pd.DataFrame(columns=CLIP_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def from_store(store: Any, run_id: str | None = None, baseline: str = BASELINE
               ) -> pd.DataFrame:
    """The ranked table of a store's run (newest by default), margins paired by clip."""
    return leaderboard_table(store.results(run_id), baseline, clip_values(store, run_id))


def mean_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Each method's mean rank over all groups of the table (lower is better)."""
    if table.empty:
        return pd.DataFrame(columns=["method", "mean_rank", "groups"])
    g = table.groupby("method")["rank"]
    out = pd.DataFrame({"mean_rank": g.mean(), "groups": g.size()}).reset_index()
    return out.sort_values(["mean_rank", "method"]).reset_index(drop=True)


def _f(v: float) -> str:
    return num(v, missing="-")


def _ci(r: pd.Series) -> str:
    return mean_ci(r["mean"], r["ci_low"], r["ci_high"], missing="-")


def _signed(v: float) -> str:
    return signed(v, missing="-")


def _delta(r: pd.Series) -> str:
    """'+0.190 [+0.120, +0.250]': the margin over random and, when paired, its 95% CI."""
    v = float(r["vs_random"])
    if math.isnan(v):
        return ""
    lo, hi = float(r.get("vs_random_ci_low", math.nan)), float(r.get("vs_random_ci_high",
                                                                    math.nan))
    if math.isnan(lo) or math.isnan(hi):
        return _signed(v)
    status = r.get("vs_random_status")
    word = f" {STATUS_WORDS[status]}" if isinstance(status, str) else ""
    return f"{_signed(v)} [{_signed(lo)}, {_signed(hi)}]{word}"


def _metric_label(r: pd.Series) -> str:
    arrow = "↑" if r["direction"] == "higher" else "↓"
    return f"{r['metric']} {arrow}"


def _text_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, cells and 'is baseline' per row, shared by the markdown and rich renderers."""
    many = table[["dataset", "model"]].drop_duplicates().shape[0] > 1
    header = (["dataset", "model"] if many else []) + [
        "metric", "cues", "vs", "rank", "method", "mean [95% CI]", "n", "Δ random [95% CI]"]
    rows, base = [], []
    for _, r in table.iterrows():
        rows.append(([str(r["dataset"]), str(r["model"])] if many else []) + [
            _metric_label(r), r["cues"] or "", r["against"] or "", str(r["rank"]),
            r["method"] + (" (baseline)" if r["baseline"] else ""), _ci(r), str(r["n"]),
            _delta(r)])
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
    """A self-contained HTML page: the heatmap (embedded, with its legend), then the ranking,
    the random baseline in grey."""
    header, rows, base = _text_rows(table)
    esc = html.escape
    figure = "" if table.empty else (
        f"<figure><img src='{heatmap_uri(table)}' alt='leaderboard heatmap' "
        f"style='max-width:100%'><figcaption>{esc(HEATMAP_LEGEND)}</figcaption></figure>\n")
    body = "".join(
        "<tr" + (' class="baseline"' if b else "") + ">"
        + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>\n"
        for row, b in zip(rows, base, strict=True))
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{esc(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px}tr.baseline{color:#888;font-style:italic}"
        "</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n{figure}<table>\n<tr>"
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
              caption="dimmed: the random baseline; Δ random > 0: better than random "
                      "(paired by clip, speaker-clustered 95% CI)")
    if many:
        t.add_column("dataset/model", no_wrap=True)
    t.add_column("metric", overflow="fold", min_width=10)
    t.add_column("vs", overflow="fold", min_width=7)
    for h in ("#", "method", "mean", "95% CI", "n", "Δ random [95% CI]"):
        t.add_column(h, justify="left" if h == "method" else "right", no_wrap=True)
    keys = [tuple(r[k] for k in GROUP) for _, r in table.iterrows()]
    for i, (_, r) in enumerate(table.iterrows()):
        first = i == 0 or keys[i - 1] != keys[i]
        last = i + 1 == len(keys) or keys[i + 1] != keys[i]
        head = ([f"{r['dataset']}/{r['model']}" if first else ""] if many else []) + [
            _metric_label(r) if first else "", _ref(r) if first else ""]
        t.add_row(*head, str(r["rank"]), str(r["method"]), _f(r["mean"]),
                  f"{_f(r['ci_low'])}–{_f(r['ci_high'])}", str(r["n"]),
                  _delta(r), style="dim" if r["baseline"] else None,
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


def range_scores(table: pd.DataFrame) -> pd.Series:
    """Each mean's place on its metric's fixed range (the spec's bounds), turned with the
    direction so that 1 is the best end and 0 the worst; NaN for a score without a fixed
    range (or an unknown metric). One scale for every bounded score: 0.72 and 0.67 on a
    0-1 score stay 0.72 and 0.67, where min-max scaling per metric made them 1.00 and 0.41."""
    from bsx.scoring.specs import known_metric

    out = pd.Series(np.nan, index=table.index, dtype=float)
    for i, (metric, mean, direction) in enumerate(zip(
            table["metric"], table["mean"], table["direction"], strict=True)):
        spec = known_metric(str(metric))
        if spec is None or spec.bounds is None or mean is None or pd.isna(mean):
            continue
        lo, hi = spec.bounds
        pos = min(max((float(mean) - lo) / (hi - lo), 0.0), 1.0)
        out.iat[i] = pos if direction == "higher" else 1.0 - pos
    return out


def tied_with_best(table: pd.DataFrame, column: str = "column") -> pd.Series:
    """True where a method's 95% CI overlaps that of the best method of its `column` group
    (rank 1; the best itself too): within those, the data cannot order the methods. Without
    CIs, only an equal mean ties."""
    out = pd.Series(False, index=table.index)
    for _, g in table.groupby(column, sort=False):
        finite = g[g["mean"].notna()]
        if finite.empty:
            continue
        best = finite.sort_values("rank", kind="stable").iloc[0]
        blo, bhi = float(best["ci_low"]), float(best["ci_high"])
        for idx, r in finite.iterrows():
            lo, hi = float(r["ci_low"]), float(r["ci_high"])
            if any(math.isnan(v) for v in (lo, hi, blo, bhi)):
                out[idx] = float(r["mean"]) == float(best["mean"])
            else:
                out[idx] = lo <= bhi and blo <= hi
    return out


HEATMAP_CMAP = "viridis"  # perceptually uniform, readable with colour-vision deficiencies
HEATMAP_LEGEND = ("Colour: each mean on its score's fixed range (from the metric spec), "
                  "turned so that 1 (yellow) is the best end and 0 (dark blue) the worst, on "
                  "one colour scale for every score and direction; grey: a score without a "
                  "fixed range (text only). Outlined: the method's 95% CI overlaps the best "
                  "method's, so the two are not told apart by this run. Text: mean [95% CI].")


def heatmap_figure(table: pd.DataFrame) -> Any:
    """Methods (mean rank order) x metrics: colour = range_scores (viridis, 0 to 1, with a
    colour bar), outline = tied_with_best, text = mean and 95% CI (bsx.report.numbers)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    many = table[["dataset", "model"]].drop_duplicates().shape[0] > 1

    def col(r: pd.Series) -> str:
        ref = "/".join(x for x in (r["cues"], r["against"]) if x)
        arrow = "↑" if r["direction"] == "higher" else "↓"
        label = f"{r['metric']}{' (' + ref + ')' if ref else ''} {arrow}"
        return f"{r['dataset']}/{r['model']}: {label}" if many else label

    t = table.assign(column=table.apply(col, axis=1))
    t = t.assign(score=range_scores(t), tie=tied_with_best(t))
    order = mean_ranks(table)["method"].tolist()
    cols = list(dict.fromkeys(t["column"]))

    def grid(value: str) -> pd.DataFrame:
        return t.pivot(index="method", columns="column", values=value).reindex(
            index=order, columns=cols)

    score, tie = grid("score"), grid("tie")
    means, lows, highs = grid("mean"), grid("ci_low"), grid("ci_high")
    fig, ax = plt.subplots(figsize=(2.6 + 1.35 * len(cols), 1.3 + 0.62 * len(order)))
    cmap = plt.get_cmap(HEATMAP_CMAP).with_extremes(bad="#e4e4e4")
    im = ax.imshow(np.ma.masked_invalid(score.to_numpy(dtype=float)), cmap=cmap, vmin=0.0,
                   vmax=1.0, aspect="auto")
    for i in range(len(order)):
        for j in range(len(cols)):
            v = means.iat[i, j]
            if pd.isna(v):
                continue
            s = score.iat[i, j]
            text = num(v)
            if pd.notna(lows.iat[i, j]) and pd.notna(highs.iat[i, j]):
                text += f"\n[{num(lows.iat[i, j])}, {num(highs.iat[i, j])}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7.5,
                    color="white" if pd.notna(s) and s < 0.55 else "black")
            if bool(tie.iat[i, j]):
                for colour, lw in (("white", 3.2), ("black", 1.4)):
                    ax.add_patch(Rectangle((j - 0.46, i - 0.44), 0.92, 0.88, fill=False,
                                           edgecolor=colour, lw=lw, gid="tie"))
    ax.set_xticks(np.arange(len(cols)), labels=cols, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(order)), labels=order, fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("place on the score's fixed range\n(0 = worst end, 1 = best end)",
                  fontsize=8)
    ax.set_title("leaderboard: methods (mean rank order) x scores; outlined: 95% CI overlaps "
                 "the best's (a tie);\ngrey: no fixed range, text only", fontsize=9)
    return fig


def heatmap(table: pd.DataFrame, path: Path) -> Path:
    """heatmap_figure saved as a PNG."""
    import matplotlib.pyplot as plt

    fig = heatmap_figure(table)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def heatmap_uri(table: pd.DataFrame) -> str:
    """heatmap_figure as a PNG data URI, for to_html (the page stays one file)."""
    import base64
    import io

    import matplotlib.pyplot as plt

    fig = heatmap_figure(table)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

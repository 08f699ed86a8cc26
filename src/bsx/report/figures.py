"""Figures of an evaluate run, made for papers: metric comparison and cue profiles.

Every figure has labelled axes with units and the direction of a score, one colour per method
(bsx.report.palette) and says what its error bars are. `save` writes a PNG and an SVG beside
it. The *_figure functions return the matplotlib Figure (tests read its labels); the older
names (metric_comparison, cue_profile_bars) draw and save in one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bsx.report.palette import RANDOM, method_colour
from bsx.scoring.specs import known_metric

DIRECTION_TEXT = {"higher": "↑ higher is better", "lower": "↓ lower is better"}


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, dpi: int = 120) -> Path:
    """Write the figure as PNG at `path` and as SVG beside it (vector, for papers); close it."""
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    fig.savefig(path.with_suffix(".svg"))
    _plt().close(fig)
    return path


def metric_axis_label(metric: str, direction: str) -> str:
    """'share of relevance in mask (0-1)\n↑ higher is better': the unit from the spec."""
    spec = known_metric(metric)
    unit = spec.unit if spec is not None else "score"
    return f"{unit}\n{DIRECTION_TEXT.get(direction, '')}".strip()


BOUND_MARGIN = 0.04  # share of a bounded range left beside it, so points on a bound show


def bounded_ylim(ax: Any, metric: str) -> tuple[float, float] | None:
    """Fix the y axis of a bounded score to its whole range (the spec's bounds, a 4% margin
    each side): a 0.96-1.04 zoom on a 0-1 score makes one method's noise look like a
    finding. Unbounded scores keep matplotlib's range; returns the limits set, or None."""
    spec = known_metric(metric)
    if spec is None or spec.bounds is None:
        return None
    lo, hi = spec.bounds
    pad = BOUND_MARGIN * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    return lo - pad, hi + pad


def _panel_names(table: pd.DataFrame) -> pd.Series:
    """'auc\nvs expert-cues [egemaps]': the metric, then its reference and cue set."""
    against = table["against"].fillna("").astype(str)
    cues = table["cues"].fillna("").astype(str)
    second = (np.where(against != "", "vs " + against, "")
              + np.where((against != "") & (cues != ""), " ", "")
              + np.where(cues != "", "[" + cues + "]", ""))
    return table["metric"].astype(str) + np.where(second != "", "\n" + second, "")


def metric_caption(has_random: bool, short: bool = False) -> str:
    """What the metric figure draws, in words: its title (short) and report.html's caption.
    The random line is named only when the run drew one (has_random)."""
    text = "Explanation scores per method: mean with 95% bootstrap CI over clips"
    text += ("; dashed grey line: random baseline (band: its 95% CI)" if has_random
             else "; no random baseline in this run (add --method random)")
    if short:
        return text
    return (text + ". Bounded scores are drawn on their whole range (0-1 or -1 to 1); axis "
            "labels give the unit and which way is better.")


def metric_figure(table: pd.DataFrame, ncol: int = 4) -> Any:
    """One panel per metric x reference x cue set: each method's mean as a point with its 95%
    bootstrap CI, the random baseline as a grey line (its CI shaded). table: the rows of
    summary["metrics"] (method, cues, metric, against, direction, mean, ci_low, ci_high)."""
    plt = _plt()
    table = table.copy()
    table["panel"] = _panel_names(table)
    panels = list(dict.fromkeys(table["panel"]))
    methods = [m for m in dict.fromkeys(table["method"]) if m != RANDOM]
    ncol = max(1, min(ncol, len(panels)))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow + 0.9),
                             squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = table[table["panel"] == panel]
        spec = d.iloc[0]
        xs = np.arange(len(methods))
        for x, m in zip(xs, methods, strict=True):
            r = d[d["method"] == m]
            if r.empty or pd.isna(r["mean"].iloc[0]):
                continue
            mean, lo, hi = (float(r[c].iloc[0]) if pd.notna(r[c].iloc[0]) else np.nan
                            for c in ("mean", "ci_low", "ci_high"))
            err = None if np.isnan(lo) or np.isnan(hi) else [[mean - lo], [hi - mean]]
            ax.errorbar([x], [mean], yerr=err, fmt="o", color=method_colour(m), capsize=4,
                        ms=6, lw=1.5)
        base = d[d["method"] == RANDOM]
        if not base.empty and pd.notna(base["mean"].iloc[0]):
            b = base.iloc[0]
            ax.axhline(float(b["mean"]), color=method_colour(RANDOM), ls="--", lw=1.2,
                       label="random baseline")
            if pd.notna(b["ci_low"]) and pd.notna(b["ci_high"]):
                ax.axhspan(float(b["ci_low"]), float(b["ci_high"]),
                           color=method_colour(RANDOM), alpha=0.15, lw=0)
        ax.set_xticks(xs, methods, rotation=20, fontsize=8)
        ax.set_xlim(-0.6, max(len(methods) - 0.4, 0.6))
        ax.set_xlabel("method", fontsize=8)
        ax.set_ylabel(metric_axis_label(str(spec["metric"]), str(spec["direction"])),
                      fontsize=7.5)
        bounded_ylim(ax, str(spec["metric"]))
        ax.set_title(panel, fontsize=8.5)
        ax.tick_params(axis="y", labelsize=7.5)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    has_random = any(table.loc[table["method"] == RANDOM, "mean"].notna())
    fig.suptitle(metric_caption(has_random, short=True), fontsize=10)
    # fixed margins in inches (tight_layout measured every label: half the figure's time)
    width, height = 3.6 * ncol, 2.9 * nrow + 0.9
    fig.subplots_adjust(left=0.95 / width, right=1 - 0.15 / width, bottom=0.75 / height,
                        top=1 - 1.05 / height, wspace=0.5, hspace=0.8)
    return fig


def metric_comparison(table: pd.DataFrame, path: Path) -> Path | None:
    """metric_figure saved as PNG + SVG; None for an empty table."""
    if table.empty:
        return None
    return save(metric_figure(table), path, dpi=100)


def _ci95(values: np.ndarray) -> tuple[float, float, int]:
    """Mean and the half-width of its 95% CI (Student t) over finite values; n."""
    from scipy import stats

    v = values[np.isfinite(values)]
    if v.size == 0:
        return np.nan, np.nan, 0
    if v.size == 1:
        return float(v[0]), np.nan, 1
    half = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return float(v.mean()), half, int(v.size)


ERROR_BARS = "error bars: 95% CI of the mean over clips (Student t)"


def cue_profile_figure(profiles: pd.DataFrame, method: str, cues: str, ncol: int = 4) -> Any:
    """Per cue and emotion: the cue in the salient windows (the method's colour), over the
    whole clip (light grey) and over the neutral clips (dark grey); mean over clips with a 95%
    CI. Axes in the extractor's units (bsx.cues.units); titles give the tool's feature name."""
    from bsx.cues.units import cue_unit

    plt = _plt()
    df = profiles[(profiles["method"] == method) & (profiles["cues"] == cues)]
    cue_names = sorted(df["cue"].unique())
    emotions = sorted(df["label"].unique())
    neutral = df[df["label"] == "neutral"].drop_duplicates(["clip_id", "cue"])
    ncol = max(1, min(ncol, len(cue_names)))
    nrow = int(np.ceil(len(cue_names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.1 * nrow + 0.9),
                             squeeze=False)
    xs = np.arange(len(emotions))
    width = 0.27
    regions = (("salient_mean", "salient windows", method_colour(method)),
               ("whole_mean", "whole clip", "#c8c8c8"))
    for ax, cue in zip(axes.flat, cue_names, strict=False):
        d = df[df["cue"] == cue]
        for k, (col, name, colour) in enumerate(regions):
            stats = [_ci95(pd.to_numeric(d.loc[d["label"] == e, col], errors="coerce")
                           .to_numpy(dtype=float)) for e in emotions]
            ax.bar(xs + (k - 1) * width, [s[0] for s in stats], width,
                   yerr=[s[1] for s in stats], label=name, color=colour, capsize=2,
                   edgecolor="black", lw=0.4)
        nv = pd.to_numeric(neutral.loc[neutral["cue"] == cue, "whole_mean"],
                           errors="coerce").to_numpy(dtype=float)
        m, half, n = _ci95(nv)
        if n:
            ax.bar(xs + width, [m] * len(xs), width, yerr=[half] * len(xs),
                   label="neutral clips (whole)", color="#555555", capsize=2,
                   edgecolor="black", lw=0.4)
        unit = cue_unit(cues, cue)
        ax.set_title(f"{cue}\n{unit.feature}" if unit.feature else cue, fontsize=8)
        ax.set_ylabel(unit.axis(cue) if unit.unit else f"{cue} (unit unknown)", fontsize=8)
        ax.set_xlabel("emotion (true label)", fontsize=8)
        ax.set_xticks(xs, emotions, rotation=30, fontsize=7.5)
        ax.tick_params(axis="y", labelsize=7.5)
        vals = np.concatenate([pd.to_numeric(d[c], errors="coerce").to_numpy(dtype=float)
                               for c, _, _ in regions])
        if np.isfinite(vals).any() and np.nanmin(vals) > 0:
            ax.set_ylim(bottom=0)
    for ax in list(axes.flat)[len(cue_names):]:
        ax.axis("off")
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncols=3, fontsize=8, frameon=False)
    fig.suptitle(f"Cue profiles: {method}, {cues} cues. Bars: mean over clips; {ERROR_BARS}",
                 fontsize=10)
    # fixed margins in inches (tight_layout measured every label: half the figure's time)
    width, height = 3.6 * ncol, 3.1 * nrow + 0.9
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.15 / width, bottom=1.15 / height,
                        top=1 - 0.95 / height, wspace=0.45, hspace=0.85)
    return fig


def cue_profile_bars(profiles: pd.DataFrame, path: Path, method: str | None = None,
                     cues: str | None = None) -> Path | None:
    """One method x cue set's cue-profile figure, saved as PNG + SVG (None if no rows).
    Without `cues`, the first cue set of the method."""
    if profiles.empty:
        return None
    method = method or str(profiles["method"].iloc[0])
    rows = profiles[profiles["method"] == method]
    if rows.empty:
        return None
    cues = cues or str(rows["cues"].iloc[0])
    if rows[rows["cues"] == cues].empty:
        return None
    return save(cue_profile_figure(rows, method, cues), path)


def cue_profile_figures(profiles: pd.DataFrame, out: Path, method: str) -> list[Path]:
    """One figure per cue set of a method: out/cue_profile_<method>_<cues>.png (+ .svg)."""
    if profiles.empty:
        return []
    rows = profiles[profiles["method"] == method]
    paths = []
    for cues in dict.fromkeys(rows["cues"].astype(str)):
        p = cue_profile_bars(rows, Path(out) / f"cue_profile_{method}_{cues}.png", method, cues)
        if p is not None:
            paths.append(p)
    return paths

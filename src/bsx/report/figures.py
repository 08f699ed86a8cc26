"""Figures of an evaluate run: dataset-level cue profiles and per-method metric comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cue_profile_bars(profiles: pd.DataFrame, path: Path, method: str | None = None) -> Path | None:
    """Per emotion and cue: salient windows vs whole clip vs neutral clips, mean +- std over
    clips (the paper's figure, but over the dataset instead of one example)."""
    if profiles.empty:
        return None
    plt = _plt()
    method = method or str(profiles["method"].iloc[0])
    df = profiles[(profiles["method"] == method)]
    df = df[df["cues"] == df["cues"].iloc[0]]
    cues = sorted(df["cue"].unique())
    emotions = sorted(df["label"].unique())
    neutral = df[df["label"] == "neutral"].drop_duplicates(["clip_id", "cue"])
    ncol = min(4, len(cues))
    nrow = int(np.ceil(len(cues) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 3.0 * nrow), squeeze=False)
    xs = np.arange(len(emotions))
    for ax in list(axes.flat)[len(cues):]:
        ax.axis("off")
    for ax, cue in zip(axes.flat, cues, strict=False):
        d = df[df["cue"] == cue]
        for k, (col, name) in enumerate((("salient_mean", "salient"), ("whole_mean", "whole"))):
            g = d.groupby("label")[col].agg(["mean", "std"]).reindex(emotions)
            ax.bar(xs + (k - 1) * 0.27, g["mean"], 0.27, yerr=g["std"], label=name, capsize=2)
        nv = neutral[neutral["cue"] == cue]["whole_mean"]
        if len(nv):
            ax.bar(xs + 0.27, [nv.mean()] * len(xs), 0.27, yerr=[nv.std()] * len(xs),
                   label="neutral", capsize=2, alpha=0.6)
        ax.set_title(cue, fontsize=9)
        ax.set_xticks(xs, emotions, rotation=45, fontsize=7)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncols=3, fontsize=7, frameon=False)
    fig.suptitle(f"cue profiles ({method}, {df['cues'].iloc[0]})", fontsize=10)
    # fixed margins in inches: tight_layout measured every label, 40% of the figure's time
    height = 3.0 * nrow
    fig.subplots_adjust(left=0.7 / (3.4 * ncol), right=0.99, bottom=0.6 / height,
                        top=1 - 0.55 / height, wspace=0.3, hspace=0.6)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metric_comparison(table: pd.DataFrame, path: Path) -> Path | None:
    """One panel per metric (and reference): per-method mean with its 95% CI."""
    if table.empty:
        return None
    plt = _plt()
    table = table.copy()
    table["panel"] = table["metric"] + np.where(table["against"].astype(str) != "",
                                                " vs " + table["against"].astype(str), "")
    table["panel"] += np.where(table["cues"].astype(str) != "",
                               " [" + table["cues"].astype(str) + "]", "")
    panels = list(dict.fromkeys(table["panel"]))
    ncol = min(4, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol, 2.6 * nrow), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = table[table["panel"] == panel]
        err = np.vstack([d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]])
        ax.bar(d["method"], d["mean"], yerr=np.nan_to_num(err), capsize=3)
        arrow = "↑" if d["direction"].iloc[0] == "higher" else "↓"
        ax.set_title(f"{panel} {arrow}", fontsize=8)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

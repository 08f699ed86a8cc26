"""Compare the per-clip values of two evaluate runs (a before/after check of a refactor).

    python benchmarks/compare_results.py RUN_A RUN_B [--tol 0]

Joins RUN_A/results.csv and RUN_B/results.csv on clip, method, metric (and the cue set and
`against` columns, which tell apart the rows of one metric against several cue sets or mask
kinds), then prints the number of joined rows, the rows only one run has, the max absolute
difference of `value` and how many rows differ by more than --tol (NaN equals NaN). The
same for clips.csv (predictions: the p_* columns) and windows.csv (the salient windows),
where both runs have them. Exit 1 when anything differs, so a script can stop on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEYS = {
    "results.csv": ["clip_id", "method", "cues", "metric", "against"],
    "clips.csv": ["clip_id"],
    "windows.csv": ["clip_id", "method", "rank"],
}


def numeric_columns(a: pd.DataFrame, b: pd.DataFrame, name: str) -> list[str]:
    """The columns compared: `value` for results, every shared numeric column otherwise."""
    if name == "results.csv":
        return ["value"]
    shared = [c for c in a.columns if c in b.columns and c not in KEYS[name]]
    return [c for c in shared if pd.api.types.is_numeric_dtype(a[c])
            and pd.api.types.is_numeric_dtype(b[c])]


def compare_table(run_a: Path, run_b: Path, name: str, tol: float) -> bool:
    """Print the comparison of one table; True when the two runs agree on it."""
    fa, fb = run_a / name, run_b / name
    if not (fa.is_file() and fb.is_file()):
        print(f"{name}: not in both runs, skipped")
        return name != "results.csv"
    a, b = pd.read_csv(fa), pd.read_csv(fb)
    keys = [k for k in KEYS[name] if k in a.columns and k in b.columns]
    for df in (a, b):
        for k in keys:
            df[k] = df[k].fillna("").astype(str)
    dup = int(a.duplicated(keys).sum() + b.duplicated(keys).sum())
    joined = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    only_a = int((joined["_merge"] == "left_only").sum())
    only_b = int((joined["_merge"] == "right_only").sum())
    both = joined[joined["_merge"] == "both"]
    worst, n_diff = 0.0, 0
    differs = np.zeros(len(both), dtype=bool)
    compared = numeric_columns(a, b, name)
    for col in compared:
        va = both[f"{col}_a"].to_numpy(dtype=float)
        vb = both[f"{col}_b"].to_numpy(dtype=float)
        nan_a, nan_b = np.isnan(va), np.isnan(vb)
        gap = np.where(nan_a & nan_b, 0.0, np.abs(va - vb))
        gap = np.where(nan_a ^ nan_b, np.inf, gap)
        if len(gap):
            worst = max(worst, float(np.max(gap)))
        differs |= gap > tol
    n_diff = int(differs.sum())
    print(f"{name}: {len(both)} rows joined on {'/'.join(keys)}; only in A: {only_a}, "
          f"only in B: {only_b}; duplicate keys: {dup}; max abs difference: {worst:.3g}; "
          f"rows differing (> {tol:g}): {n_diff}")
    if n_diff:
        cols = keys + [f"{c}_{side}" for c in compared for side in "ab"][:6]
        print(both.loc[differs, cols].head(10).to_string(index=False))
    return only_a == only_b == n_diff == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    ap.add_argument("--tol", type=float, default=0.0, help="largest difference counted equal")
    args = ap.parse_args(argv)
    same = [compare_table(args.run_a, args.run_b, name, args.tol) for name in KEYS]
    print("identical" if all(same) else "DIFFERENT")
    return 0 if all(same) else 1


if __name__ == "__main__":
    sys.exit(main())

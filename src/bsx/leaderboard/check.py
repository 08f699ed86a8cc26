"""Regression check for CI: compare a leaderboard with a baseline, fail on worse scores.

A score regresses when it moved in its metric's worse direction by more than the tolerance
(absolute, per metric if given): for a higher-is-better metric, current < baseline - tol.
A score the baseline has and the current run lacks (or lost to NaN) is a regression too, so
a silently dropped method or metric cannot pass. New scores are reported, never a failure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bsx.errors import BsxError

KEYS = ["dataset", "model", "method", "cues", "metric", "against"]
DEFAULT_TOLERANCE = 0.05


def parse_tolerances(values: list[str] | None, default: float = DEFAULT_TOLERANCE
                     ) -> tuple[float, dict[str, float]]:
    """['0.02', 'auc=0.1'] -> (0.02, {'auc': 0.1}): a bare number sets the default."""
    overrides: dict[str, float] = {}
    for v in values or []:
        name, sep, num = v.rpartition("=")
        try:
            tol = float(num)
        except ValueError:
            raise BsxError(f"--tolerance '{v}' is not a number or METRIC=NUMBER") from None
        if tol < 0 or math.isnan(tol):
            raise BsxError(f"--tolerance '{v}' must be a number >= 0")
        if sep:
            from bsx.scoring.specs import get_metric

            overrides[get_metric(name).name] = tol
        else:
            default = tol
    return default, overrides


def load_table(path: Path | str) -> pd.DataFrame:
    """A leaderboard from a CSV or JSON file written by `show`, a store, or a run folder."""
    from bsx.leaderboard.config import STORE_NAME
    from bsx.leaderboard.show import from_store
    from bsx.leaderboard.store import Store

    path = Path(path)
    if path.is_dir():
        path = path / STORE_NAME
    if not path.is_file():
        raise BsxError(f"{path}: no such leaderboard file (a CSV or JSON from "
                       "`bsx leaderboard show`, or a leaderboard.sqlite store)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".sqlite", ".db", ".sqlite3"):
            with Store(path) as store:
                if store.latest_run() is None:
                    raise BsxError(f"{path}: holds no leaderboard run yet; run `bsx leaderboard "
                                   "run CONFIG --out DIR` first")
                return from_store(store)
        if suffix == ".csv":
            df = pd.read_csv(path, keep_default_na=False, na_values=["", "NaN", "nan"])
        elif suffix == ".json":
            df = pd.DataFrame(json.loads(path.read_text()))
        else:
            raise BsxError(f"{path}: unknown leaderboard format '{suffix}'; use .csv, .json or "
                           ".sqlite")
    except (ValueError, json.JSONDecodeError, pd.errors.ParserError) as exc:
        raise BsxError(f"{path}: cannot read it as a leaderboard ({exc})") from None
    missing = [c for c in [*KEYS, "mean", "direction"] if c not in df.columns]
    if missing:
        raise BsxError(f"{path}: missing column(s) {', '.join(missing)}; export it with "
                       "`bsx leaderboard show --format csv`")
    for col in ("cues", "against"):
        df[col] = df[col].astype("string").fillna("").astype(str)
    df["mean"] = pd.to_numeric(df["mean"], errors="coerce").astype(float)
    return df


def compare(current: pd.DataFrame, baseline: pd.DataFrame, tolerance: float = DEFAULT_TOLERANCE,
            overrides: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per baseline score: baseline, current, change (positive = better), tolerance,
    status in {'ok', 'improved', 'regressed', 'missing'}; plus 'new' rows for added scores."""
    overrides = overrides or {}
    cur = current.set_index(KEYS)["mean"]
    cur = cur[~cur.index.duplicated()]
    rows = []
    for _, b in baseline.iterrows():
        key = tuple(b[k] for k in KEYS)
        tol = overrides.get(str(b["metric"]), tolerance)
        base = float(b["mean"])
        now = float(cur.get(key, math.nan))
        if math.isnan(base):
            status, change = ("ok" if math.isnan(now) else "new"), math.nan
        elif math.isnan(now):
            status, change = "missing", math.nan
        else:
            change = now - base if b["direction"] == "higher" else base - now
            status = ("regressed" if change < -tol - 1e-12 else
                      "improved" if change > tol else "ok")
        rows.append({**dict(zip(KEYS, key, strict=True)), "direction": b["direction"],
                     "baseline": base, "current": now, "change": change, "tolerance": tol,
                     "status": status})
    known = {tuple(b[k] for k in KEYS) for _, b in baseline.iterrows()}
    for key, now in cur.items():
        if key not in known:
            rows.append({**dict(zip(KEYS, key, strict=True)), "direction": "",
                         "baseline": math.nan, "current": float(now), "change": math.nan,
                         "tolerance": math.nan, "status": "new"})
    return pd.DataFrame(rows)


def failures(diff: pd.DataFrame) -> pd.DataFrame:
    """The rows that make a check fail: regressed or missing scores."""
    if diff.empty:
        return diff
    return diff[diff["status"].isin(["regressed", "missing"])]


def to_rich(diff: pd.DataFrame, title: str) -> object:
    """A compact rich table of compared scores (worse ones in red), narrow enough for CI logs."""
    from rich.table import Table

    def f(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.3f}"

    many = diff[["dataset", "model"]].drop_duplicates().shape[0] > 1
    t = Table(title=title)
    cols = (["dataset/model"] if many else []) + [
        "method", "metric [cues/vs]", "baseline", "current", "change", "tol", "status"]
    for col in cols:
        t.add_column(col, overflow="fold",
                     justify="right" if col in ("baseline", "current", "change", "tol")
                     else "left")
    for _, r in diff.iterrows():
        bad = r["status"] in ("regressed", "missing")
        ref = "/".join(x for x in (str(r["cues"]), str(r["against"])) if x)
        t.add_row(*([f"{r['dataset']}/{r['model']}"] if many else []), str(r["method"]),
                  f"{r['metric']}" + (f" [{ref}]" if ref else ""), f(r["baseline"]),
                  f(r["current"]), "-" if math.isnan(r["change"]) else f"{r['change']:+.3f}",
                  f(r["tolerance"]), str(r["status"]), style="red" if bad else None)
    return t

"""The results store of one evaluate run: parts written as they are computed, merged at the end.

Each batch's rows go to their own Parquet part, written to a temp file and renamed, so a
killed run (Ctrl-C, OOM) leaves only whole parts behind and `--resume` skips the clips they
hold. `finalize` merges the parts into results.parquet and results.csv, and moves the
per-stage timing rows ("time-*" metrics) into timings.csv: a table of scores is not the place
for seconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bsx.errors import BsxError


class ResultWriter:
    """Append-only parts under out/parts/; tables: 'results' (long rows), 'profiles',
    'windows', 'clips'. corpus_root: the dataset's folder; results.csv and clips.csv name
    each clip's file relative to it (the Parquet files keep the absolute path the report
    reads the audio from)."""

    def __init__(self, out: Path, *, resume: bool, corpus_root: Path | None = None) -> None:
        self.out = Path(out)
        self.corpus_root = corpus_root
        self.parts = self.out / "parts"
        if not resume and self.parts.exists():
            for f in self.parts.glob("*.parquet"):
                f.unlink()
        self.parts.mkdir(parents=True, exist_ok=True)
        done = {_number(f) for f in self.parts.glob("clips-*.parquet")}
        self._n = max(done, default=0)
        if resume:
            self._drop_unfinished(done)

    def _drop_unfinished(self, done: set[int]) -> None:
        """Remove what a killed run left of batches it did not finish: temp files, and parts
        whose batch has no 'clips' part (written last); their clips are redone."""
        for f in self.parts.glob(".*.tmp"):
            f.unlink(missing_ok=True)
        for f in self.parts.glob("*-*.parquet"):
            if _number(f) >= 0 and _number(f) not in done:
                f.unlink(missing_ok=True)

    def done_clips(self) -> set[str]:
        """Clip ids whose batch was completely written (the 'clips' part is written last)."""
        frames = [_read_part(f, columns=["clip_id"])
                  for f in sorted(self.parts.glob("clips-*.parquet"))]
        return set(pd.concat(frames)["clip_id"]) if frames else set()

    def write_batch(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Write one batch's tables atomically; 'clips' last marks the batch as done."""
        self._n += 1
        for name in sorted(tables, key=lambda n: n == "clips"):
            rows = tables[name]
            if not rows:
                continue
            path = self.parts / f"{name}-{self._n:06d}.parquet"
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            pq.write_table(_arrow(rows), tmp)
            os.replace(tmp, path)

    def read(self, name: str) -> pd.DataFrame:
        """All parts of one table as one frame (columns a part lacks are filled with nulls)."""
        parts = [_read_part(f, table=True) for f in sorted(self.parts.glob(f"{name}-*.parquet"))]
        parts = [t for t in parts if t.num_rows]
        if not parts:
            return pd.DataFrame()
        return pa.concat_tables(parts, promote_options="permissive").to_pandas()

    def finalize(self, extra_results: Iterable[dict[str, Any]] = (), *,
                 tables: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
        """Merge parts into out/results.{parquet,csv}, out/profiles.parquet, out/clips.csv and
        out/windows.csv (salient windows on the original timeline, per clip and method).
        `tables`: parts the caller has read already (by name), not read again."""
        results = self.read("results")
        extra = pd.DataFrame(list(extra_results))
        if not extra.empty:
            results = pd.concat([results, extra], ignore_index=True)
        results, stage_rows = split_timings(results)
        timings = timings_table(results, stage_rows)
        if not timings.empty:
            timings.to_csv(self.out / "timings.csv", index=False)
        have = tables or {}
        tables = {"results": results, "timings": timings,
                  **{name: have[name] if name in have else self.read(name)
                     for name in ("profiles", "clips", "windows")}}
        if not results.empty:
            results.to_parquet(self.out / "results.parquet", index=False)
            relative_paths(results, self.corpus_root).to_csv(self.out / "results.csv",
                                                              index=False)
        if not tables["profiles"].empty:
            tables["profiles"].to_parquet(self.out / "profiles.parquet", index=False)
        if not tables["clips"].empty:
            relative_paths(tables["clips"], self.corpus_root).to_csv(self.out / "clips.csv",
                                                                      index=False)
        if not tables["windows"].empty:
            tables["windows"].to_csv(self.out / "windows.csv", index=False)
        return tables


def _number(part: Path) -> int:
    """The batch number of a part (results-000007.parquet: 7; -1 for a foreign name)."""
    number = part.stem.rsplit("-", 1)[-1]
    return int(number) if number.isdigit() else -1


def _read_part(path: Path, *, columns: list[str] | None = None, table: bool = False) -> Any:
    """One part (a pyarrow Table, or a frame of `columns`); BsxError naming it when damaged."""
    try:
        t = pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError, KeyError) as exc:  # ArrowInvalid: not Parquet, cut
        batch = f"{path.parent}/*-{_number(path):06d}.parquet"
        raise BsxError(
            f"{path}: a damaged results part ({' '.join(str(exc).split())[:120]}); delete "
            f"{batch} to redo that batch with --resume, or start again with --overwrite"
        ) from None
    return t if table else t.to_pandas()


TIME_PREFIX = "time-"


def relative_paths(table: pd.DataFrame, root: Path | None) -> pd.DataFrame:
    """The table with its `path` column relative to the corpus root (POSIX separators), so a
    CSV names 'Actor_01/03-01-05-01-01-01-01.wav', not a cache folder of one machine; a path
    outside the root (or without a root) stays as it is."""
    if root is None or table.empty or "path" not in table:
        return table
    base = Path(root).expanduser().resolve()

    def rel(p: object) -> object:
        if not isinstance(p, str) or not p:
            return p
        try:
            return Path(p).expanduser().resolve().relative_to(base).as_posix()
        except ValueError:
            return p

    unique = {p: rel(p) for p in table["path"].dropna().unique()}
    return table.assign(path=table["path"].map(lambda p: unique.get(p, p)))


def split_timings(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(score rows, per-stage timing rows): rows whose metric starts with "time-" are the
    seconds a stage cost, not scores."""
    if results.empty or "metric" not in results:
        return results, pd.DataFrame()
    is_time = results["metric"].astype(str).str.startswith(TIME_PREFIX)
    return (results[~is_time].reset_index(drop=True),
            results[is_time].reset_index(drop=True))


def timings_table(results: pd.DataFrame, stage_rows: pd.DataFrame) -> pd.DataFrame:
    """timings.csv: one row per method x cue set x stage or metric, with mean seconds per
    clip, the clips measured and the total. Stages (attribution, cue extraction) come from
    the "time-*" rows; each metric's own cost from its rows' `seconds`."""
    frames = []
    if not stage_rows.empty:
        st = stage_rows.assign(kind="stage",
                               step=stage_rows["metric"].str.removeprefix(TIME_PREFIX))
        frames.append(st)
    if not results.empty and "seconds" in results:
        frames.append(results.assign(kind="metric", step=results["metric"]))
    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    df["cues"] = df["cues"].fillna("").astype(str) if "cues" in df else ""
    per_clip = df.drop_duplicates(["kind", "step", "method", "cues", "clip_id"])
    out = (per_clip.groupby(["kind", "step", "method", "cues"], sort=False)["seconds"]
           .agg(seconds_per_clip="mean", clips="count", total_s="sum").reset_index())
    order = out["kind"].map({"stage": 0, "metric": 1})
    return (out.assign(_o=order).sort_values(["_o", "method", "cues", "step"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


def _arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows -> an Arrow table, straight (3x faster than through a DataFrame); a key some rows
    lack becomes a column with nulls there, as in pandas."""
    first = rows[0].keys()
    if all(r.keys() == first for r in rows):
        return pa.Table.from_pylist(rows)
    keys = dict.fromkeys(k for r in rows for k in r)
    return pa.table({k: [r.get(k) for r in rows] for k in keys})

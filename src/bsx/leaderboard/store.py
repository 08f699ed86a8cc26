"""The leaderboard results store: one SQLite file that many runs append to safely.

SQLite in WAL mode lets readers go on while one writer writes; a busy timeout makes writers
wait for each other instead of failing, and every change is one `BEGIN IMMEDIATE`
transaction, so a killed process leaves either all of a cell's rows or none. A cell is marked
'done' in the same transaction that inserts its results: a done cell always has its scores.

Every sqlite failure while opening (not a database, truncated, a folder) is one BsxError
naming the file. A run records its host and pid; a store opened on that host marks a 'running'
run whose process is gone as 'killed' (and its running cells as failed), so a kill -9 does not
leave a run 'running' forever.

Schema (PRAGMA user_version = 2; version 1 lacked runs.pid and the 'killed' status):
    runs(run_id, name, config_path, config_hash, bsx_version, executor, workers, host,
         started, finished, status, pid)
    cells(cell_hash, dataset, model, method, config_json, status, run_id, out_dir, started,
          finished, seconds, n_clips, accuracy, uar, error)
    run_cells(run_id, cell_hash, cached)                 which cells make up a run
    results(run_id, cell_hash, dataset, model, method, cues, metric, against, mean, ci_low,
            ci_high, n, direction, category)             one row per cell x cue set x metric
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bsx.errors import BsxError

SCHEMA_VERSION = 2
RESULT_KEYS = ("dataset", "model", "method", "cues", "metric", "against")
RESULT_COLUMNS = ("run_id", "cell_hash", *RESULT_KEYS, "mean", "ci_low", "ci_high", "n",
                  "direction", "category")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    config_path TEXT,
    config_hash TEXT NOT NULL,
    bsx_version TEXT NOT NULL,
    executor TEXT,
    workers INTEGER,
    host TEXT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'killed')),
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS cells (
    cell_hash TEXT PRIMARY KEY,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    method TEXT NOT NULL,
    config_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    run_id TEXT,
    out_dir TEXT,
    started TEXT,
    finished TEXT,
    seconds REAL,
    n_clips INTEGER,
    accuracy REAL,
    uar REAL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS run_cells (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    cell_hash TEXT NOT NULL REFERENCES cells(cell_hash),
    cached INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, cell_hash)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    cell_hash TEXT NOT NULL REFERENCES cells(cell_hash),
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    method TEXT NOT NULL,
    cues TEXT NOT NULL,
    metric TEXT NOT NULL,
    against TEXT NOT NULL,
    mean REAL,
    ci_low REAL,
    ci_high REAL,
    n INTEGER NOT NULL,
    direction TEXT NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (cell_hash, method, cues, metric, against)
);
CREATE INDEX IF NOT EXISTS results_by_metric ON results(metric, dataset, model);
"""

# Version 1 -> 2: the runs table gains pid and the 'killed' status (a CHECK constraint cannot
# be altered in SQLite, so the table is rebuilt, foreign keys off, as SQLite's ALTER TABLE
# documentation describes: new table, copy, drop the old, rename the new).
_MIGRATE_1_TO_2 = """
{runs};
INSERT INTO runs_v2 (run_id, name, config_path, config_hash, bsx_version, executor, workers,
                     host, started, finished, status)
    SELECT run_id, name, config_path, config_hash, bsx_version, executor, workers, host,
           started, finished, status FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v2 RENAME TO runs
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _num(v: Any) -> float | None:
    """SQLite has no NaN: store it as NULL, read NULL back as NaN."""
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


class Store:
    """A leaderboard store at `path`; safe to open from many processes at once."""

    def __init__(self, path: Path | str, *, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise BsxError(f"{self.path}: is a folder, not a leaderboard store; pass the "
                           "leaderboard.sqlite file inside it or its --out folder")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._timeout = timeout_s
        try:
            self._con = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise BsxError(f"{self.path}: cannot open the leaderboard store ({exc})") from None
        try:
            self._open()
        except sqlite3.Error as exc:
            self._con.close()
            raise BsxError(
                f"{self.path}: not a readable leaderboard store ({exc}); move it away to "
                "start a new one") from None
        except BaseException:
            self._con.close()
            raise

    def _open(self) -> None:
        """Check the file is an intact store, create or upgrade the schema, mark dead runs."""
        self._con.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        check = self._con.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else 'no answer'}")
        self._retry(lambda: self._con.execute("PRAGMA journal_mode = WAL"))
        self._con.execute("PRAGMA synchronous = NORMAL")
        version = self._con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise BsxError(f"{self.path}: written by a newer bsx (store schema {version}); "
                           "upgrade bsx to read it")
        if version < SCHEMA_VERSION:
            runs_ddl = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS runs"):
                               _SCHEMA.index(");") + 1].replace(" runs ", " runs_v2 ", 1)
            with self.transaction() as con:
                if version == 1:
                    for stmt in _MIGRATE_1_TO_2.format(runs=runs_ddl).split(";"):
                        if stmt.strip():
                            con.execute(stmt)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        con.execute(stmt)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._con.execute("PRAGMA foreign_keys = ON")
        self.mark_killed_runs()

    def mark_killed_runs(self) -> list[str]:
        """Mark this host's 'running' runs whose process is gone as 'killed' (their running
        cells as failed, so the next run computes them again); return their ids."""
        host = socket.gethostname()
        rows = self._con.execute("SELECT run_id, pid FROM runs WHERE status = 'running' AND "
                                 "host = ? AND pid IS NOT NULL", (host,)).fetchall()
        dead = [run_id for run_id, pid in rows if not _pid_alive(int(pid))]
        if dead:
            with self.transaction() as con:
                for run_id in dead:
                    con.execute("UPDATE runs SET status = 'killed', finished = ? WHERE "
                                "run_id = ? AND status = 'running'", (_now(), run_id))
                    con.execute("UPDATE cells SET status = 'failed', finished = ?, error = ? "
                                "WHERE run_id = ? AND status = 'running'",
                                (_now(), "the run was killed before the cell finished",
                                 run_id))
        return dead

    def _retry(self, fn: Any) -> Any:
        """Retry statements SQLite refuses while another process holds a lock it cannot wait
        on (switching to WAL, or a deadlock broken with SQLITE_BUSY)."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error): one writer at a time, all or nothing."""
        self._retry(lambda: self._con.execute("BEGIN IMMEDIATE"))
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._retry(lambda: self._con.execute("COMMIT"))

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, *, name: str, config_hash: str, config_path: str = "",
                  executor: str = "", workers: int = 1) -> str:
        """Record a new run and return its id."""
        from bsx import __version__

        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, name, config_path, config_hash, bsx_version, "
                "executor, workers, host, started, status, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, name, config_path, config_hash, __version__, executor, workers,
                 socket.gethostname(), _now(), "running", os.getpid()))
        return run_id

    def finish_run(self, run_id: str, status: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET finished = ?, status = ? WHERE run_id = ?",
                        (_now(), status, run_id))

    def runs(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM runs ORDER BY started, rowid", self._con)

    def latest_run(self) -> str | None:
        row = self._con.execute("SELECT run_id FROM runs ORDER BY started DESC, rowid DESC "
                                "LIMIT 1").fetchone()
        return row[0] if row else None

    # -- cells -------------------------------------------------------------------------------

    def add_cells(self, run_id: str, cells: Iterable[Any]) -> set[str]:
        """Register a run's cells (Cell objects); return the hashes already done (cached)."""
        done: set[str] = set()
        with self.transaction() as con:
            for c in cells:
                con.execute(
                    "INSERT OR IGNORE INTO cells (cell_hash, dataset, model, method, "
                    "config_json, status) VALUES (?,?,?,?,?,'pending')",
                    (c.hash, c.dataset, c.model, c.method, c.config.model_dump_json()))
                status = con.execute("SELECT status FROM cells WHERE cell_hash = ?",
                                     (c.hash,)).fetchone()[0]
                cached = status == "done"
                if cached:
                    done.add(c.hash)
                    # labels may have been renamed in the config: follow the newest names
                    con.execute("UPDATE results SET dataset = ?, model = ? WHERE cell_hash = ?",
                                (c.dataset, c.model, c.hash))
                    con.execute("UPDATE cells SET dataset = ?, model = ? WHERE cell_hash = ?",
                                (c.dataset, c.model, c.hash))
                con.execute("INSERT OR REPLACE INTO run_cells (run_id, cell_hash, cached) "
                            "VALUES (?,?,?)", (run_id, c.hash, int(cached)))
        return done

    def start_cell(self, cell_hash: str, run_id: str, out_dir: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE cells SET status = 'running', run_id = ?, out_dir = ?, "
                        "started = ?, error = NULL WHERE cell_hash = ? AND status != 'done'",
                        (run_id, out_dir, _now(), cell_hash))

    def finish_cell(self, cell: Any, run_id: str, summary: Mapping[str, Any],
                    seconds: float) -> None:
        """Insert a cell's scores from its evaluate summary and mark it done, atomically."""
        rows = summary_rows(summary)
        model = summary.get("model") or {}
        with self.transaction() as con:
            con.execute("DELETE FROM results WHERE cell_hash = ?", (cell.hash,))
            con.executemany(
                "INSERT INTO results (run_id, cell_hash, dataset, model, method, cues, metric, "
                "against, mean, ci_low, ci_high, n, direction, category) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, cell.hash, cell.dataset, cell.model, r["method"], r["cues"],
                  r["metric"], r["against"], _num(r["mean"]), _num(r["ci_low"]),
                  _num(r["ci_high"]), int(r["n"]), r["direction"], r["category"])
                 for r in rows])
            con.execute(
                "UPDATE cells SET status = 'done', run_id = ?, finished = ?, seconds = ?, "
                "n_clips = ?, accuracy = ?, uar = ?, error = NULL WHERE cell_hash = ?",
                (run_id, _now(), seconds, summary.get("n_clips"), _num(model.get("accuracy")),
                 _num(model.get("uar")), cell.hash))

    def fail_cell(self, cell_hash: str, error: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE cells SET status = 'failed', finished = ?, error = ? "
                        "WHERE cell_hash = ? AND status != 'done'",
                        (_now(), error[:2000], cell_hash))

    def cells(self, run_id: str | None = None) -> pd.DataFrame:
        """Every cell in the store, or the cells of one run (with a 'cached' flag)."""
        if run_id is None:
            df = pd.read_sql_query("SELECT * FROM cells ORDER BY rowid", self._con)
        else:
            df = pd.read_sql_query(
                "SELECT c.*, rc.cached FROM cells c JOIN run_cells rc USING (cell_hash) "
                "WHERE rc.run_id = ? ORDER BY c.rowid", self._con, params=(run_id,))
        for col in ("seconds", "accuracy", "uar"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        return df

    # -- results -----------------------------------------------------------------------------

    def results(self, run_id: str | None = None, *, latest: bool = True) -> pd.DataFrame:
        """Scores of one run's cells (the newest run by default), computed or cached.

        latest=False with run_id None: every done cell in the store.
        """
        if run_id is None and latest:
            run_id = self.latest_run()
        if run_id is None:
            df = pd.read_sql_query("SELECT * FROM results", self._con)
        else:
            df = pd.read_sql_query(
                "SELECT r.* FROM results r JOIN run_cells rc USING (cell_hash) "
                "JOIN cells c USING (cell_hash) WHERE rc.run_id = ? AND c.status = 'done'",
                self._con, params=(run_id,))
        for col in ("mean", "ci_low", "ci_high"):
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        return df


def summary_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-method metric rows of an evaluate summary, with '' for missing cue/reference."""
    out = []
    for r in summary.get("metrics") or []:
        out.append({"method": r["method"], "cues": r.get("cues") or "",
                    "metric": r["metric"], "against": r.get("against") or "",
                    "mean": r.get("mean"), "ci_low": r.get("ci_low"),
                    "ci_high": r.get("ci_high"), "n": int(r.get("n") or 0),
                    "direction": r.get("direction") or "", "category": r.get("category") or ""})
    return out

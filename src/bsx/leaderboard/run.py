"""Run a leaderboard: every cell of the grid through the evaluate engine, cached by content.

Each cell writes its evaluate outputs to out/cells/<cell_hash>/ and its scores to the store
out/leaderboard.sqlite. A cell already 'done' in the store under the same hash is not run
again; a cell that crashed or was killed is run again and the engine resumes it from the
batches it had written. A cell counts as done only once its scores are in the store.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsx.errors import BsxError
from bsx.evaluation.config import EvalConfig
from bsx.leaderboard.config import STORE_NAME, Cell, load_config
from bsx.leaderboard.executors import make_executor
from bsx.leaderboard.store import Store
from bsx.locks import hold_folder

CellRunner = Callable[[EvalConfig, Path], dict[str, Any]]


@dataclass
class RunReport:
    """What a leaderboard run did: computed, cached (skipped) and failed cells."""

    run_id: str
    store: Path
    computed: list[Cell] = field(default_factory=list)
    cached: list[Cell] = field(default_factory=list)
    failed: list[tuple[Cell, str]] = field(default_factory=list)
    warnings: list[tuple[Cell, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def evaluate_runner(cfg: EvalConfig, out: Path) -> dict[str, Any]:
    """The default cell runner: bsx.evaluation.run_evaluation, resuming what the cell wrote."""
    from bsx.evaluation import run_evaluation

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_evaluation(cfg, out, resume=True, progress=False)
    summary["warnings"] = cell_warnings(caught)
    return summary


def cell_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    """A cell's own warnings (bsx's, e.g. "Quantus refused the batch", dropped labels), each
    once, as lines for the run to print; the libraries' warnings are left out."""
    from bsx.errors import warning_line

    lines = [warning_line(w.message, w.filename) for w in caught]
    return list(dict.fromkeys(line.removeprefix("warning: ") for line in lines if line))


def run_cell(cfg_json: str, out_dir: str, runner: CellRunner | None = None
             ) -> tuple[dict[str, Any], float]:
    """One cell in a worker: (evaluate summary, seconds). Module level, so it pickles."""
    cfg = EvalConfig.model_validate_json(cfg_json)
    t0 = time.perf_counter()
    summary = (runner or evaluate_runner)(cfg, Path(out_dir))
    return summary, time.perf_counter() - t0


def _warm_datasets(cells: list[Cell]) -> None:
    """Build each dataset once here, so parallel cells do not generate or index it at once."""
    from bsx.plugins import build

    seen: set[str] = set()
    for c in cells:
        cfg = c.config
        key = f"{cfg.dataset}|{cfg.data_root}|{sorted(cfg.dataset_options.items())}"
        if key in seen:
            continue
        seen.add(key)
        options = dict(cfg.dataset_options)
        if cfg.data_root is not None:
            options["data_root"] = cfg.data_root
        build("dataset", cfg.dataset, options=options).clips()


def run_leaderboard(config_path: Path | str, out: Path | str, executor: str = "local",
                    workers: int = 2, *, runner: CellRunner | None = None,
                    progress: bool = True) -> RunReport:
    """Evaluate every cell of the grid in `config_path` into `out`; return what happened.

    runner replaces the evaluate engine (tests inject a fake or a counting one); it must be
    picklable (a module-level function) for a process pool or Ray.
    """
    board = load_config(config_path)
    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    with hold_folder(out, "bsx leaderboard"):
        return _run_board(board, config_path, out, executor, workers, runner, progress)


def _run_board(board: Any, config_path: Path | str, out: Path, executor: str, workers: int,
               runner: CellRunner | None, progress: bool) -> RunReport:
    ex = make_executor(executor, workers)
    store = Store(out / STORE_NAME)
    try:
        run_id = store.start_run(name=board.name, config_hash=board.config_hash,
                                 config_path=str(Path(config_path).resolve()),
                                 executor=executor, workers=workers)
        done = store.add_cells(run_id, board.cells)
        report = RunReport(run_id=run_id, store=store.path,
                           cached=[c for c in board.cells if c.hash in done])
        todo = [c for c in board.cells if c.hash not in done]
        if todo and runner is None and (workers > 1 or executor != "local"):
            _warm_datasets(todo)
        jobs = []
        for c in todo:
            cell_out = out / "cells" / c.hash
            store.start_cell(c.hash, run_id, str(cell_out))
            jobs.append((c.config.model_dump_json(), str(cell_out), runner))
        with _progress(progress) as bar:
            task = bar.add_task("leaderboard cells", total=len(board.cells),
                                completed=len(report.cached))
            for i, result, error in ex.run(run_cell, jobs):
                cell = todo[i]
                if error is not None:
                    msg = str(error) if isinstance(error, BsxError) else _bug(error, jobs[i][1])
                    store.fail_cell(cell.hash, msg)
                    report.failed.append((cell, msg))
                else:
                    summary, seconds = result
                    report.warnings += [(cell, w) for w in summary.get("warnings") or []]
                    store.finish_cell(cell, run_id, summary, seconds)
                    report.computed.append(cell)
                bar.advance(task)
        store.finish_run(run_id, "failed" if report.failed else "done")
        _export(store, run_id, out)
        return report
    finally:
        store.close()


def _bug(error: BaseException, cell_out: str) -> str:
    """A cell's internal error as one line, its traceback kept in a log in the cell's folder."""
    from bsx.crash import keep_traceback

    log = keep_traceback(error, Path(cell_out))
    detail = " ".join(str(error).split())
    where = f" (internal error; traceback in {log})" if log else " (internal error)"
    return f"{type(error).__name__}: {detail}{where}"


def _export(store: Store, run_id: str, out: Path) -> None:
    """out/leaderboard.csv: the ranked table of this run, a ready baseline for `check`."""
    from bsx.leaderboard.show import from_store

    table = from_store(store, run_id)
    if not table.empty:
        table.to_csv(out / "leaderboard.csv", index=False)


def _progress(enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bsx.progress import stderr

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr(), disable=not enabled)

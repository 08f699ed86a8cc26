"""bsx's one kind of worker pool: spawn-started process pools, kept across calls by key.

Every worker
- ends when its parent ends, whatever ended it (kill -9 included): a daemon thread polls the
  parent pid and exits the worker when the worker is orphaned, so no cue worker, prepare
  worker or leaderboard cell keeps computing under PID 1 (and multiprocessing's
  resource_tracker, whose pipe the workers hold, ends with them);
- ignores SIGINT: Ctrl-C in a terminal reaches the whole process group, and the parent alone
  decides what an interrupt means (it keeps what was written and says so);
- starts with "spawn" (forking a process that holds torch's or the cue pool's threads can
  deadlock; BSX_MP_START=fork|forkserver picks another start method for the kept pools).
A kept pool whose worker died is replaced on the next call, not reused.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PARENT_POLL_S = 0.25

_POOLS: dict[Hashable, ProcessPoolExecutor] = {}


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(PARENT_POLL_S)


def guard_worker(parent: int) -> None:
    """In a worker: exit when `parent` is gone, ignore Ctrl-C, warnings as one line each."""
    from bsx.errors import install_warning_lines

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    install_warning_lines()
    if os.getppid() != parent:  # the parent died while this worker started
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="bsx-parent-watch").start()


def _init(parent: int, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    guard_worker(parent)
    if initializer is not None:
        initializer(*initargs)


def new_pool(workers: int, initializer: Callable[..., Any] | None = None,
             initargs: tuple[Any, ...] = (), start: str | None = None) -> ProcessPoolExecutor:
    """A fresh pool of guarded workers (the caller owns it and shuts it down)."""
    ctx = mp.get_context(start or os.environ.get("BSX_MP_START", "spawn"))
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                               initargs=(os.getpid(), initializer, initargs))


def kept_pool(key: Hashable, workers: int, initializer: Callable[..., Any] | None = None,
              initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """The pool kept under `key` (a spawned worker pays its imports once per process), or a
    new one when there is none or its worker died."""
    pool = _POOLS.get(key)
    if pool is None or getattr(pool, "_broken", False):
        pool = _POOLS[key] = new_pool(workers, initializer, initargs)
    return pool


def shutdown_pools() -> None:
    """Stop every kept pool (also run at exit)."""
    for pool in _POOLS.values():
        pool.shutdown(cancel_futures=True)
    _POOLS.clear()


atexit.register(shutdown_pools)

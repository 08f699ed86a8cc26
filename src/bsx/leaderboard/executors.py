"""Where leaderboard cells run: in this process, a local process pool, or Ray tasks.

Every executor takes a picklable function and a list of jobs (tuples of its arguments) and
yields (index, result, error) as cells finish, in completion order, so the caller can store
each cell the moment it is done. A cell's error is returned, never raised: one broken cell
must not lose the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from typing import Any, Protocol

from bsx.errors import BsxError
from bsx.pool import new_pool

Outcome = tuple[int, Any, BaseException | None]
EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs fn(*job) for every job; yields (job index, result, error) as each finishes."""

    name: str

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> Iterator[Outcome]:
        ...


def _init_worker(threads: int) -> None:
    """Each worker gets its share of the cores, so 2 workers do not fight over 2 cores."""
    # Spawned workers import torch later, inside the cell; torch reads these at import.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)


class InlineExecutor:
    """One cell after another in this process (local executor with one worker)."""

    name = "inline"

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> Iterator[Outcome]:
        for i, job in enumerate(jobs):
            try:
                result = fn(*job)
            except Exception as exc:  # the cell failed: handed on whole, the run records it
                yield i, None, exc
            else:
                yield i, result, None


class LocalExecutor:
    """A process pool over the machine's cores (bsx.pool: spawned workers, since torch is not
    fork-safe once its thread pool has started; they end with this process, even on kill -9)."""

    name = "local"

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise BsxError(f"--workers must be at least 1, not {workers}")
        self.workers = workers

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> Iterator[Outcome]:
        if self.workers == 1 or len(jobs) <= 1:
            yield from InlineExecutor().run(fn, jobs)
            return
        n = min(self.workers, len(jobs))
        threads = max(1, (os.cpu_count() or 1) // n)
        with new_pool(n, _init_worker, (threads,), start="spawn") as pool:
            futures: dict[Future[Any], int] = {pool.submit(fn, *job): i
                                               for i, job in enumerate(jobs)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    exc = f.exception()
                    yield futures[f], (None if exc else f.result()), exc


class RayExecutor:
    """Cells as Ray tasks: one GPU per task when the cluster has GPUs, else one CPU.

    Connects to RAY_ADDRESS when set (a cluster; cells then need a shared file system for
    --out), else starts a local Ray instance with `workers` CPUs and stops it afterwards.
    An already initialised Ray (ray.init by the caller) is used as it is.
    """

    name = "ray"

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> Iterator[Outcome]:
        with ray_session(self.workers) as ray:
            gpus = float(ray.cluster_resources().get("GPU", 0))
            task = ray.remote(num_cpus=1, num_gpus=1 if gpus >= 1 else 0, max_retries=0)(fn)
            refs = {task.remote(*job): i for i, job in enumerate(jobs)}
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # the cell failed: handed on, the run records it
                        yield refs[ref], None, unwrap(exc)
                    else:
                        yield refs[ref], result, None


@contextmanager
def ray_session(cpus: int) -> Iterator[Any]:
    """The ray module, connected: to RAY_ADDRESS when set (a cluster), else to a local Ray
    started with `cpus` CPUs and stopped afterwards; an already initialised Ray (ray.init by
    the caller) is used as it is and left running."""
    try:
        import ray
    except ImportError:
        raise BsxError("the ray executor needs Ray: pip install 'bsx[ray]'") from None
    owned = False
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        owned = True
    try:
        yield ray
    finally:
        if owned:
            ray.shutdown()


def unwrap(exc: BaseException) -> BaseException:
    """The cell's own exception out of Ray's RayTaskError wrapper, when Ray kept it."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def make_executor(name: str, workers: int = 2) -> Executor:
    """'local' (process pool, inline with one worker) or 'ray'."""
    if workers < 1:
        raise BsxError(f"--workers must be at least 1, not {workers}")
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(workers)
    raise BsxError(f"--executor '{name}' is not one of: {', '.join(EXECUTORS)}")

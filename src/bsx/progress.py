"""Progress and status lines from deep inside a run, without threading a callback through it.

The CLI opens one `reporting(console)` around a command; code anywhere below (synth corpus
generation, model loading, the engine's batch loop) calls `status(text)` or `task(text,
total)`, which show in that one rich display, and do nothing when no CLI is listening (library
use, tests, worker processes). One display, because rich allows only one live display per
console: the engine's own progress bar borrows it through `active()`.

Library code never imports the CLI: a line for the user (a fold started, a shard finished) goes
through `note(text)` and a bar of its own is drawn on `stderr()`, the one stderr console the
CLI prints its messages on too, so bars and lines never fight over the terminal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current: ContextVar[Reporter | None] = ContextVar("bsx_reporter", default=None)


class Reporter:
    """A rich Progress holding one status line (a spinner) and any number of bars."""

    def __init__(self, console: Any, enabled: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=console,
                                 disable=not enabled, transient=False)
        self._status: Any = None

    def status(self, text: str) -> None:
        """Show `text` on the status line (replacing the previous one)."""
        if self._status is None:
            self._status = self.progress.add_task(text, total=None)
        else:
            self.progress.update(self._status, description=text)

    def clear_status(self) -> None:
        """Remove the status line (the work it announced has its own bar now)."""
        if self._status is not None:
            self.progress.remove_task(self._status)
            self._status = None

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """A bar of `total` steps; returns advance(n)."""
        tid = self.progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            self.progress.advance(tid, n)

        return advance

    @contextmanager
    def borrowed(self) -> Iterator[Any]:
        """The live Progress for a caller that would open its own (the engine's bar): entering
        clears the status line, leaving does not stop the display."""
        self.clear_status()
        yield self.progress


def active() -> Reporter | None:
    """The reporter the CLI opened for this command, if any."""
    return _current.get()


@functools.cache
def stderr() -> Any:
    """The process's one rich console on stderr: messages, warnings and progress bars."""
    from rich.console import Console

    return Console(stderr=True)


def note(text: str) -> None:
    """A line for the user on stderr (e.g. 'fold 2/10: ...'), printed above any live bar.

    Library code calls it only where its caller asked for progress; the CLI's reporter, when
    one is open, prints it on its own console."""
    rep = _current.get()
    (rep.progress.console if rep is not None else stderr()).print(text)


def status(text: str) -> None:
    """Announce what happens now (e.g. 'loading the model'); a no-op without a reporter."""
    rep = _current.get()
    if rep is not None:
        rep.status(text)


def task(description: str, total: int) -> Callable[[int], None]:
    """A progress bar of `total` steps; returns advance(n) (a no-op without a reporter)."""
    rep = _current.get()
    if rep is None:
        return _nothing
    return rep.task(description, total)


def _nothing(n: int = 1) -> None:
    """advance() when nobody listens."""


@contextmanager
def reporting(console: Any, enabled: bool = True, first: str = "starting") -> Iterator[Reporter]:
    """Open the display for one command, with `first` on the status line at once."""
    rep = Reporter(console, enabled)
    token = _current.set(rep)
    rep.progress.start()
    rep.status(first)
    try:
        yield rep
    finally:
        rep.clear_status()
        rep.progress.stop()
        _current.reset(token)

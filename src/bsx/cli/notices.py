"""Warning lines printed the moment they are raised, one line each, above any progress bar.

A run's warnings (a model trained on another corpus, a front-end that drops speech, clips too
short to explain) matter before the results, so they are not collected for the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def printed_warnings(console: Any) -> Iterator[None]:
    """Inside the block, bsx's UserWarnings print as 'warning: ...' on `console` (each
    message once); other libraries' warnings keep Python's default handling."""
    seen: set[str] = set()
    default = warnings.showwarning

    def show(message: Any, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if issubclass(category, UserWarning) and "bsx" in str(filename):
            text = str(message)
            if text not in seen:
                seen.add(text)
                from rich.markup import escape

                console.print(f"[yellow]warning:[/yellow] {escape(text)}", highlight=False,
                              soft_wrap=True)
            return
        default(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = default

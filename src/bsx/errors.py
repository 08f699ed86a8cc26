"""Typed errors for bad input or setup; only the CLI catches BsxError (one line, exit 2)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class BsxError(Exception):
    """Bad input or setup. The CLI prints the message and exits 2."""


class UnknownName(BsxError):
    """A plugin name that no registered spec carries."""


class NameClash(BsxError):
    """Two distributions registered the same name for one kind."""


class BadAudio(BsxError):
    """An audio file that cannot be read or is unusable (empty, silent, NaN)."""


class BadDataset(BsxError):
    """A dataset root or file that does not follow the corpus's convention."""


class BadCheckpoint(BsxError):
    """A checkpoint that is missing, corrupt, or does not fit the model."""


class BadOptions(BsxError):
    """Options that a plugin does not accept."""


def not_a_file(path: object, what: str) -> str:
    """Why `path` cannot be read as a `what` file: a folder, missing, or unreadable.

    One wording for every command, so a folder is never reported as "no such file"."""
    from pathlib import Path

    p = Path(str(path))
    if p.is_dir():
        return f"{p}: is a folder, not a {what}"
    if not p.exists():
        return f"{p}: no such {what}"
    if not p.is_file():
        return f"{p}: not a regular file (a {what} is expected)"
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        return f"{p}: cannot be read ({exc.strerror or exc})"
    return f"{p}: cannot be read as a {what}"


def first_problem(exc: Exception, default: str = "options") -> tuple[str, str]:
    """(where, message) of a pydantic ValidationError's first error, for one-line errors."""
    first = exc.errors()[0]  # type: ignore[attr-defined]
    return ".".join(str(p) for p in first["loc"]) or default, str(first["msg"])


def one_line(exc: BaseException) -> str:
    """An exception as one line: a pydantic ValidationError's first problem, else its text."""
    if hasattr(exc, "errors") and callable(exc.errors):
        where, msg = first_problem(exc)  # type: ignore[arg-type]
        return f"{where}: {msg}"
    return " ".join(str(exc).split()) or type(exc).__name__


def did_you_mean(name: str, known: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """The " (did you mean 'x'?)" suffix for an unknown name, or "" when nothing is close.

    One helper so every UnknownName/BadDataset message words its hint the same way. Matching
    ignores case and surrounding spaces (lookups do too); suggestions keep `known`'s spelling
    and come closest first, at most `n` of them, each at least `cutoff` similar (difflib).
    """
    spelled: dict[str, str] = {}
    for k in known:
        spelled.setdefault(k.lower(), k)
    close = difflib.get_close_matches(name.strip().lower(), list(spelled), n=n, cutoff=cutoff)
    if not close:
        return ""
    quoted = [f"'{spelled[c]}'" for c in close]
    words = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {words}?)"


def warning_line(message: Warning | str, filename: str) -> str | None:
    """The one line a warning gets in bsx's output, or None to leave it out.

    bsx's own warnings (raised from a file under the bsx package) are shown, one line each;
    the libraries' warnings (openSMILE, matplotlib, torch deprecations) are noise to a user
    and left out, unless BSX_SHOW_WARNINGS=1 asks for every warning."""
    from_bsx = f"{os.sep}bsx{os.sep}" in str(filename)
    if not from_bsx and os.environ.get("BSX_SHOW_WARNINGS", "") in ("", "0"):
        return None
    return "warning: " + " ".join(str(message).split())


def install_warning_lines() -> None:
    """Show every warning of this process as warning_line does, each distinct line once."""
    import sys
    import warnings

    seen: set[str] = set()

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: object = None, line: str | None = None) -> None:
        text = warning_line(message, filename)
        if text is None or text in seen:
            return
        seen.add(text)
        print(text, file=sys.stderr, flush=True)

    warnings.showwarning = show  # type: ignore[assignment]

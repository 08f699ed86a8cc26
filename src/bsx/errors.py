"""Typed errors for bad input or setup; only the CLI catches BsxError (one line, exit 2)."""

from __future__ import annotations


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


def first_problem(exc: Exception, default: str = "options") -> tuple[str, str]:
    """(where, message) of a pydantic ValidationError's first error, for one-line errors."""
    first = exc.errors()[0]  # type: ignore[attr-defined]
    return ".".join(str(p) for p in first["loc"]) or default, str(first["msg"])

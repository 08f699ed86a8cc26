"""Option helpers shared by commands: comma lists and one-line validation."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bsx.errors import BsxError, not_a_file


def split_list(value: str | list[str] | None) -> list[str] | None:
    """'a, b,c' -> ['a', 'b', 'c']; a repeated option's values are split and joined in
    order (['a,b', 'c'] -> ['a', 'b', 'c']); None stays None."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    items = [v.strip() for part in values for v in part.split(",") if v.strip()]
    return items or None


def parse_options(items: list[str] | None, what: str = "--opt") -> dict[str, Any]:
    """['k=v', ...] -> {k: v}; values parse as JSON where they can ('3', 'true', '[1,2]')."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BsxError(f"{what} '{item}': write it as KEY=VALUE, e.g. {what} top_n=3")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def require_file(path: Path | None, what: str) -> None:
    """A file the user named, checked before any work: a folder, a missing path and an
    unreadable file each get their own sentence (errors.not_a_file). None passes."""
    if path is not None and not (path.is_file() and os.access(path, os.R_OK)):
        raise BsxError(not_a_file(path, what))

"""Where bsx keeps caches: $BSX_CACHE_DIR, else ~/.cache/bsx."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """A folder under the bsx cache, created on demand."""
    root = Path(os.environ.get("BSX_CACHE_DIR") or Path.home() / ".cache" / "bsx")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path

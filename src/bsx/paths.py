"""Where bsx keeps things: caches ($BSX_CACHE_DIR, else ~/.cache/bsx) and the packaged default
model (here, not in bsx.models.checkpoint, so torch-free code can find it)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file's bytes (checkpoint weights, provenance, cache keys, cell
    fingerprints all use this one)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def cache_dir(*parts: str) -> Path:
    """A folder under the bsx cache, created on demand."""
    root = Path(os.environ.get("BSX_CACHE_DIR") or Path.home() / ".cache" / "bsx")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "data" / "default_model"
DEFAULT_MODEL_FILE = DEFAULT_MODEL_DIR / "model.pt"


def sidecar_path(path: Path) -> Path:
    """The JSON metadata file beside a weights file: model.pt -> model.json."""
    return path.with_suffix(".json")

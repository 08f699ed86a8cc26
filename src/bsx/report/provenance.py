"""What a run was made with: the checkpoint's sha256 and the version of every package that
can change a number, recorded in config.json so a result can be traced and rerun."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bsx.paths import sha256_file

PACKAGES: tuple[str, ...] = (
    "bsx", "torch", "torchaudio", "captum", "zennit", "zennit-crp", "quantus", "opensmile",
    "praat-parselmouth", "librosa", "numpy", "scipy", "pandas", "scikit-learn", "soundfile",
    "transformers", "matplotlib",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None if not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def plugin_versions() -> dict[str, str | None]:
    """Every distribution registering bsx plugins through entry points, with its version."""
    from importlib.metadata import entry_points

    out: dict[str, str | None] = {}
    for ep in entry_points(group="bsx"):
        dist = getattr(ep, "dist", None)
        if dist is not None:
            out[dist.name] = dist.version
    return out


def run_provenance(checkpoint_path: Path | str | None) -> dict[str, Any]:
    """{"checkpoint": {path, sha256, trained_on}, "packages": {...}, "plugins": {...},
    "python", "platform"}; checkpoint None means the packaged default model."""
    import json

    from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path

    path = Path(checkpoint_path).expanduser() if checkpoint_path else DEFAULT_MODEL_FILE
    ckpt: dict[str, Any] = {"path": str(path), "default": checkpoint_path is None,
                            "sha256": sha256_file(path) if path.is_file() else None,
                            "trained_on": None}
    side = sidecar_path(path)
    if side.is_file():
        try:
            ckpt["trained_on"] = json.loads(side.read_text()).get("dataset")
        except ValueError:
            pass
    return {"checkpoint": ckpt, "packages": package_versions(), "plugins": plugin_versions(),
            "python": sys.version.split()[0], "platform": platform.platform()}

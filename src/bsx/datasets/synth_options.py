"""Options of the synth dataset, kept light so registering does not import audio libraries."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class SynthOptions(BaseModel):
    """Where and how much synthetic speech to generate (deterministic from the seed)."""

    model_config = ConfigDict(extra="forbid")
    data_root: Path | None = None   # None: a folder under the bsx cache keyed by the options
    per_class: int = 120
    seed: int = 0

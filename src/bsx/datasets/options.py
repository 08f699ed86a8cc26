"""Options of the real-corpus dataset plugins, kept light so registering imports nothing heavy."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator


class CorpusOptions(BaseModel):
    """Where the corpus lies as downloaded, and which emotions to keep.

    data_root: the folder the user unpacked the corpus into (any depth above the files).
    emotions: a subset of the shared vocabulary (e.g. ["angry", "sad"]); None keeps all.
    A comma-separated string is accepted too ("angry,sad").
    """

    model_config = ConfigDict(extra="forbid")

    data_root: Path
    emotions: list[str] | None = None

    @field_validator("emotions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = [v for v in value.split(",")]
        if isinstance(value, list):
            value = [str(v).strip().lower() for v in value if str(v).strip()]
            return value or None
        return value

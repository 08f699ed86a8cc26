"""Options of the synth dataset, kept light so registering does not import audio libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SYNTH_EMOTIONS: tuple[str, ...] = ("angry", "fear", "happy", "neutral", "sad")
AROUSAL_LABELS: tuple[str, ...] = ("low", "mid", "high")  # the arousal variant's bins


class SynthOptions(BaseModel):
    """Where and how much synthetic speech to generate (deterministic from the seed).

    data_root: a folder holding a generated corpus (or where to generate one); None keeps it
    in the bsx cache under a hash of the options. per_class: clips per emotion. seed: every
    random choice (words, speakers per clip, planted cue sizes, noise). emotions: a subset of
    angry, fear, happy, neutral, sad (a comma-separated string is accepted). speakers: how
    many of the 16 espeak speakers to use (at least 3, for speaker-independent splits).
    workers: processes for generation (None: all cores); it never changes the audio.
    variant: "emotions" (the five classes) or "arousal": per_class clips in each arousal bin
    (low, mid, high; `emotions` then selects bins), each with its planted arousal value in
    [-1, 1] (Clip.meta["arousal"]) and the arousal profile scaled by it in the slot
    (bsx.synth.recipe.arousal_cues), for dimensional models (docs/dimensional.md).
    """

    model_config = ConfigDict(extra="forbid")

    data_root: Path | None = None
    per_class: int = Field(default=120, ge=1, le=5000)
    seed: int = 0
    emotions: list[str] | None = None
    speakers: int = Field(default=16, ge=3, le=16)
    workers: int | None = Field(default=None, ge=1)
    variant: Literal["emotions", "arousal"] = "emotions"

    @field_validator("emotions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            value = [str(v).strip().lower() for v in value if str(v).strip()]
            return value or None
        return value

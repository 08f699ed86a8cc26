"""What a dataset plugin provides: a list of labelled clips from a root folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# One shared emotion vocabulary; each corpus maps its own codes onto it (boredom: EmoDB only).
EMOTIONS: tuple[str, ...] = (
    "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm", "boredom",
)


@dataclass(frozen=True)
class Clip:
    """One labelled utterance; `meta` holds corpus extras (sex, sentence, intensity, spans)."""

    path: Path
    label: str
    speaker: str
    corpus: str
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    key: str = ""  # unique name within the corpus when file names repeat (SAVEE: "DC_a01")

    @property
    def id(self) -> str:
        return f"{self.corpus}:{self.key or self.path.name}"


class Dataset(Protocol):
    """A dataset plugin instance. Built by its spec's factory(options=...)."""

    name: str
    labels: tuple[str, ...]

    def clips(self) -> list[Clip]:
        """All clips of the corpus, in a stable order; BadDataset on a bad root."""
        ...

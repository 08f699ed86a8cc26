"""Options of the built-in models, kept light so registering does not import torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResNetSmallOptions(BaseModel):
    """Options of resnet-small (none change the architecture, so the paper's files load)."""

    model_config = ConfigDict(extra="forbid")
    dropout: float = 0.5


class CrnnOptions(BaseModel):
    """Options of crnn: conv block widths, GRU size, dropout before the classifier."""

    model_config = ConfigDict(extra="forbid")
    channels: tuple[int, ...] = (16, 32, 64)
    hidden: int = 64
    bidirectional: bool = True
    dropout: float = 0.3


class CnnOptions(BaseModel):
    """Options of cnn: conv block widths, dropout before the classifier."""

    model_config = ConfigDict(extra="forbid")
    channels: tuple[int, ...] = (16, 32, 64, 128)
    first_stride: int = 2
    dropout: float = 0.3


class HfOptions(BaseModel):
    """Options of hf: checkpoint, a save_pretrained directory (None: the packaged waveform
    model, a tiny wav2vec2 trained on the synth corpus)."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: str | None = None

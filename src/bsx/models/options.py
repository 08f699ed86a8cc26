"""Options of the built-in models, kept light so registering does not import torch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    """Options of cnn: conv block widths, dropout before the classifier, and `members`: an
    ensemble of that many CNNs of these widths in one network (grouped convolutions), whose
    logits are the mean of the members' logits."""

    model_config = ConfigDict(extra="forbid")
    channels: tuple[int, ...] = (32, 64, 128, 256)
    first_stride: int = 2
    dropout: float = 0.3
    members: int = Field(default=1, ge=1)


class HfOptions(BaseModel):
    """Options of hf: checkpoint, a save_pretrained directory (None: the packaged waveform
    model, a tiny wav2vec2 trained on the synth corpus)."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: str | None = None


class ProbeOptions(BaseModel):
    """Options of hf-probe: the encoder directory (required), the pooling, the MLP's hidden
    width and dropout; encoder_sha256 is set by `bsx train` and checked on every load."""

    model_config = ConfigDict(extra="forbid")
    checkpoint: str | None = None
    pooling: Literal["mean", "attentive"] = "mean"
    mlp: int = Field(default=128, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    encoder_sha256: str | None = None


class HeadOptions(BaseModel):
    """Options of hf-probe-head (set by `bsx train` from the encoder's config)."""

    model_config = ConfigDict(extra="forbid")
    n_states: int = Field(default=2, ge=1)
    width: int = Field(default=32, ge=1)
    pooling: Literal["mean", "attentive"] = "mean"
    mlp: int = Field(default=128, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)

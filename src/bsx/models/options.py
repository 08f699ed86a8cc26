"""Options of the built-in models, kept light so registering does not import torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResNetSmallOptions(BaseModel):
    """Options of resnet-small (none change the architecture, so the paper's files load)."""

    model_config = ConfigDict(extra="forbid")
    dropout: float = 0.5

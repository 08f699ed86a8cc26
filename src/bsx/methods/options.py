"""Options of the built-in attribution methods, kept light so registering imports no torch.

Every model forbids unknown keys, so a misspelt option is a clear BadOptions, not a silent
default. A baseline is either a number (in dB, the unit of the log-mel input) or "floor": the
per-clip minimum of the input, i.e. the dB silence floor (-80 dB relative with the paper's
power_to_db(ref=max, top_db=80)).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Baseline = float | Literal["floor"]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GradCamOptions(_Options):
    """relu: apply the ReLU of published Grad-CAM (Selvaraju et al. 2017); Captum does not by
    default. layer: a submodule name to hook instead of the model's cam layer."""

    relu: bool = True
    layer: str | None = None


class OcclusionOptions(_Options):
    """The paper's 2-D occlusion: a (1 mel x 10 frame) patch slid with stride (1, 3), baseline
    0 dB. cover_end adds a last patch flush with the clip end so no frame is left unscored.
    max_batch: how many perturbed copies go through the model at once."""

    patch_mels: int = Field(default=1, ge=1)
    patch_frames: int = Field(default=10, ge=1)
    stride_mels: int = Field(default=1, ge=1)
    stride_frames: int = Field(default=3, ge=1)
    baseline: Baseline = 0.0
    cover_end: bool = False
    max_batch: int = Field(default=512, ge=1)


class TimeOcclusionOptions(_Options):
    """Time-band occlusion: all mel bands of a `width`-frame span at once, slid by `stride`.
    The default baseline is the clip's dB floor (silence), not the paper's 0 dB, which is the
    loudest possible value of a ref=max spectrogram and so inserts energy instead of removing
    it."""

    width: int = Field(default=10, ge=1)
    stride: int = Field(default=10, ge=1)
    baseline: Baseline = "floor"
    cover_end: bool = True
    max_batch: int = Field(default=512, ge=1)
    # waveform models: bands of band_s seconds every band_stride_s (width/stride are frames of
    # a log-mel model); the "floor" baseline is digital silence
    band_s: float = Field(default=0.1, gt=0)
    band_stride_s: float = Field(default=0.05, gt=0)


Canonizer = Literal["bsx", "paper", "none"]


class CrpOptions(_Options):
    """Concept Relevance Propagation (Achtibat et al. 2023) with EpsilonPlusFlat.

    canonizer: "bsx" merges batch norms and splits each residual add proportionally; "paper"
    is zennit's ResNetCanonizer as the paper passed it (it leaves this block's add to the plain
    gradient, which doubles relevance); "none" skips canonization.
    layer + channels: condition on those channels of that layer (the paper: layer1.conv1, [35]).
    layer + top_n: condition on each clip's top_n most relevant channels of that layer.
    """

    canonizer: Canonizer = "bsx"
    layer: str | None = None
    channels: list[int] | None = None
    top_n: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _concepts(self) -> CrpOptions:
        if self.channels is not None and self.top_n is not None:
            raise ValueError("give either channels or top_n, not both")
        if (self.channels is not None or self.top_n is not None) and self.layer is None:
            raise ValueError("channels and top_n need a layer")
        if self.layer is not None and self.channels is None and self.top_n is None:
            raise ValueError("a layer needs channels or top_n")
        if self.channels is not None and not self.channels:
            raise ValueError("channels must not be empty")
        return self


class LrpOptions(_Options):
    """LRP (Bach et al. 2015) with zennit's EpsilonPlusFlat composite and bsx's canonizers."""

    canonizer: Canonizer = "bsx"


class SaliencyOptions(_Options):
    """Gradient saliency (Simonyan et al. 2014); abs takes the magnitude as the paper did."""

    abs: bool = True


class IntegratedGradientsOptions(_Options):
    """Integrated Gradients (Sundararajan et al. 2017) from the dB floor (silence) by default."""

    n_steps: int = Field(default=32, ge=1)
    baseline: Baseline = "floor"
    internal_batch_size: int | None = Field(default=256, ge=1)


class RandomOptions(_Options):
    """A seeded uniform-noise map: the sanity floor every leaderboard needs."""

    seed: int = 0


class InputXGradientOptions(_Options):
    """Input x gradient (Shrikumar et al. 2016) on the waveform; no options yet."""


class AttentionRolloutOptions(_Options):
    """Attention rollout (Abnar & Zuidema 2020): each layer's head-averaged attention A
    becomes residual * I + (1 - residual) * A (rows renormalised) and the layers multiply.
    head_fusion: how heads combine ("mean" as the paper; "max", "min" as later variants)."""

    residual: float = Field(default=0.5, ge=0.0, le=1.0)
    head_fusion: Literal["mean", "max", "min"] = "mean"


class AttnLrpOptions(_Options):
    """LRP for transformers in the Gradient x Input form of lxt (Achtibat et al. 2024).

    variant "attnlrp": AttnLRP's uniform rule on the attention products (q, k get 1/4 and v
    1/2 of the relevance) and the plain gradient through softmax; "cp-lrp" (Ali et al. 2022):
    the attention weights are constants, so relevance flows through the values only, which is
    exactly conservative."""

    variant: Literal["attnlrp", "cp-lrp"] = "attnlrp"

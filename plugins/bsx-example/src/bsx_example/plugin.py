"""Hook implementations: bsx calls these to learn what this package provides."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy
from bsx.scoring.specs import MetricSpec


class ZcrOptions(BaseModel):
    """Frame length of the zero-crossing rate, in samples at the clip's rate per 10 ms hop."""

    model_config = ConfigDict(extra="forbid")
    frame_ms: float = 25.0


@hookimpl
def register_methods(register):  # type: ignore[no-untyped-def]
    register(Spec(
        name="gradient-x-input", kind="method",
        description="Gradient times input (Shrikumar et al. 2016), a classic baseline",
        factory=lazy("bsx_example.methods:GradientTimesInput"),
    ))


@hookimpl
def register_cues(register):  # type: ignore[no-untyped-def]
    register(Spec(
        name="zcr", kind="cue",
        description="Zero-crossing rate per 10 ms frame (a crude noisiness cue)",
        factory=lazy("bsx_example.cues:ZeroCrossingRate"), options=ZcrOptions,
    ))


@hookimpl
def register_metrics(register):  # type: ignore[no-untyped-def]
    register(MetricSpec(
        name="content-share", category="localisation", direction="higher", consumes=("map",),
        description="share of positive relevance on the real content, not the padding",
        unit="share of positive relevance (0-1)", bounds=(0.0, 1.0),
        factory=lazy("bsx_example.metrics:ContentShare"),
    ))

"""Hooks a bsx plugin may implement: one per plugin kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from bsx.plugins import Spec

hookspec = pluggy.HookspecMarker("bsx")
hookimpl = pluggy.HookimplMarker("bsx")

Register = Callable[["Spec"], None]


@hookspec
def register_datasets(register: Register) -> None:
    """Add datasets: call register(spec) once per dataset."""


@hookspec
def register_models(register: Register) -> None:
    """Add SER models: call register(spec) once per model."""


@hookspec
def register_methods(register: Register) -> None:
    """Add attribution methods: call register(spec) once per method."""


@hookspec
def register_cues(register: Register) -> None:
    """Add cue extractors: call register(spec) once per extractor."""


@hookspec
def register_metrics(register: Register) -> None:
    """Add scores: call register(spec) once per metric, with a bsx.scoring.specs.MetricSpec."""

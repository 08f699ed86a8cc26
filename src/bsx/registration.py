"""In-process registration for notebooks and scripts: methods, cue extractors and metrics
without a package or entry point.

Each function builds the same Spec a plugin's hook would register and hands it to
bsx.plugins.register, so the unit is found, listed (`bsx.plugins.get_registry().all()`) and
refused (unknown name, clash with bsx's own) exactly like an installed plugin's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from bsx.plugins import Kind, NoOptions, Spec, register


class FunctionMethod:
    """An attribution method given as a function fn(model, batch, target) -> relevance
    ((B, 1, n_mels, T) log-mel or (B, N) waveform in; (B, n_mels, T) or (B, N) out)."""

    def __init__(
        self, fn: Callable[..., Any], sign: str, model: Any, options: BaseModel | None = None
    ) -> None:
        self.fn, self.sign, self.model, self.options = fn, sign, model, options

    def attribute(self, batch: Any, target: Any) -> Any:
        return self.fn(self.model, batch, target)


def register_method(
    name: str,
    factory: Any = None,
    *,
    description: str = "",
    options: type[BaseModel] = NoOptions,
    sign: str = "positive",
) -> Any:
    """Register an attribution method; usable as `@bsx.register_method("name")`.

    factory: a class built as cls(model, options=...) with attribute(batch, target) (the
    method protocol, bsx.methods.base), or a plain function fn(model, batch, target) ->
    relevance. sign: which relevance the windows keep for a function ("positive", or
    "absolute" for maps whose sign carries no meaning); a class declares its own `sign`.
    Returns the class or function unchanged."""

    def method_factory(obj: Any) -> Any:
        return obj if inspect.isclass(obj) else functools.partial(FunctionMethod, obj, sign)

    return _registrar("method", name, factory, description, options, method_factory)


def register_cues(
    name: str, factory: Any = None, *, description: str = "", options: type[BaseModel] = NoOptions
) -> Any:
    """Register a cue extractor; usable as `@bsx.register_cues("name")` on a class.

    factory: called as factory(options=...), it returns an object with `cues` (names) and
    extract(waveform, sample_rate) -> bsx.cues.base.CueTracks on the 10 ms grid. An evaluate
    run with workers > 1 pickles the built extractor to its worker processes: define the
    class in an importable module, or run with workers=1."""

    return _registrar("cue", name, factory, description, options, lambda obj: obj)


def _registrar(
    kind: Kind,
    name: str,
    factory: Any,
    description: str,
    options: type[BaseModel],
    make: Callable[[Any], Any],
) -> Any:
    """Register make(obj) as the factory of `kind` `name`, at once (factory given) or as a
    decorator; the decorated object is returned unchanged."""

    def add(obj: Any) -> Any:
        register(
            Spec(
                name=name,
                kind=kind,
                description=description or _first_line(obj),
                factory=make(obj),
                options=options,
            )
        )
        return obj

    return add if factory is None else add(factory)


def register_metric(
    spec: Any = None,
    /,
    *,
    name: str | None = None,
    direction: str = "higher",
    unit: str = "",
    category: str = "faithfulness",
    consumes: Sequence[str] = ("map",),
    description: str = "",
) -> Any:
    """Register a metric: a bsx.scoring.specs.MetricSpec as is, or, as a decorator,
    `@bsx.register_metric(name=..., direction=..., unit=...)` on fn(ClipInputs) -> float
    (one number per clip and method; bsx.evaluation.computes.ClipInputs). The spec's checks
    (direction, unit, known inputs and compute) run here, when it registers."""
    from bsx.scoring.specs import MetricSpec

    if isinstance(spec, MetricSpec):
        return register(spec)
    if spec is not None:
        raise TypeError(
            "register_metric takes a MetricSpec, or keyword arguments as a "
            f"decorator; got {type(spec).__name__}"
        )
    if not name:
        raise TypeError("register_metric as a decorator needs name=")

    def add(fn: Callable[..., float]) -> Callable[..., float]:
        register(
            MetricSpec(
                name=name,
                description=description or _first_line(fn),
                category=category,
                direction=direction,  # type: ignore[arg-type]  # checked by MetricSpec
                unit=unit,
                consumes=tuple(consumes),
                compute="clip",
                factory=lambda options=None: fn,
            )
        )
        return fn

    return add


def _first_line(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else getattr(obj, "__name__", "")

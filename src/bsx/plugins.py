"""The plugin manager: one pluggy manager, built-ins and entry points through the same hooks.

Built-in kinds register exactly like third-party packages (the datasette / llm pattern), so
there is one code path. A plugin that fails to import or register is recorded as broken and
skipped; two plugins claiming one name is recorded as a clash: the other names still work
(`bsx plugins list` shows the clash) and only looking the clashing name up is a NameClash
naming both packages and BSX_LOAD_PLUGINS. An unknown name mentions the broken plugins, one
of which may have provided it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any, Literal

import pluggy
from pydantic import BaseModel, ConfigDict, ValidationError

from bsx import __version__, hookspecs
from bsx.errors import BadOptions, NameClash, UnknownName, did_you_mean, first_problem

Kind = Literal["dataset", "model", "method", "cue", "metric"]
KINDS: tuple[Kind, ...] = ("dataset", "model", "method", "cue", "metric")
HOOKS: dict[Kind, str] = {
    "dataset": "register_datasets",
    "model": "register_models",
    "method": "register_methods",
    "cue": "register_cues",
    "metric": "register_metrics",
}
ENTRY_POINT_GROUP = "bsx"
BUILTIN_MODULES: tuple[str, ...] = (
    "bsx.datasets",
    "bsx.models",
    "bsx.methods",
    "bsx.cues",
    "bsx.scoring",
)


class NoOptions(BaseModel):
    """A unit without options; extra keys are an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True)
class Spec:
    """The one place a plugin unit's metadata lives."""

    name: str
    kind: Kind
    description: str
    factory: Callable[..., Any]
    options: type[BaseModel] = NoOptions
    dist: str = ""
    version: str = ""

    def make_options(self, values: dict[str, Any] | None = None) -> BaseModel:
        """Validate user options against the declared model; a clear BadOptions if wrong."""
        try:
            return self.options(**(values or {}))
        except ValidationError as exc:
            where, msg = first_problem(exc)
            raise BadOptions(
                f"{self.kind} '{self.name}': option '{where}': {msg}; "
                f"accepted: {', '.join(self.options.model_fields) or 'none'}"
            ) from None


def lazy(target: str) -> Callable[..., Any]:
    """A factory that imports 'module:attr' only when called, so registering stays light."""

    def factory(*args: Any, **kwargs: Any) -> Any:
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)(*args, **kwargs)

    factory.__qualname__ = factory.__name__ = f"lazy({target})"
    return factory


@dataclass(frozen=True)
class Broken:
    """A plugin that failed to import or register, and why (its traceback kept for its author:
    `bsx plugins list --traceback`)."""

    dist: str
    entry_point: str
    error: str
    traceback: str = field(default="", compare=False)

    @classmethod
    def of(cls, dist: str, entry_point: str, exc: BaseException) -> Broken:
        import traceback

        return cls(dist, entry_point, f"{type(exc).__name__}: {exc}",
                   "".join(traceback.format_exception(exc)))


@dataclass
class Registry:
    """All specs by kind and lower-cased name, plus the plugins that broke."""

    specs: dict[Kind, dict[str, Spec]] = field(default_factory=lambda: {k: {} for k in KINDS})
    broken: list[Broken] = field(default_factory=list)
    clashes: dict[tuple[Kind, str], list[str]] = field(default_factory=dict)

    def add(self, spec: Spec) -> None:
        if spec.kind not in KINDS:
            raise ValueError(f"unknown plugin kind {spec.kind!r}; kinds: {', '.join(KINDS)}")
        key = spec.name.lower()
        old = self.specs[spec.kind].get(key)
        if old is not None:  # keep the first, refuse the name on lookup (see clash_error)
            dists = self.clashes.setdefault((spec.kind, key), [old.dist or "?"])
            dists.append(spec.dist or "?")
            return
        self.specs[spec.kind][key] = spec

    def clash_error(self, kind: Kind, name: str) -> NameClash | None:
        """The NameClash for a name two packages registered, or None."""
        dists = self.clashes.get((kind, name.strip().lower()))
        if not dists:
            return None
        third = [d for d in dict.fromkeys(dists) if d != "bsx"]
        return NameClash(
            f"{kind} '{name.strip()}' is registered by both {' and '.join(dists)}; uninstall "
            "one, or set BSX_LOAD_PLUGINS to the plugin packages to load (comma-separated, "
            f"e.g. BSX_LOAD_PLUGINS={third[-1] if third else dists[-1]}; bsx's own always load)")

    def _broken_note(self) -> str:
        if not self.broken:
            return ""
        names = ", ".join(f"{b.dist} ({b.error})" for b in self.broken[:3])
        more = f" and {len(self.broken) - 3} more" if len(self.broken) > 3 else ""
        return (f"; {len(self.broken)} plugin(s) failed to load and may have provided it: "
                f"{names}{more} (see `bsx plugins list --traceback`)")

    def names(self, kind: Kind) -> list[str]:
        return sorted(s.name for s in self.specs[kind].values())

    def get(self, kind: Kind, name: str) -> Spec:
        """Look a spec up case-insensitively; UnknownName with a suggestion otherwise."""
        clash = self.clash_error(kind, name)
        if clash is not None:
            raise clash
        spec = self.specs[kind].get(name.strip().lower())
        if spec is not None:
            return spec
        names = self.names(kind)
        hint = did_you_mean(name, self.specs[kind])  # the lower-cased keys, as before
        raise UnknownName(
            f"no {kind} '{name}'{hint}; available: {', '.join(names) or 'none'}"
            f"{self._broken_note()}"
        )

    def all(self, kind: Kind | None = None) -> list[Spec]:
        kinds = KINDS if kind is None else (kind,)
        return [s for k in kinds for s in sorted(self.specs[k].values(), key=lambda s: s.name)]


def make_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("bsx")
    pm.add_hookspecs(hookspecs)
    return pm


def _specs_of(plugin: Any, dist: str, ver: str) -> list[Spec]:
    """Call one plugin's hook implementations on their own; its specs learn dist and version."""
    pending: list[Spec] = []
    for kind, hook in HOOKS.items():
        impl = getattr(plugin, hook, None)
        if impl is None:
            continue

        def register(spec: Spec, kind: Kind = kind, hook: str = hook) -> None:
            if spec.kind != kind:
                raise ValueError(f"{hook} registered a {spec.kind} spec '{spec.name}'")
            pending.append(replace(spec, dist=dist, version=ver))

        impl(register=register)
    return pending


def collect(
    plugins: Iterable[tuple[str, str, str, Any]],
    registry: Registry | None = None,
) -> Registry:
    """Register (dist, version, name, plugin) tuples, each in isolation.

    Each plugin's hook implementations are called one by one, so every spec learns its
    distribution and a plugin that raises while registering is listed as broken while the
    rest register. A name clash is recorded in registry.clashes (see Registry.add).
    """
    registry = registry or Registry()
    pm = make_manager()
    for dist, ver, name, plugin in plugins:
        try:
            pm.register(plugin, name=name)
        except Exception as exc:  # the plugin's bug: recorded with its traceback, carry on
            if pm.has_plugin(name):
                pm.unregister(name=name)
            registry.broken.append(Broken.of(dist, name, exc))
            continue
        try:
            pending = _specs_of(plugin, dist, ver)
        except Exception as exc:  # the plugin's bug: recorded with its traceback, carry on
            pm.unregister(name=name)
            registry.broken.append(Broken.of(dist, name, exc))
            continue
        for spec in pending:
            registry.add(spec)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        registry.broken.append(Broken("?", "?", str(exc)))
    return registry


def _entry_point_plugins() -> tuple[list[tuple[str, str, str, Any]], list[Broken]]:
    allowed_env = os.environ.get("BSX_LOAD_PLUGINS")
    allowed = None if allowed_env is None else {
        a.strip().lower() for a in allowed_env.split(",") if a.strip()
    }
    found: list[tuple[str, str, str, Any]] = []
    broken: list[Broken] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "?"
        ver = ep.dist.version if ep.dist else ""
        if allowed is not None and dist.lower() not in allowed:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # the plugin's bug: recorded with its traceback, carry on
            broken.append(Broken.of(dist, ep.name, exc))
            continue
        found.append((dist, ver, f"{dist}:{ep.name}", plugin))
    return found, broken


_REGISTRY: Registry | None = None
# Specs registered in this process (bsx.register_method & co.): kept so a refreshed registry
# has them again, after the built-ins and entry points.
IN_PROCESS = "in-process"
_IN_PROCESS: dict[tuple[Kind, str], Spec] = {}


def get_registry(*, refresh: bool = False) -> Registry:
    """The process-wide registry: built-ins first, then entry-point plugins, then the specs
    registered in this process."""
    global _REGISTRY
    if _REGISTRY is None or refresh:
        builtins = [
            ("bsx", __version__, mod, importlib.import_module(mod)) for mod in BUILTIN_MODULES
        ]
        third, broken = _entry_point_plugins()
        registry = Registry(broken=broken)
        collect(builtins + third, registry)
        for spec in _IN_PROCESS.values():
            registry.add(spec)
        _REGISTRY = registry
    return _REGISTRY


def register(spec: Spec) -> Spec:
    """Register a spec in this process, beside the entry points: the same registry, so it is
    looked up, listed and refused exactly as a plugin's. Registering a name again from this
    process replaces it (a notebook cell run twice); a name bsx or an installed plugin holds
    is a NameClash, and theirs keeps working."""
    if spec.kind not in KINDS:
        raise ValueError(f"unknown plugin kind {spec.kind!r}; kinds: {', '.join(KINDS)}")
    registry = get_registry()
    key = (spec.kind, spec.name.strip().lower())
    old = registry.specs[spec.kind].get(key[1])
    if old is not None and old.dist != IN_PROCESS:
        raise NameClash(f"{spec.kind} '{spec.name}' is already registered by {old.dist or '?'}; "
                        "register yours under another name")
    spec = replace(spec, dist=IN_PROCESS, version="")
    _IN_PROCESS[key] = spec
    registry.specs[spec.kind][key[1]] = spec
    return spec


def unregister(kind: Kind, name: str) -> None:
    """Forget a spec registered in this process (tests, notebooks); others cannot be removed."""
    key = (kind, name.strip().lower())
    if key not in _IN_PROCESS:
        raise UnknownName(f"no {kind} '{name}' registered in this process")
    del _IN_PROCESS[key]
    get_registry().specs[kind].pop(key[1], None)


def lookup(kind: Kind, name: str) -> Spec:
    """Find the spec of `kind` called `name` in the process-wide registry."""
    return get_registry().get(kind, name)


def build(kind: Kind, name: str, *args: Any, options: dict[str, Any] | None = None) -> Any:
    """Look up a unit and build it: factory(*args, options=validated options)."""
    spec = lookup(kind, name)
    return spec.factory(*args, options=spec.make_options(options))

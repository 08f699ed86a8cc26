"""Every score bsx computes: the one place its metadata lives, and what the engine reads.

Quantus declares `score_direction` on each metric class but never reads it (Quantus
quantus/helpers/enums.py); here `direction` has no default, and `better` / `rank` below are
what every table and leaderboard uses to order methods. A spec also declares what the score
consumes, which model input kinds it runs on and the per-clip compute it belongs to, so the
lists other modules used to keep by hand (Quantus metrics, waveform metrics, localisation and
agreement metrics, the default set) are derived from the specs, and the engine loops over
the run's specs grouped by compute (bsx.evaluation.computes). Metrics register through the
`register_metrics` hook like every other plugin kind; a third-party metric uses the "clip"
compute: its factory builds a function from one clip's inputs to one number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bsx.plugins import Kind, Spec

Category = Literal[
    "localisation", "faithfulness", "randomisation", "robustness", "complexity",
    "cue-agreement", "ground-truth", "ablation", "reliability", "description",
]
Direction = Literal["higher", "lower"]
# What a score can show about a method (issue 22): faithfulness and cue plausibility (and the
# planted ground truth, seed reliability) are evidence; map-shape scores only describe a map, so
# they never count in a "beats random" headline.
Role = Literal["faithfulness", "plausibility", "ground-truth", "reliability", "description"]
ROLE_OF_CATEGORY: dict[str, Role] = {
    "faithfulness": "faithfulness", "ablation": "faithfulness", "randomisation": "faithfulness",
    "cue-agreement": "plausibility", "localisation": "plausibility",
    "ground-truth": "ground-truth", "reliability": "reliability", "robustness": "reliability",
    "complexity": "description", "description": "description",
}
InputKind = Literal["logmel", "waveform"]
INPUT_KINDS: tuple[InputKind, ...] = ("logmel", "waveform")
# What a metric may consume (MetricSpec.consumes):
INPUTS: dict[str, str] = {
    "map": "the clip's (F, T) relevance map on the model timeline",
    "windows": "the method's salient windows",
    "model": "the model, re-run on edited inputs",
    "units": "the model's input units (log-mels or waveform pieces)",
    "explain-fn": "the method, re-run on perturbed inputs or models",
    "waveform": "the waveform the model saw (the model timeline)",
    "planted": "the planted spans and their (F, T) masks (synthetic corpora)",
    "cue-masks": "the (F, T) masks of the target emotion's expert cues, per cue set",
    "cue-profiles": "the cue profiles of the salient windows, the rest and neutral clips",
    "seed-models": "the same model trained with other seeds (--seed-checkpoints)",
}
# The per-clip computes bsx runs (MetricSpec.compute); "clip" is a metric's own function.
COMPUTES: dict[str, str] = {
    "planted-windows": "salient windows against the planted spans",
    "localisation": "one Quantus localisation call per mask kind and grid shape",
    "cue-profiles": "agreement from the stored cue profiles, after the run (report.posthoc)",
    "dimension-cues": "rank correlations of a regression model's predicted dimension with the "
                      "cues of the salient and random windows, after the run "
                      "(bsx.scoring.dimensional)",
    "quantus": "one Quantus call per metric and batch of model input units",
    "ablation": "one cue-ablation pass per batch (salient and random windows)",
    "seed-models": "the method on the other seeds' models, per batch (evaluation.seeds)",
    "clip": "the metric's own function of one clip's inputs (plugin metrics)",
}


def _engine_computed(*_: Any, **__: Any) -> Any:
    raise TypeError("bsx computes its built-in metrics in the engine (MetricSpec.compute); "
                    "only a 'clip' metric's factory builds a function")


@dataclass(frozen=True, kw_only=True)
class MetricSpec(Spec):
    """A score's metadata: name (kebab-case), what it measures, which way is better, what it
    consumes and which compute produces it.

    consumes: names from INPUTS; "model" means the score re-runs the model.
    input_kinds: the model input kinds it runs on; on another kind it is NaN, with one
        warning per run.
    compute: a name from COMPUTES. For "clip" the factory, called with options=, returns
        fn(bsx.evaluation.computes.ClipInputs) -> float, one value per clip and method.
    slow: True for metrics that re-run the model or the explainer many times per clip; they
        are left out of DEFAULT_METRICS, as is a metric with default=False.
    unit: what the number is in, for axes and tables ("share of relevance in mask").
    bounds: the score's fixed (low, high) range where it has one (figure axes never zoom
        past it); None for unbounded scores.
    role: what the score can show (Role); None derives it from the category. Only evidence
        roles (everything but "description") count in a "beats random" headline.
    """

    kind: Kind = "metric"
    factory: Callable[..., Any] = _engine_computed
    category: str
    direction: Direction
    consumes: tuple[str, ...] = ("map",)
    input_kinds: tuple[InputKind, ...] = INPUT_KINDS
    compute: str = "clip"
    slow: bool = False
    default: bool = True
    unit: str
    bounds: tuple[float, float] | None = None
    role: Role | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"metric '{self.name}': direction must be 'higher' or 'lower', "
                             f"not {self.direction!r}")
        unknown = sorted(set(self.consumes) - set(INPUTS))
        if unknown:
            raise ValueError(f"metric '{self.name}' consumes unknown input(s) {unknown}; "
                             f"inputs: {', '.join(INPUTS)}")
        if self.compute not in COMPUTES:
            raise ValueError(f"metric '{self.name}': no compute '{self.compute}'; "
                             f"computes: {', '.join(COMPUTES)}")
        if not self.unit.strip():
            raise ValueError(f"metric '{self.name}': unit must say what the number is in")
        if self.role is not None and self.role not in ROLE_OF_CATEGORY.values():
            raise ValueError(f"metric '{self.name}': role must be one of "
                             f"{', '.join(sorted(set(ROLE_OF_CATEGORY.values())))}")
        if not self.input_kinds or set(self.input_kinds) - set(INPUT_KINDS):
            raise ValueError(f"metric '{self.name}': input_kinds must be among "
                             f"{', '.join(INPUT_KINDS)}")

    @property
    def evidence_role(self) -> Role:
        """The declared role, else the category's (ROLE_OF_CATEGORY; unknown: evidence of
        faithfulness only when it re-runs the model, else a description)."""
        if self.role is not None:
            return self.role
        if self.category in ROLE_OF_CATEGORY:
            return ROLE_OF_CATEGORY[self.category]
        return "faithfulness" if self.needs_model else "description"

    @property
    def is_evidence(self) -> bool:
        """True when the score is evidence about a method (counts against random)."""
        return self.evidence_role != "description"

    @property
    def needs_model(self) -> bool:
        """False when maps and masks are enough (localisation, complexity)."""
        return "model" in self.consumes

    def runs_on(self, kind: str) -> bool:
        """Whether the metric runs on a model of this input kind ("logmel" or "waveform")."""
        return kind in self.input_kinds

    @property
    def reference(self) -> str:
        """The paper a score comes from (the description's last "(Author year)"); bsx's own
        scores name the toolkit."""
        refs = _REFERENCE.findall(self.description)
        return refs[-1] if refs else "bsx (this toolkit; cue method after Nasr et al. 2025)"

    @property
    def definition(self) -> str:
        """The description without its reference: what the number measures."""
        text = _REFERENCE.sub("", self.description)
        return re.sub(r"\s+([;,.])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


_REFERENCE = re.compile(r"\s*\(([^()]*\b(?:19|20)\d{2}[a-z]?)\)")
LOGMEL: tuple[InputKind, ...] = ("logmel",)


def _m(name: str, category: Category, direction: Direction, compute: str,
       consumes: tuple[str, ...], description: str, *, slow: bool = False,
       default: bool = True, input_kinds: tuple[InputKind, ...] = INPUT_KINDS) -> MetricSpec:
    unit, bounds = _UNITS[name]
    return MetricSpec(name=name, category=category, direction=direction, compute=compute,
                      consumes=consumes, description=description, slow=slow, default=default,
                      input_kinds=input_kinds, unit=unit, bounds=bounds)


_SHARE = (0.0, 1.0)
_CORR = (-1.0, 1.0)
# Each built-in metric's unit and fixed range (None: unbounded).
_UNITS: dict[str, tuple[str, tuple[float, float] | None]] = {
    "relevance-mass-accuracy": ("share of relevance in mask (0-1)", _SHARE),
    "relevance-rank-accuracy": ("share of top bins in mask (0-1)", _SHARE),
    "top-k-intersection": ("share of top-k bins in mask (0-1)", _SHARE),
    "auc": ("ROC AUC (0.5 = chance)", _SHARE),
    "pointing-game": ("hit rate (0-1)", _SHARE),
    "faithfulness-correlation": ("Pearson r (-1 to 1)", _CORR),
    "region-perturbation": ("AOPC, probability drop", _CORR),
    "road": ("share of levels surviving (0-1)", _SHARE),
    "random-logit": ("SSIM (-1 to 1)", _CORR),
    "efficient-mprt": ("relative entropy rise", None),
    "max-sensitivity": ("relative map change", None),
    "local-lipschitz-estimate": ("map change / input change", None),
    "sparseness": ("Gini index (0-1)", _SHARE),
    "complexity": ("entropy (nats)", None),
    "cue-agreement-rest": ("share of expectations met (0-1)", _SHARE),
    "cue-agreement-neutral": ("share of expectations met (0-1)", _SHARE),
    "cue-effect-rest": ("signed effect (SD, Cohen's d)", None),
    "cue-effect-neutral": ("signed effect (SD, z vs neutral)", None),
    "gt-precision": ("share of window time in spans (0-1)", _SHARE),
    "gt-recall": ("share of span time covered (0-1)", _SHARE),
    "ablation-drop": ("drop of target probability", _CORR),
    "ablation-gain": ("drop minus random-window drop, per dB of edit", None),
    "seed-rank-correlation": ("Spearman rho (-1 to 1)", _CORR),
    "seed-window-iou": ("IoU of window time (0-1)", _SHARE),
    "dimension-cue-rho": ("Spearman rho term, signed (-1 to 1 on average)", None),
    "dimension-cue-rho-gain": ("Spearman rho term, salient minus random", None),
    "dimension-sign-agreement": ("share of expected signs met (0-1)", _SHARE),
}


_LOC = ("map", "planted", "cue-masks")
_REMOVAL = ("map", "model", "units")
_REEXPLAIN = ("map", "model", "units", "explain-fn")
_SEEDS = ("map", "windows", "units", "seed-models")

# In the order of DEFAULT_METRICS and of the summary tables.
_ALL: tuple[MetricSpec, ...] = (
    # the engine's own scores: cue agreement, from the stored profiles after the run
    _m("cue-agreement-rest", "cue-agreement", "higher", "cue-profiles", ("cue-profiles",),
       "share of expert cue expectations met in salient windows versus the rest of the clip"),
    _m("cue-agreement-neutral", "cue-agreement", "higher", "cue-profiles", ("cue-profiles",),
       "share of expert cue expectations met in salient windows versus the neutral baseline"),
    _m("cue-effect-rest", "cue-agreement", "higher", "cue-profiles", ("cue-profiles",),
       "mean standardised salient-vs-rest effect of the expert cues, signed by theory's "
       "expected direction (SD units; continuous beside the share)"),
    _m("cue-effect-neutral", "cue-agreement", "higher", "cue-profiles", ("cue-profiles",),
       "mean z of the salient windows against neutral speech, signed by theory's expected "
       "direction (SD units; continuous beside the share)"),
    _m("gt-precision", "ground-truth", "higher", "planted-windows", ("windows", "planted"),
       "share of salient-window time inside the planted spans"),
    _m("gt-recall", "ground-truth", "higher", "planted-windows", ("windows", "planted"),
       "share of planted-span time covered by salient windows"),
    # localisation (Quantus), against expert-cue or planted masks; no model needed
    _m("relevance-mass-accuracy", "localisation", "higher", "localisation", _LOC,
       "share of positive relevance inside the mask (Arras et al. 2022)"),
    _m("relevance-rank-accuracy", "localisation", "higher", "localisation", _LOC,
       "share of the top-|mask| relevant bins that fall inside the mask (Arras et al. 2022)"),
    _m("top-k-intersection", "localisation", "higher", "localisation", _LOC,
       "share of the top-k (5% of bins) relevant bins inside the mask (Theiner et al. 2021)"),
    _m("auc", "localisation", "higher", "localisation", _LOC,
       "ROC AUC of relevance as a detector of the mask (Fawcett 2006)"),
    _m("pointing-game", "localisation", "higher", "localisation", _LOC,
       "1 when the most relevant bin lies inside the mask (Zhang et al. 2018)"),
    # faithfulness (Quantus), on time windows across all mel bands
    _m("faithfulness-correlation", "faithfulness", "higher", "quantus", _REMOVAL,
       "Pearson r between relevance of random frame subsets and the probability drop when "
       "they are removed (Bhatt et al. 2020); 50 model calls per clip", slow=True),
    _m("region-perturbation", "faithfulness", "higher", "quantus", _REMOVAL,
       "AOPC: mean probability drop as 10-frame windows are removed most relevant first "
       "(Samek et al. 2017)"),
    _m("road", "faithfulness", "lower", "quantus", _REMOVAL,
       "ROAD (MoRF): share of 10-90% removal levels (noisy linear imputation of the most "
       "relevant bins) at which the target class survives (Rong et al. 2022)", slow=True,
       input_kinds=LOGMEL),
    # randomisation
    _m("random-logit", "randomisation", "lower", "quantus", _REEXPLAIN,
       "SSIM between the map for the target and for a random other class "
       "(Sixt et al. 2020)", default=False, input_kinds=LOGMEL),
    _m("efficient-mprt", "randomisation", "higher", "quantus", _REEXPLAIN,
       "relative rise in map entropy once every layer is randomised "
       "(Hedstrom et al. 2024)", slow=True, input_kinds=LOGMEL),
    # robustness
    _m("max-sensitivity", "robustness", "lower", "quantus", _REEXPLAIN,
       "largest relative change of the map under +-1 dB uniform input noise "
       "(Yeh et al. 2019)", slow=True, input_kinds=LOGMEL),
    _m("local-lipschitz-estimate", "robustness", "lower", "quantus", _REEXPLAIN,
       "largest map change over input change under 1 dB Gaussian input noise "
       "(Alvarez-Melis & Jaakkola 2018)", slow=True, input_kinds=LOGMEL),
    # complexity: the map alone
    _m("sparseness", "complexity", "higher", "quantus", ("map",),
       "Gini index of the absolute relevance (Chalasani et al. 2020)"),
    _m("complexity", "complexity", "lower", "quantus", ("map",),
       "entropy of the share of absolute relevance per bin (Bhatt et al. 2020)"),
    # cue ablation: the waveform edited in the salient vs random windows
    _m("ablation-drop", "ablation", "higher", "ablation", ("windows", "model", "waveform"),
       "drop of the target probability when the cue is neutralised in the salient windows"),
    _m("ablation-gain", "ablation", "higher", "ablation", ("windows", "model", "waveform"),
       "salient-window ablation drop minus that of matched random windows, per dB of edit"),
    # reliability across training seeds (bsx.evaluation.seeds): needs --seed-checkpoints, so
    # not a default; not slow either: one more attribution per clip and seed model
    _m("seed-rank-correlation", "reliability", "higher", "seed-models", _SEEDS,
       "mean pairwise Spearman rho of the time-relevance profiles of the same model trained "
       "with other seeds (1: the same frame ranking)", default=False),
    _m("seed-window-iou", "reliability", "higher", "seed-models", _SEEDS,
       "mean pairwise IoU of the time the salient windows of the other seeds' models cover",
       default=False),
    # dimensional (regression) models: correlations across clips, after the run; a
    # regression run adds them to its metrics (bsx.evaluation.dimensional), so not defaults
    _m("dimension-cue-rho", "cue-agreement", "higher", "dimension-cues", ("cue-profiles",),
       "Spearman rho across clips (within speakers) between the predicted dimension and the "
       "cue's mean in the salient windows, signed by theory's expected direction; per-clip "
       "terms whose mean is rho", default=False),
    _m("dimension-cue-rho-gain", "cue-agreement", "higher", "dimension-cues",
       ("cue-profiles",),
       "dimension-cue-rho of the salient windows minus that of matched random windows inside "
       "the content, per clip", default=False),
    _m("dimension-sign-agreement", "cue-agreement", "higher", "dimension-cues",
       ("cue-profiles",),
       "share of the definite cue expectations of the dimension whose within-speaker rank "
       "correlation has the expected sign", default=False),
)

# bsx's own metrics (registered by bsx.scoring's register_metrics); metric_specs() adds the
# plugins' ones.
METRICS: dict[str, MetricSpec] = {m.name: m for m in _ALL}

DEFAULT_METRICS: list[str] = [m.name for m in _ALL if m.default and not m.slow]


def computed_by(compute: str) -> tuple[str, ...]:
    """bsx's metrics of one compute, in METRICS order."""
    return tuple(m.name for m in _ALL if m.compute == compute)


def metric_specs() -> dict[str, MetricSpec]:
    """Every registered metric by name: bsx's and the plugins' (process-wide registry)."""
    from bsx.plugins import get_registry

    return {s.name: s for s in get_registry().all("metric")  # type: ignore[misc]
            if isinstance(s, MetricSpec)}


def known_metric(metric: str) -> MetricSpec | None:
    """A scored metric's spec, bsx's or a registered plugin's; None for a metric nobody
    registers now (an old run's plugin). For tables and figures of finished runs, which
    fall back rather than fail."""
    spec = METRICS.get(metric)
    if spec is None:
        from bsx.errors import BsxError

        try:
            spec = metric_specs().get(metric)
        except BsxError:  # a clash in the plugin registry must not stop a summary
            spec = None
    return spec


def role_of(metric: str, category: str = "") -> Role:
    """A scored metric's role: its spec's when registered, else its category's; a row of an
    unknown metric (an old run's plugin) counts as a description, never as evidence."""
    spec = known_metric(metric)
    if spec is not None:
        return spec.evidence_role
    return ROLE_OF_CATEGORY.get(category, "description")


def get_metric(name: str) -> MetricSpec:
    """A metric's spec by name (case-insensitive), plugins' included; UnknownName with a
    suggestion otherwise."""
    from bsx.plugins import lookup

    found = lookup("metric", name)
    if not isinstance(found, MetricSpec):
        raise TypeError(f"metric '{found.name}' of {found.dist} is registered with a plain "
                        "Spec; metrics register a bsx.scoring.specs.MetricSpec")
    return found


def better(a: float, b: float, direction: Direction) -> bool:
    """True when score a is strictly better than b; NaN is never better than anything."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if direction == "higher" else a < b


def rank(scores: Mapping[str, float], direction: Direction) -> list[str]:
    """Keys ordered best first by `direction`; NaN scores go last, ties keep input order."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    sign = -1.0 if direction == "higher" else 1.0
    items = list(scores.items())
    return [k for k, v in sorted(
        items, key=lambda kv: (math.isnan(kv[1]), sign * kv[1] if not math.isnan(kv[1]) else 0.0)
    )]


def rank_by_metric(scores: Mapping[str, float], metric: str) -> list[str]:
    """Keys (methods, say) ordered best first by the direction the metric's spec declares."""
    return rank(scores, get_metric(metric).direction)

"""Every score bsx computes, with its direction: the one place the leaderboard reads it from.

Quantus declares `score_direction` on each metric class but never reads it (Quantus
quantus/helpers/enums.py); here `direction` has no default, and `better` / `rank` below are
what every table and leaderboard uses to order methods.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bsx.errors import UnknownName, did_you_mean

Category = Literal[
    "localisation", "faithfulness", "randomisation", "robustness", "complexity",
    "cue-agreement", "ground-truth", "ablation", "reliability",
]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True, kw_only=True)
class MetricSpec:
    """A score's metadata: name (kebab-case), what it measures and which way is better.

    needs_model: False when maps and masks are enough (localisation, complexity).
    slow: True for metrics that re-run the model or the explainer many times per clip; they
    are left out of DEFAULT_METRICS.
    """

    name: str
    category: Category
    direction: Direction
    needs_model: bool
    description: str
    slow: bool = False

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


def _m(name: str, category: Category, direction: Direction, needs_model: bool,
       description: str, slow: bool = False) -> MetricSpec:
    return MetricSpec(name=name, category=category, direction=direction,
                      needs_model=needs_model, description=description, slow=slow)


_ALL: tuple[MetricSpec, ...] = (
    # localisation (Quantus), against expert-cue or planted masks; no model needed
    _m("relevance-mass-accuracy", "localisation", "higher", False,
       "share of positive relevance inside the mask (Arras et al. 2022)"),
    _m("relevance-rank-accuracy", "localisation", "higher", False,
       "share of the top-|mask| relevant bins that fall inside the mask (Arras et al. 2022)"),
    _m("top-k-intersection", "localisation", "higher", False,
       "share of the top-k (5% of bins) relevant bins inside the mask (Theiner et al. 2021)"),
    _m("auc", "localisation", "higher", False,
       "ROC AUC of relevance as a detector of the mask (Fawcett 2006)"),
    _m("pointing-game", "localisation", "higher", False,
       "1 when the most relevant bin lies inside the mask (Zhang et al. 2018)"),
    # faithfulness (Quantus), on time windows across all mel bands
    _m("faithfulness-correlation", "faithfulness", "higher", True,
       "Pearson r between relevance of random frame subsets and the probability drop when "
       "they are removed (Bhatt et al. 2020); 50 model calls per clip", slow=True),
    _m("region-perturbation", "faithfulness", "higher", True,
       "AOPC: mean probability drop as 10-frame windows are removed most relevant first "
       "(Samek et al. 2017)"),
    _m("road", "faithfulness", "lower", True,
       "ROAD (MoRF): share of 10-90% removal levels (noisy linear imputation of the most "
       "relevant bins) at which the target class survives (Rong et al. 2022)", slow=True),
    # randomisation
    _m("random-logit", "randomisation", "lower", True,
       "SSIM between the map for the target and for a random other class "
       "(Sixt et al. 2020)"),
    _m("efficient-mprt", "randomisation", "higher", True,
       "relative rise in map entropy once every layer is randomised "
       "(Hedstrom et al. 2024)", slow=True),
    # robustness
    _m("max-sensitivity", "robustness", "lower", True,
       "largest relative change of the map under +-1 dB uniform input noise "
       "(Yeh et al. 2019)", slow=True),
    _m("local-lipschitz-estimate", "robustness", "lower", True,
       "largest map change over input change under 1 dB Gaussian input noise "
       "(Alvarez-Melis & Jaakkola 2018)", slow=True),
    # complexity: the map alone
    _m("sparseness", "complexity", "higher", False,
       "Gini index of the absolute relevance (Chalasani et al. 2020)"),
    _m("complexity", "complexity", "lower", False,
       "entropy of the share of absolute relevance per bin (Bhatt et al. 2020)"),
    # the engine's own scores
    _m("cue-agreement-rest", "cue-agreement", "higher", False,
       "share of expert cue expectations met in salient windows versus the rest of the clip"),
    _m("cue-agreement-neutral", "cue-agreement", "higher", False,
       "share of expert cue expectations met in salient windows versus the neutral baseline"),
    _m("cue-effect-rest", "cue-agreement", "higher", False,
       "mean standardised salient-vs-rest effect of the expert cues, signed by theory's "
       "expected direction (SD units; continuous beside the share)"),
    _m("cue-effect-neutral", "cue-agreement", "higher", False,
       "mean z of the salient windows against neutral speech, signed by theory's expected "
       "direction (SD units; continuous beside the share)"),
    _m("gt-precision", "ground-truth", "higher", False,
       "share of salient-window time inside the planted spans"),
    _m("gt-recall", "ground-truth", "higher", False,
       "share of planted-span time covered by salient windows"),
    _m("ablation-drop", "ablation", "higher", True,
       "drop of the target probability when the cue is neutralised in the salient windows"),
    _m("ablation-gain", "ablation", "higher", True,
       "salient-window ablation drop minus that of matched random windows, per dB of edit"),
    # reliability across training seeds (bsx.evaluation.seeds): needs --seed-checkpoints, so
    # not a default; not slow either: one more attribution per clip and seed model
    _m("seed-rank-correlation", "reliability", "higher", True,
       "mean pairwise Spearman rho of the time-relevance profiles of the same model trained "
       "with other seeds (1: the same frame ranking)"),
    _m("seed-window-iou", "reliability", "higher", True,
       "mean pairwise IoU of the time the salient windows of the other seeds' models cover"),
)

METRICS: dict[str, MetricSpec] = {m.name: m for m in _ALL}

DEFAULT_METRICS: list[str] = [
    "cue-agreement-rest", "cue-agreement-neutral", "cue-effect-rest", "cue-effect-neutral",
    "gt-precision", "gt-recall",
    "relevance-mass-accuracy", "relevance-rank-accuracy", "top-k-intersection", "auc",
    "pointing-game", "region-perturbation", "sparseness", "complexity",
    "ablation-drop", "ablation-gain",
]


def get_metric(name: str) -> MetricSpec:
    """A metric's spec by name (case-insensitive); UnknownName with a suggestion otherwise."""
    key = name.strip().lower()
    spec = METRICS.get(key)
    if spec is not None:
        return spec
    raise UnknownName(
        f"no metric '{name}'{did_you_mean(key, METRICS)}; available: {', '.join(METRICS)}"
    )


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

"""Metric specs: every metric declares its direction, and ranking reads it."""

from __future__ import annotations

import math

import pytest

from bsx.errors import UnknownName
from bsx.scoring.specs import DEFAULT_METRICS, METRICS, better, get_metric, rank, rank_by_metric


def test_every_metric_is_kebab_case_with_a_direction() -> None:
    for name, spec in METRICS.items():
        assert name == spec.name == name.lower()
        assert " " not in name and "_" not in name
        assert spec.direction in ("higher", "lower")
        assert spec.description


def test_engine_metrics_are_declared() -> None:
    for name in ("cue-agreement-rest", "cue-agreement-neutral", "gt-precision", "gt-recall",
                 "ablation-drop", "ablation-gain"):
        assert get_metric(name).direction == "higher"


def test_defaults_are_known_and_fast() -> None:
    assert DEFAULT_METRICS
    for name in DEFAULT_METRICS:
        assert not get_metric(name).slow


def test_directions_follow_the_papers() -> None:
    assert get_metric("complexity").direction == "lower"  # entropy: lower is simpler
    assert get_metric("sparseness").direction == "higher"  # Gini: higher is sparser
    assert get_metric("max-sensitivity").direction == "lower"
    assert get_metric("random-logit").direction == "lower"


def test_unknown_metric_suggests_a_name() -> None:
    with pytest.raises(UnknownName, match="did you mean 'pointing-game'"):
        get_metric("pointing-gam")
    assert get_metric(" Pointing-Game ").name == "pointing-game"


def test_better_reads_direction_and_handles_nan() -> None:
    assert better(0.9, 0.1, "higher") and not better(0.9, 0.1, "lower")
    assert better(0.1, 0.9, "lower")
    assert not better(0.5, 0.5, "higher")
    assert better(0.0, math.nan, "lower") and not better(math.nan, 0.0, "higher")
    with pytest.raises(ValueError, match="direction"):
        better(1.0, 0.0, "up")  # type: ignore[arg-type]


def test_rank_orders_methods_by_the_metrics_direction() -> None:
    scores = {"gradcam": 7.1, "random": 8.7, "crp": 6.5, "broken": math.nan}
    assert rank(scores, "higher") == ["random", "gradcam", "crp", "broken"]
    # complexity is an entropy: lower is better, so crp ranks first
    assert rank_by_metric(scores, "complexity") == ["crp", "gradcam", "random", "broken"]
    assert rank_by_metric(scores, "sparseness") == ["random", "gradcam", "crp", "broken"]


def test_every_metric_list_is_derived_from_the_specs() -> None:
    from bsx.report.posthoc import _SCORES, AGREEMENT_METRICS
    from bsx.scoring.faithfulness import NEEDS_EXPLAIN_FN, QUANTUS_METRICS, WAVEFORM_METRICS
    from bsx.scoring.localisation import LOCALISATION_METRICS

    by = {c: {n for n, s in METRICS.items() if s.compute == c}
          for c in ("quantus", "localisation", "cue-profiles")}
    assert set(QUANTUS_METRICS) == by["quantus"] and len(QUANTUS_METRICS) == 9
    assert set(LOCALISATION_METRICS) == by["localisation"] and len(LOCALISATION_METRICS) == 5
    assert set(AGREEMENT_METRICS) == by["cue-profiles"] == set(_SCORES)
    # waveform models: removal through the frame gate and the map-only scores, as before
    assert set(WAVEFORM_METRICS) == {"faithfulness-correlation", "region-perturbation",
                                     "sparseness", "complexity"}
    assert set(NEEDS_EXPLAIN_FN) == {"random-logit", "efficient-mprt", "max-sensitivity",
                                     "local-lipschitz-estimate"}
    assert [n for n in DEFAULT_METRICS if get_metric(n).needs_model] == [
        "region-perturbation", "ablation-drop", "ablation-gain"]
    assert "random-logit" not in DEFAULT_METRICS  # not slow, but opt-in


def test_a_spec_must_declare_what_it_consumes_and_a_known_compute() -> None:
    from bsx.scoring.specs import MetricSpec

    ok = dict(name="x", description="d", category="c", direction="higher", unit="u")
    with pytest.raises(ValueError, match="unit must say"):
        MetricSpec(**{**ok, "unit": " "})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="role must be"):
        MetricSpec(**ok, role="vibes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown input"):
        MetricSpec(**ok, consumes=("spectrogram",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no compute 'magic'"):
        MetricSpec(**ok, compute="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="direction"):
        MetricSpec(**{**ok, "direction": "up"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input_kinds"):
        MetricSpec(**ok, input_kinds=("video",))  # type: ignore[arg-type]


def test_an_unsupported_input_kind_is_nan_with_one_warning() -> None:
    from bsx.evaluation.computes import unsupported, warn_unsupported

    specs = {n: get_metric(n) for n in ("road", "random-logit", "region-perturbation", "auc")}
    assert unsupported(specs, "waveform") == ["road", "random-logit"]
    assert unsupported(specs, "logmel") == []
    with pytest.warns(UserWarning) as caught:
        warn_unsupported(specs, "waveform")
    assert len(caught) == 1
    assert "road, random-logit run on logmel models only" in str(caught[0].message)


def test_every_built_in_metric_has_a_unit_and_map_shape_scores_are_not_evidence() -> None:
    from bsx.scoring.specs import METRICS

    for spec in METRICS.values():
        assert spec.unit.strip(), spec.name
        lo_hi = spec.bounds
        assert lo_hi is None or lo_hi[0] < lo_hi[1], spec.name
    assert not METRICS["sparseness"].is_evidence and not METRICS["complexity"].is_evidence
    assert METRICS["region-perturbation"].evidence_role == "faithfulness"
    assert METRICS["cue-effect-rest"].evidence_role == "plausibility"
    assert METRICS["gt-precision"].is_evidence

"""The scorer contract (docs/scorers.md): scorers return values for the names asked of them;
a plugin metric may name the Quantus and localisation scorers and then scores exactly as the
built-in metric its factory rebuilds; a plugin naming a scorer that cannot run it is refused
when it registers, in one sentence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import bsx
from bsx.errors import BsxError
from bsx.plugins import collect, unregister
from bsx.scoring.scorers import PLUGIN_SCORERS, ScoreRow, batch_scorers, score
from bsx.scoring.specs import COMPUTES, METRICS, MetricSpec

QUIET: dict[str, Any] = dict(disable_warnings=True, display_progressbar=False,
                             return_aggregate=False)


def _sparseness(options: Any = None) -> Any:
    import quantus

    return quantus.Sparseness(abs=True, normalise=False, **QUIET)


def _pointing(options: Any = None) -> Any:
    import quantus

    return quantus.PointingGame(abs=False, normalise=False, **QUIET)


def spec(name: str, compute: str, factory: Any, category: str = "complexity") -> MetricSpec:
    return MetricSpec(name=name, category=category, direction="higher", compute=compute,
                      factory=factory, unit="toy unit", description=f"a plugin's {compute}",
                      consumes=("map",) if compute == "quantus" else ("map", "cue-masks"))


@pytest.fixture
def plugin_metrics() -> Iterator[list[str]]:
    names = ["my-sparseness", "my-pointing-game"]
    bsx.register_metric(spec(names[0], "quantus", _sparseness))
    bsx.register_metric(spec(names[1], "localisation", _pointing, "localisation"))
    yield names
    for n in names:
        unregister("metric", n)


def test_every_scorer_name_has_a_scorer_and_plugins_may_name_the_spec_readers() -> None:
    assert set(batch_scorers()) == set(COMPUTES)
    assert set(PLUGIN_SCORERS) <= set(COMPUTES)
    assert {m.compute for m in METRICS.values()} <= set(COMPUTES)


def test_a_scorer_returning_a_name_not_asked_of_it_is_a_bug_named_with_the_scorer() -> None:
    asked = [METRICS["sparseness"]]

    def sloppy(ctx: Any, mb: Any, specs: Any) -> list[ScoreRow]:
        return [ScoreRow(0, "sparseness", 0.5), ScoreRow(0, "complexity", 1.0)]

    with pytest.raises(RuntimeError, match="scorer 'quantus' returned complexity"):
        score("quantus", sloppy, None, None, asked)
    assert score("quantus", lambda c, m, s: [ScoreRow(0, "sparseness", 0.5)], None, None,
                 asked) == [ScoreRow(0, "sparseness", 0.5)]


def test_plugin_metrics_on_the_quantus_and_localisation_scorers_match_the_builtins(
        plugin_metrics: list[str]) -> None:
    run = bsx.evaluate(dataset="synth", methods=["gradcam"], cues=["librosa"],
                       metrics=["sparseness", "pointing-game", *plugin_metrics],
                       dataset_options={"per_class": 2}, split="all", limit=6, workers=1)
    r = run.results
    for mine, builtin in (("my-sparseness", "sparseness"), ("my-pointing-game",
                                                             "pointing-game")):
        a = r[r["metric"] == mine].sort_values(["clip_id", "cues", "against"])
        b = r[r["metric"] == builtin].sort_values(["clip_id", "cues", "against"])
        assert len(a) == len(b) > 0, mine
        assert np.isfinite(a["value"]).sum() >= 3, mine  # NaN only where a mask is unusable
        np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), err_msg=mine)
        assert (a["against"].to_numpy() == b["against"].to_numpy()).all()
    assert set(r.loc[r["metric"] == "my-sparseness", "direction"]) == {"higher"}


@pytest.mark.parametrize("compute", ["ablation", "seed-models", "cue-profiles",
                                     "planted-windows"])
def test_a_plugin_metric_on_a_builtin_only_scorer_is_refused_when_it_registers(
        compute: str) -> None:
    with pytest.raises(BsxError, match=f"scorer '{compute}' serves bsx's own metrics only; "
                                       "a plugin metric names one of clip, quantus, "
                                       "localisation"):
        bsx.register_metric(spec("my-" + compute, compute, _sparseness))

    class Plugin:
        @staticmethod
        def register_metrics(register: Any) -> None:
            register(spec("their-" + compute, compute, _sparseness))

    reg = collect([("their-dist", "1.0", "their-dist:plugin", Plugin())])
    assert "their-" + compute not in reg.specs["metric"]
    assert any(f"scorer '{compute}' serves bsx's own metrics only" in b.error
               for b in reg.broken)


def test_an_unknown_scorer_is_refused_in_one_sentence() -> None:
    with pytest.raises(ValueError, match="no compute 'nope'"):
        spec("my-nope", "nope", _sparseness)

"""Dimensional (regression) models: expectations per dimension, rank-correlation scores and
`bsx evaluate` per dimension, against planted truths.

Known answers: (1) hand-made profiles whose salient-window cue is a monotone function of the
prediction (rho = +1, or -1 when inverted) and whose random-window cue is shuffled; (2) the
synth arousal variant, whose word (the planted slot, the last SLOT_S seconds of each file)
gets louder as the planted arousal rises, explained for a model whose output IS the slot's
level in dB: its predictions must rank as the planted arousal does, its salient windows must
lie in the slot, and the salient windows' loudness must rise with the prediction (shown).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from torch import nn

import bsx
from bsx.errors import BadOptions
from bsx.expert import load_dimensions
from bsx.scoring.dimensional import (
    GAIN,
    RHO,
    SIGN,
    dimension_tables,
    pooled_estimates,
    rank_groups,
    rank_terms,
)
from bsx.synth.recipe import SAMPLE_RATE, SLOT_S

DIM_METRICS = [RHO, GAIN, SIGN, "gt-precision"]


def test_dimension_table_states_its_evidence() -> None:
    t = load_dimensions()
    arousal = {x.theory_cue: x for x in t.expectations("arousal")}
    for cue in ("loudness", "f0_level", "f0_variability", "hf_energy"):
        assert arousal[cue].definite and arousal[cue].expected == 1 and arousal[cue].source
    # valence: weak and mixed evidence, dominance: no definite direction -> never evidence
    assert not any(x.definite for x in t.expectations("valence"))
    assert not any(x.definite for x in t.expectations("dominance"))
    assert all(t.cells[k][1] for k in t.cells)  # every cell names its source


def test_rank_terms_average_to_spearman(rng: np.random.Generator) -> None:
    y, x = rng.normal(size=12), rng.normal(size=12)
    one = np.zeros(12, dtype=int)
    assert rank_terms(y, x, one).mean() == pytest.approx(spearmanr(y, x).statistic)
    spk = np.repeat(["a", "b", "c"], 4)
    groups, unit = rank_groups(list(spk), 12)
    assert unit == "speaker"
    terms = rank_terms(y, x, groups)
    for s in "abc":
        m = spk == s
        assert terms[m].mean() == pytest.approx(spearmanr(y[m], x[m]).statistic)
    # one clip per speaker: no speaker can be ranked, so clips are the units
    assert rank_groups([f"s{i}" for i in range(12)], 12)[1] == "clip"


def test_pooled_estimates_are_spearman_with_permutation_tests(rng: np.random.Generator) -> None:
    y = rng.normal(size=20)
    s, r = y + 1.5 * rng.normal(size=20), rng.normal(size=20)
    sal, gain = pooled_estimates(y, s, r)
    want = spearmanr(y, s)
    assert sal.effect == pytest.approx(want.statistic)
    assert sal.p == pytest.approx(want.pvalue, abs=0.01)  # permutation vs asymptotic p
    assert sal.ci_low < sal.effect < sal.ci_high <= 1.0  # the bootstrap re-ranks: within +-1
    assert gain.effect == pytest.approx(want.statistic - spearmanr(y, r).statistic)
    # salient windows that hold what random windows hold: no gain, p = 1
    _, same = pooled_estimates(y, s, s.copy(), sign=-1)
    assert same.effect == 0.0 and same.p == 1.0


def _tables(sign: float, rng: np.random.Generator, n: int = 14):
    """Profiles of n clips (one per speaker): salient loudness = sign x prediction, random
    windows' loudness unrelated to it."""
    pred = rng.normal(size=n)
    ids = [f"c{i}" for i in range(n)]
    clips = pd.DataFrame({"clip_id": ids, "path": ids, "label": "x", "speaker": ids,
                          "pred": "arousal", "target": "arousal", "correct": None,
                          "value_arousal": pred})
    prof = pd.DataFrame({"clip_id": ids, "method": "m", "cues": "librosa", "cue": "Loudness",
                         "salient_mean": sign * pred + 0.01 * rng.normal(size=n),
                         "random_mean": rng.permutation(pred)})
    return dimension_tables(prof, clips, "arousal", load_dimensions())


@pytest.mark.parametrize(("sign", "status"), [(1.0, "better"), (-1.0, "worse")])
def test_planted_correlation_is_shown_with_its_sign(sign: float, status: str,
                                                    rng: np.random.Generator) -> None:
    rows, summary = _tables(sign, rng)
    (row,) = summary
    assert row["rho_salient"] == pytest.approx(sign, abs=0.02)
    assert row["salient_status"] == status and row["unit"] == "clip"
    assert row["sign_agrees"] is (sign > 0)
    assert row["gain_effect"] * sign > 0.5
    rho = [r["value"] for r in rows if r["metric"] == RHO]
    assert np.mean(rho) == pytest.approx(row["rho_salient"])
    shares = {r["value"] for r in rows if r["metric"] == SIGN}
    assert shares == {1.0 if sign > 0 else 0.0}


def test_speakers_are_the_units_and_their_baselines_cannot_make_the_correlation(
        rng: np.random.Generator) -> None:
    """8 speakers x 4 clips: within each speaker the salient loudness rises with the
    prediction, but louder speakers get lower predictions, so the pooled correlation is
    negative; ranked within speakers it is +1 and shown with speakers as the units."""
    n_spk, per = 8, 4
    spk = np.repeat([f"s{i}" for i in range(n_spk)], per)
    offset = np.repeat(np.arange(n_spk) * 10.0, per)
    pred = rng.normal(size=n_spk * per) - offset
    loud = pred + 2 * offset  # + within speaker, - across speakers
    assert spearmanr(pred, loud).statistic < 0
    ids = [f"c{i}" for i in range(n_spk * per)]
    clips = pd.DataFrame({"clip_id": ids, "path": ids, "label": "x", "speaker": spk,
                          "pred": "arousal", "target": "arousal", "correct": None,
                          "value_arousal": pred})
    prof = pd.DataFrame({"clip_id": ids, "method": "m", "cues": "c", "cue": "Loudness",
                         "salient_mean": loud, "random_mean": rng.permutation(loud)})
    _, (row,) = dimension_tables(prof, clips, "arousal", load_dimensions())
    assert row["unit"] == "speaker" and row["salient_n_units"] == n_spk
    assert row["rho_salient"] == pytest.approx(1.0) and row["salient_status"] == "better"
    assert row["salient_p"] == pytest.approx(2 / 2**n_spk)  # every speaker's rho is +1
    # 5 speakers: a sign-flip test cannot reach p < 0.05, so it cannot be tested
    few = clips["speaker"].isin([f"s{i}" for i in range(5)])
    _, (row5,) = dimension_tables(prof[few.to_numpy()], clips[few], "arousal",
                                  load_dimensions())
    assert row5["salient_status"] == "untestable" and "needs at least 6" in row5["salient_reason"]


class SlotLevel(nn.Module):
    """(B, N) waveform -> (B, 2): the level (dB) of the file's last SLOT_S seconds (the synth
    slot, which holds the planted word) as arousal, and its negative as valence."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slot = x[:, -int(SLOT_S * SAMPLE_RATE):]
        db = 10 * torch.log10((slot**2).mean(dim=1, keepdim=True) + 1e-10) * self.gain
        return torch.cat([db, -db], dim=1)


class RmsLevel:
    """A cheap cue extractor (pYIN would take most of the test): RMS level in dB of 10 ms
    frames, as "Loudness", the name the dimensional table maps loudness to."""

    cues = ("Loudness",)

    def extract(self, waveform: np.ndarray, sample_rate: int):  # type: ignore[no-untyped-def]
        from bsx.cues.base import FRAME_S, CueTracks, grid_frames

        hop = int(round(sample_rate * FRAME_S))
        n = grid_frames(waveform.size, sample_rate)
        y = np.pad(np.asarray(waveform, dtype=float), (0, n * hop + hop))
        frames = y[: n * hop].reshape(n, hop)
        level = 10 * np.log10((frames**2).mean(axis=1) + 1e-10)
        return CueTracks(values={"Loudness": level}, voiced=level > -60, extractor="rms-level")


@pytest.fixture(scope="module")
def arousal_run(tmp_path_factory: pytest.TempPathFactory):
    from bsx.plugins import unregister

    root = tmp_path_factory.mktemp("arousal") / "corpus"
    out = tmp_path_factory.mktemp("run")
    model = bsx.Model(SlotLevel(), labels=["Arousal", "Valence"], input_kind="waveform",
                      task="regression")
    bsx.register_cues("rms-level", lambda options=None: RmsLevel())
    try:
        with pytest.warns(UserWarning):  # no split information: the in-memory model's warning
            ev = bsx.evaluate(
                model, dataset="synth", methods=["saliency"], cues=["rms-level"], out=out,
                metrics=DIM_METRICS, split="all", workers=1, dimension="arousal",
                dataset_options={"data_root": root, "variant": "arousal", "per_class": 4,
                                 "speakers": 16, "seed": 1, "workers": 1})
    finally:
        unregister("cue", "rms-level")
    return ev, out, root


def test_arousal_variant_plants_the_known_answer(arousal_run) -> None:
    ev, out, root = arousal_run
    meta = pd.read_csv(root / "metadata.csv")
    assert set(meta["label"]) == {"low", "mid", "high"} and meta["arousal"].between(-1, 1).all()
    # the planted level rises with arousal (the recipe's truth, read back from the manifest)
    assert spearmanr(meta["arousal"], meta["planted_loudness_db"]).statistic > 0.9
    clips = pd.read_csv(out / "clips.csv")
    by_name = meta.set_index("path")["arousal"]
    planted = [by_name[p.split("/")[-1]] for p in clips["path"]]
    assert spearmanr(planted, clips["value_arousal"]).statistic > 0.8  # the model reads it
    np.testing.assert_allclose(clips["true_arousal"], planted)  # the truth clips.csv carries
    assert ev.summary["model"]["spearman_vs_true"] > 0.8


def test_salient_loudness_rises_with_predicted_arousal(arousal_run) -> None:
    ev, out, _ = arousal_run
    (loud,) = [r for r in ev.summary["dimensional"] if r["cue"] == "Loudness"]
    assert loud["dimension"] == "arousal" and loud["expected"] == "up"
    assert loud["unit"] == "clip"  # one clip per speaker: clips are the units
    assert loud["rho_salient"] > 0.7 and loud["salient_status"] == "better"
    assert loud["sign_agrees"] is True and loud["rho_salient"] > loud["rho_random"]
    # the windows it rests on lie in the planted slot
    res = ev.results
    assert res.loc[res["metric"] == "gt-precision", "value"].mean() > 0.9
    assert set(res["metric"]) == set(DIM_METRICS)
    assert ev.summary["task"] == "regression" and ev.summary["skipped_metrics"] == {}
    html = (out / "report.html").read_text()
    assert "The model predicted <b>arousal</b> for <b>12</b> clips" in html
    assert "accuracy" not in html.split("Dimensional scores")[0].split("<h2>Summary")[1]
    assert "Loudness ~ arousal: the salient windows&#x27; Loudness moves" in html


def test_meta_evaluation_scores_the_dimension_correlations(arousal_run, tmp_path) -> None:
    """--meta-eval on the arousal run: dimension-cue-rho is re-scored on the meta clips for
    every map, and its effect against the shifted map is the difference of the two maps'
    Spearman rhos (scipy, from the stored meta profiles); the sign agreement says why it is
    not meta-evaluated."""
    from bsx.evaluation.meta import DIMENSION_NOTE, SIGN_WHY
    from bsx.plugins import unregister
    from bsx.results import ResultWriter

    _, _, root = arousal_run
    model = bsx.Model(SlotLevel(), labels=["Arousal", "Valence"], input_kind="waveform",
                      task="regression")
    bsx.register_cues("rms-level", lambda options=None: RmsLevel())
    try:
        with pytest.warns(UserWarning):
            ev = bsx.evaluate(
                model, dataset="synth", methods=["saliency"], cues=["rms-level"], out=tmp_path,
                metrics=DIM_METRICS, split="all", workers=1, dimension="arousal",
                meta_eval=True, meta_clips=12,
                dataset_options={"data_root": root, "variant": "arousal"})
    finally:
        unregister("cue", "rms-level")
    rows = {(r["metric"], r["against"]): r for r in ev.summary["meta_evaluation"]["rows"]}
    rho = rows[(RHO, "Loudness")]
    assert rho["n_clips"] == 12 and DIMENSION_NOTE in rho["verdict"]
    assert (GAIN, "Loudness") in rows
    assert rows[(SIGN, "")]["verdict"] == f"cannot be tested here ({SIGN_WHY})"
    prof = ResultWriter(tmp_path, resume=True).read("meta_profiles")
    prof = prof[(prof["method"] == "saliency") & (prof["cue"] == "Loudness")]
    value = pd.read_csv(tmp_path / "clips.csv").set_index("clip_id")["value_arousal"]

    def spearman(variant: str) -> float:
        p = prof[prof["variant"] == variant].set_index("clip_id")
        return float(spearmanr(value.reindex(p.index), p["salient_mean"]).statistic)

    want = spearman("original") - spearman("shifted")
    assert rho["vs_shifted"]["effect"] == pytest.approx(want, abs=1e-9)
    assert want > 0.3  # half a clip away, the windows leave the slot the model reads


def test_valence_is_described_never_judged(rng: np.random.Generator) -> None:
    pred = rng.normal(size=14)
    ids = [f"c{i}" for i in range(14)]
    clips = pd.DataFrame({"clip_id": ids, "path": ids, "label": "x", "speaker": ids,
                          "pred": "valence", "target": "valence", "correct": None,
                          "value_valence": pred})
    prof = pd.DataFrame({"clip_id": ids, "method": "m", "cues": "c", "cue": "Loudness",
                         "salient_mean": pred, "random_mean": rng.permutation(pred)})
    rows, (row,) = dimension_tables(prof, clips, "valence", load_dimensions())
    assert rows == []  # no definite expectation: no evidence rows
    assert row["expected"] == "none" and row["salient_status"] == "untestable"
    assert row["rho_salient"] == pytest.approx(1.0) and row["sign_agrees"] is None
    assert "no definite direction" in row["salient_reason"]


def test_all_dimensions_merge_into_one_folder(tmp_path) -> None:
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.dimensional import run_dimensions

    def run_one(cfg: EvalConfig, out):  # type: ignore[no-untyped-def]
        out.mkdir(parents=True)
        df = pd.DataFrame({"clip_id": ["a"], "metric": [RHO], "value": [1.0]})
        df.to_parquet(out / "results.parquet")
        df.to_csv(out / "results.csv", index=False)
        return {"dimensional": [{"dimension": cfg.dimension}]}

    summary = run_dimensions(EvalConfig(), tmp_path, ["arousal", "valence"], run_one)
    merged = pd.read_csv(tmp_path / "results.csv")
    assert merged["dimension"].tolist() == ["arousal", "valence"]
    assert pd.read_parquet(tmp_path / "results.parquet")["dimension"].tolist() == [
        "arousal", "valence"]
    assert [r["dimension"] for r in summary["dimensional"]] == ["arousal", "valence"]
    assert json.loads((tmp_path / "summary.json").read_text())["task"] == "regression"


def test_classifier_only_metrics_are_skipped_with_a_reason() -> None:
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.dimensional import regression_specs
    from bsx.scoring.specs import get_metric

    cfg = EvalConfig(metrics=["region-perturbation", "sparseness"], dimension="arousal")
    specs = {m: get_metric(m) for m in cfg.metrics}  # type: ignore[union-attr]
    with pytest.warns(UserWarning, match="region-perturbation.*class probability"):
        kept, skipped = regression_specs(cfg, specs, warn=True)
    assert "region-perturbation" not in kept and "sparseness" in kept and RHO in kept
    assert set(skipped) == {"region-perturbation"}


def test_dimension_option_is_checked() -> None:
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.dimensional import dimensions_of
    from bsx.models.checkpoint import LoadedModel
    from bsx.models.resolve import waveform_frontend

    def loaded(task: str) -> LoadedModel:
        return LoadedModel(net=nn.Identity(), labels=("arousal", "valence"),
                           frontend=waveform_frontend(), model_name="m", meta={"task": task})

    assert dimensions_of(EvalConfig(), loaded("regression")) == ["arousal", "valence"]
    assert dimensions_of(EvalConfig(dimension="Valence"), loaded("regression")) == ["valence"]
    with pytest.raises(BadOptions, match="accepted: arousal, valence or all"):
        dimensions_of(EvalConfig(dimension="power"), loaded("regression"))
    with pytest.raises(BadOptions, match="regression models only"):
        dimensions_of(EvalConfig(dimension="arousal"), loaded("classification"))
    assert dimensions_of(EvalConfig(), loaded("classification")) == []


def test_docs_table_is_the_packaged_table() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "dimensional.md").read_text()
    for (dim, cue), (direction, _, _) in load_dimensions().cells.items():
        assert f"| {dim} | {cue} | {direction} |" in doc, (dim, cue)

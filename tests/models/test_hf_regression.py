"""Dimensional emotion: a wav2vec2 with a regression head (problem_type "regression", outputs
arousal, dominance, valence) loads from its save_pretrained directory, reports values, not a
class, and is explained per dimension (the target is the dimension's index)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from bsx.audio import prepare
from bsx.cli.main import app
from bsx.errors import BadCheckpoint
from bsx.models.hf import build_config, load_hf, load_hf_model, new_classifier, save_hf
from bsx.models.hf_config import dimension_labels

DIMS = ("arousal", "dominance", "valence")
SR = 16000


@pytest.fixture(scope="module")
def regression_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_config("wav2vec2", ["Arousal", "Dominance", "Valence"], problem_type="regression")
    return save_hf(new_classifier(cfg, seed=2), tmp_path_factory.mktemp("dims"))


def test_dimensions_load_by_name_without_emotion_mapping(regression_dir):
    loaded = load_hf_model(regression_dir)
    assert loaded.labels == DIMS and loaded.meta["task"] == "regression"
    assert load_hf_model(regression_dir).net.model.config.problem_type == "regression"
    with pytest.raises(BadCheckpoint, match="names an output twice"):
        dimension_labels({"0": "arousal", "1": "Arousal"})
    with pytest.raises(BadCheckpoint, match="must name outputs 0..C-1"):
        dimension_labels({"0": "arousal", "2": "valence"})


def test_explain_reports_the_values_transformers_computes(regression_dir, wav, tmp_path,
                                                       explain_json):
    from transformers import AutoModelForAudioClassification, Wav2Vec2FeatureExtractor

    e = explain_json(wav, regression_dir, tmp_path / "a")
    _, _, fe = load_hf(regression_dir)
    prep = prepare(wav, fe)  # the segment the model saw
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(regression_dir)
    ref = AutoModelForAudioClassification.from_pretrained(regression_dir).eval()
    with torch.no_grad():
        x = extractor(prep.waveform, sampling_rate=SR, return_tensors="pt")["input_values"]
        want = ref(x).logits[0].numpy()
    assert e["task"] == "regression" and e["labels"] == list(DIMS)
    assert e["probabilities"] == [] and e["predicted"] is None
    np.testing.assert_allclose(e["values"], want, rtol=1e-4, atol=1e-6)
    assert e["target"] == 0  # 'predicted' on a regression model: its first dimension
    for w in e["windows_original"]:
        assert 0.0 <= w["start_s"] < w["end_s"] <= 2.5
    assert e["windows_original"]


def test_each_dimension_is_explained_by_its_own_gradient(regression_dir, wav, tmp_path,
                                                        explain_json):
    maps = {}
    for i, dim in enumerate(DIMS):
        e = explain_json(wav, regression_dir, tmp_path / dim, "--target", dim)
        assert e["target"] == i
        for w in e["windows_original"]:
            assert 0.0 <= w["start_s"] < w["end_s"] <= 2.5
        maps[dim] = [(w["start_frame"], w["share"]) for w in e["windows_model"]]
    assert len({tuple(m) for m in maps.values()}) == 3  # three outputs, three explanations
    by_index = explain_json(wav, regression_dir, tmp_path / "2", "--target", "2")
    assert [(w["start_frame"], w["share"]) for w in by_index["windows_model"]] == maps["valence"]


def test_evaluate_scores_one_dimension(regression_dir, tmp_path):
    """`bsx evaluate --dimension arousal` on the saved regression wav2vec2 and a tiny synth
    arousal corpus (read by --data-root alone): every clip explains the arousal output, the
    dimensional scores are written, the classifier-only metric is skipped with its reason."""
    import json

    import pandas as pd

    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    root = tmp_path / "corpus"
    Synth(SynthOptions(data_root=root, per_class=1, speakers=3, workers=1,
                       variant="arousal")).clips()
    res = CliRunner().invoke(app, [
        "evaluate", "--checkpoint", str(regression_dir), "--dimension", "arousal",
        "--method", "saliency", "--cues", "librosa", "--dataset", "synth", "--data-root",
        str(root), "--split", "all", "--workers", "1", "--metrics",
        "dimension-cue-rho,region-perturbation", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["task"] == "regression" and summary["dimension"] == "arousal"
    assert "class probability" in summary["skipped_metrics"]["region-perturbation"]
    clips = pd.read_csv(tmp_path / "run" / "clips.csv")
    assert len(clips) == 3 and (clips["target"] == "arousal").all()
    assert {f"value_{d}" for d in DIMS} <= set(clips.columns) and "true_arousal" in clips
    results = pd.read_csv(tmp_path / "run" / "results.csv")
    assert set(results["metric"]) - {"time-attribution", "time-cues"} == {"dimension-cue-rho"}
    # 3 clips: described, not judged (a sign-flip test needs 6 units)
    rows = [r for r in summary["dimensional"] if r["expected"] == "up"]
    assert rows and all(r["salient_status"] == "untestable" for r in rows)
    assert "model on 3 clips: predicted arousal" in res.output


def _dims_corpus(root: Path) -> Path:
    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    Synth(SynthOptions(data_root=root, per_class=2, speakers=6, workers=1,
                       variant="arousal")).clips()
    return root


def test_a_sharded_regression_run_equals_a_local_one(regression_dir, tmp_path):
    """`--shards 2` (the local executor) against one process, on 6 clips in batches of 2 (shards
    of 2 and 4 clips): the same per-clip rows and the same dimensional verdicts, whose
    correlations across all 6 clips only the merged tail can compute."""
    import json

    import pandas as pd

    root = _dims_corpus(tmp_path / "corpus")
    args = ["evaluate", "--checkpoint", str(regression_dir), "--dimension", "arousal",
            "--method", "saliency,random", "--cues", "librosa", "--dataset", "synth",
            "--data-root", str(root), "--split", "all", "--workers", "1", "--batch-size", "2",
            "--metrics", "dimension-cue-rho,dimension-cue-rho-gain,dimension-sign-agreement,"
            "gt-precision"]
    runs = {}
    for name, extra in (("local", []), ("sharded", ["--shards", "2"])):
        res = CliRunner().invoke(app, [*args, *extra, "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / name / "summary.json").read_text())
    sizes = [json.loads((tmp_path / "sharded" / "shards" / str(i) / "batches.json").read_text())
             ["n_clips"] for i in (0, 1)]
    assert sizes == [2, 4]
    local, sharded = runs["local"], runs["sharded"]
    assert sharded["task"] == "regression" and sharded["dimension"] == "arousal"
    assert local["dimensional"] and sharded["dimensional"] == local["dimensional"]
    assert sharded["model"] == local["model"] and local["model"]["n"] == 6
    cols = ["clip_id", "method", "cues", "metric", "against", "value"]
    a, b = (pd.read_parquet(tmp_path / n / "results.parquet").query(
        "not metric.str.startswith('time-')", engine="python")[cols]
        .sort_values(cols[:5]).reset_index(drop=True) for n in ("local", "sharded"))
    assert set(a["metric"]) >= {"dimension-cue-rho", "gt-precision"}
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-9)


def test_every_dimension_is_sharded_in_turn(regression_dir, tmp_path):
    """Without --dimension, a sharded run shards each dimension into out/<dimension>/shards/
    and merges it there; the merged summary equals a local run's."""
    import json

    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    root = tmp_path / "corpus"
    Synth(SynthOptions(data_root=root, per_class=1, speakers=3, workers=1,
                       variant="arousal")).clips()
    args = ["evaluate", "--checkpoint", str(regression_dir), "--method", "saliency", "--cues",
            "librosa", "--dataset", "synth", "--data-root", str(root), "--split", "all",
            "--workers", "1", "--batch-size", "1", "--metrics", "dimension-cue-rho"]
    runs = {}
    for name, extra in (("local", []), ("sharded", ["--shards", "2"])):
        res = CliRunner().invoke(app, [*args, *extra, "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / name / "summary.json").read_text())
    for dim in DIMS:
        assert (tmp_path / "sharded" / dim / "shards" / "1" / "batches.json").is_file()
        assert runs["sharded"]["dimensions"][dim]["dimension"] == dim
    assert list(runs["sharded"]["dimensions"]) == list(DIMS)
    assert runs["local"]["dimensional"] and \
        runs["sharded"]["dimensional"] == runs["local"]["dimensional"]

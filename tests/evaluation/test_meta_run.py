"""The meta-evaluation in an evaluate run (--meta-eval): opt-in, bounded to --meta-clips clips,
a row for every metric of the run in summary.json and a section in report.html."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bsx.evaluation import EvalConfig, run_evaluation

METRICS = [
    "gt-precision",
    "relevance-mass-accuracy",
    "region-perturbation",
    "cue-agreement-rest",
    "sparseness",
]


def _cfg(**kw: object) -> EvalConfig:
    base = dict(
        dataset_options={"per_class": 3, "seed": 3},
        split="all",
        methods=["gradcam", "random"],
        cues=["egemaps"],
        batch_size=8,
        workers=1,
        device="cpu",
        metrics=METRICS,
    )
    return EvalConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("meta")
    summary = run_evaluation(_cfg(meta_eval=True, meta_clips=8), out, resume=False, progress=False)
    return out, summary


def test_every_metric_has_a_row_and_a_verdict(run) -> None:  # type: ignore[no-untyped-def]
    out, summary = run
    meta = json.loads((out / "summary.json").read_text())["meta_evaluation"]
    assert len(meta["rows"]) == len(summary["meta_evaluation"]["rows"])
    assert {r["metric"] for r in meta["rows"]} == set(METRICS)
    assert meta["n_clips"] == 8 and meta["picked"] == 8
    for r in meta["rows"]:
        assert r["verdict"]
        assert r["vs_random"]["status"] in ("better", "worse", "not shown", "untestable")
    # the removal score has a ranking across baselines; map-only scores have none
    by = {(r["metric"], r["against"], r["cues"]): r for r in meta["rows"]}
    assert by[("region-perturbation", "", "")]["ranking_tau"] in (-1.0, 1.0)  # 2 subjects
    assert by[("sparseness", "", "")]["ranking_tau"] is None  # NaN in strict JSON
    # known answer with a small model: Grad-CAM's windows on the planted spans are told from
    # the same map shifted in time by half the content
    gt = by[("gt-precision", "planted", "")]
    assert gt["vs_shifted"]["status"] == "better" and gt["verdict"].startswith("reactive")
    assert set(meta["columns"]) >= {"vs_random", "resilience_shift", "ranking_tau", "verdict"}
    assert {r["method"] for r in summary["metrics"]} == {"gradcam", "random"}
    timings = pd.read_csv(out / "timings.csv")
    stage = timings[(timings["kind"] == "stage") & (timings["step"] == "meta-evaluation")]
    assert stage["clips"].sum() == 8 and (stage["seconds_per_clip"] > 0).all()
    from bsx.scoring.meta import meta_line

    evidence = [r for r in meta["rows"] if r["role"] != "description"]
    good = sum(r["verdict"].startswith("reactive and resilient") for r in evidence)
    assert meta_line(meta).startswith(f"meta-evaluation on 8 clips: {good} of {len(evidence)}")
    assert by[("sparseness", "", "")]["verdict"].endswith("not evidence")
    from bsx.scoring.meta import meta_frame

    flat = meta_frame(meta)
    assert len(flat) == len(meta["rows"]) and flat["verdict"].tolist() == [
        r["verdict"] for r in meta["rows"]
    ]
    assert flat["vs_shifted_effect"].iloc[0] == meta["rows"][0]["vs_shifted"]["effect"]
    from bsx.report.html import meta_section

    read_back = meta_section(meta)  # from summary.json: NaN is null there
    assert "None" not in read_back
    assert '<td class="num">–</td>' in read_back  # sparseness has no ranking tau
    html = (out / "report.html").read_text()
    assert "Which scores can be trusted here" in html and "resilience: 1-frame shift" in html


def test_values_are_the_run_scores_on_the_original_maps(run) -> None:  # type: ignore[no-untyped-def]
    out, _ = run
    parts = sorted((out / "parts").glob("meta-*.parquet"))
    meta = pd.concat([pd.read_parquet(p) for p in parts])
    res = pd.read_parquet(out / "results.parquet")
    orig = meta[(meta["variant"] == "original") & (meta["metric"] == "gt-precision")]
    run_vals = res[(res["metric"] == "gt-precision") & (res["method"] == "gradcam")]
    merged = orig.merge(run_vals, on="clip_id", suffixes=("_meta", "_run"))
    assert len(merged) == len(orig) > 0
    assert (merged["value_meta"] - merged["value_run"]).abs().max() < 1e-9
    rnd = meta[(meta["variant"] == "random") & (meta["metric"] == "relevance-mass-accuracy")]
    run_rnd = res[(res["metric"] == "relevance-mass-accuracy") & (res["method"] == "random")]
    m2 = rnd.merge(run_rnd, on=["clip_id", "against", "cues"], suffixes=("_meta", "_run"))
    assert len(m2) == len(rnd) > 0
    assert (m2["value_meta"] - m2["value_run"]).abs().max() < 1e-9


def test_a_resumed_run_reads_the_same_table_from_its_parts(run) -> None:  # type: ignore[no-untyped-def]
    out, summary = run
    again = run_evaluation(_cfg(meta_eval=True, meta_clips=8), out, resume=True, progress=False)
    assert json.dumps(again["meta_evaluation"], sort_keys=True, default=str) == json.dumps(
        summary["meta_evaluation"], sort_keys=True, default=str
    )


def test_off_by_default_and_config_unchanged() -> None:
    cfg = _cfg()
    assert cfg.meta_eval is False
    dumped = json.loads(cfg.model_dump_json())
    assert "meta_eval" not in dumped and "meta_clips" not in dumped
    assert "meta_clips" in json.loads(_cfg(meta_eval=True, meta_clips=4).model_dump_json())


def test_meta_clips_below_one_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bsx.cli",
            "evaluate",
            "--meta-eval",
            "--meta-clips",
            "0",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--meta-clips 0" in errors[0]
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="meta_clips"):
        _cfg(meta_clips=0)

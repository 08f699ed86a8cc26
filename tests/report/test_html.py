"""report.html on a hand-made run: summary in words, definitions, examples with audio."""

from __future__ import annotations

import base64
import io
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bsx.report.html import pick_examples, write_report
from bsx.report.summary import evidence_by_method, headline

SR = 16000


def _metric(method: str, mean: float, lo: float, hi: float, metric: str = "gt-precision",
            against: str = "planted", direction: str = "higher") -> dict:  # type: ignore[type-arg]
    return dict(method=method, cues="", metric=metric, against=against, direction=direction,
                category="ground-truth", mean=mean, ci_low=lo, ci_high=hi, n=3, dropped=0)


def test_evidence_counts_apart_from_map_shape_descriptions() -> None:
    rows = [_metric("m", 0.9, 0.85, 0.95), _metric("random", 0.5, 0.45, 0.55),
            _metric("m", 0.6, 0.5, 0.7, "gt-recall"), _metric("random", 0.55, 0.5, 0.6,
                                                              "gt-recall"),
            dict(_metric("m", 9.0, 8.9, 9.1, "complexity", "", "lower"),
                 category="complexity"),
            dict(_metric("random", 10.0, 9.9, 10.1, "complexity", "", "lower"),
                 category="complexity")]
    table = pd.DataFrame(rows)
    table["vs_random_status"] = ["better", None, "not shown", None, "better", None]
    v = evidence_by_method(table)["m"]
    assert v == {"ground-truth": {"better": ["gt-precision vs planted"],
                                  "not shown": ["gt-recall vs planted"]},
                 "description": {"better": ["complexity"]}}
    text = headline("m", v)
    # complexity is better than random but is named as a description, not counted
    assert text.startswith("m, evidence: ground truth better than random on 1 of 2 "
                           "(not shown on 1).")
    assert "Map-shape descriptions, not evidence (any structured map wins them): complexity" \
        in text


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """Three 1 s clips of a 440 Hz tone; method m's gt-precision 0.2 / 0.9 / 0.5."""
    rows, wins = [], []
    t = np.arange(SR) / SR
    for i, value in enumerate((0.2, 0.9, 0.5)):
        path = tmp_path / f"clip{i}.wav"
        sf.write(path, 0.5 * np.sin(2 * np.pi * 440 * t), SR, subtype="PCM_16")
        for method, v in (("m", value), ("random", 0.5)):
            rows.append(dict(clip_id=f"c{i}", path=str(path), label="angry", pred="angry",
                             target="angry", correct=True, method=method, cues="",
                             metric="gt-precision", against="planted", value=v,
                             direction="higher", category="ground-truth", seconds=0.0))
            wins.append(dict(clip_id=f"c{i}", method=method, rank=0, start_s=0.25, end_s=0.5,
                             model_start_s=0.25, model_end_s=0.5, share=1.0, padding_share=0.0))
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet")
    pd.DataFrame(wins).to_csv(tmp_path / "windows.csv", index=False)
    return tmp_path


def _write(run_dir: Path, **summary_extra: object) -> str:
    table = pd.DataFrame([_metric("m", 0.533, 0.2, 0.9), _metric("random", 0.5, 0.5, 0.5)])
    table["vs_random"] = [0.033, None]
    table["vs_random_status"] = ["untestable", None]
    summary = {"model": {"n": 3, "accuracy": 1.0, "uar": 1.0}, "n_clips": 3, "skipped": [],
               "metrics": table.to_dict(orient="records"), **summary_extra}
    config = {"config": {"dataset": "emodb", "split": "all", "methods": ["m", "random"],
                         "cues": ["egemaps"]},
              "labels": ["angry", "sad"], "model": "resnet-small",
              "checkpoint": {"trained_on": "synth", "sha256": "ab"}}
    return write_report(run_dir, summary, table, [], config).read_text()


def _audio(html: str) -> list[np.ndarray]:
    out = []
    for b64 in re.findall(r"data:audio/wav;base64,([A-Za-z0-9+/=]+)", html):
        y, sr = sf.read(io.BytesIO(base64.b64decode(b64)))
        assert sr == SR
        out.append(y)
    return out


def test_report_reads_as_a_research_report(run_dir: Path) -> None:
    html = _write(run_dir)
    assert html.index("<h2>Summary") < html.index("<h2>Figures") < html.index("<h2>Examples") \
        < html.index("<h2>Scores")
    assert "accuracy <b>1.00</b>" in html and "chance is 0.50 with 2 classes" in html
    assert ("m, evidence: ground truth better than random on 0 of 1 (cannot be tested on 1)."
            in html)
    assert "With fewer than 6 speakers no such test can pass" in html
    # the model's training corpus differs from the evaluated one: a warning box
    assert "trained on &#x27;synth&#x27; but is evaluated on &#x27;emodb&#x27;" in html
    # the metric's definition, direction and reference come from its spec
    assert "share of salient-window time inside the planted spans" in html
    assert "higher is better" in html
    assert "NaN" not in html and "<script" not in html


def test_examples_are_best_median_worst_with_clip_and_listenable_audio(run_dir: Path) -> None:
    picks = pick_examples(pd.read_parquet(run_dir / "results.parquet"))
    label, rows = picks["m"]
    assert label == "gt-precision vs planted"
    assert [(w, r["clip_id"], v) for w, r, v in rows] == [
        ("best", "c1", 0.9), ("median", "c2", 0.5), ("worst", "c0", 0.2)]
    html = _write(run_dir)
    audio = _audio(html)
    assert len(audio) == 2 * 3 * 2  # 2 methods x 3 examples x (clip, listenable)
    clip, heard = audio[0], audio[1]
    inside = slice(int(0.3 * SR), int(0.45 * SR))
    outside = slice(int(0.7 * SR), int(0.9 * SR))
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    assert np.isclose(rms(heard[inside]), rms(clip[inside]), rtol=1e-3)
    assert np.isclose(20 * np.log10(rms(heard[outside]) / rms(clip[outside])), -20.0, atol=0.1)
    assert html.count("data:image/png;base64,") == 6  # one spectrogram per example


def test_claims_are_rendered_when_present(run_dir: Path) -> None:
    claim = {"claim": "a", "title": "CRP windows hold the expert cues", "method": "crp",
             "cues": "egemaps", "effect": 0.31, "effect_name": "Cliff's delta", "ci_low": 0.1,
             "ci_high": 0.5, "p": 0.002, "p_fdr": 0.01, "n": 120, "n_clusters": 10,
             "verdict": "Supported: salient windows differ from the rest as theory expects."}
    html = _write(run_dir, claims=[claim])
    assert "Claim a: CRP windows hold the expert cues" in html
    assert "effect: Cliff&#x27;s delta" in html
    assert "<td>0.310 [0.100, 0.500]</td>" in html and "<td>0.010</td>" in html
    assert "<td>120 (10)</td>" in html and "Supported:" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_chromium_without_errors_or_overflow(run_dir: Path,
                                                                 tmp_path: Path) -> None:
    _write(run_dir)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import render_report
    finally:
        sys.path.pop(0)
    png = tmp_path / "shot.png"
    assert render_report.main([str(run_dir), "--png", str(png), "--width", "1000"]) == 0
    assert png.stat().st_size > 10_000


def test_only_the_first_methods_cue_profiles_are_open(tmp_path: Path) -> None:
    from bsx.report.html import figures_html

    names = ["metrics", "cue_profile_random_egemaps", "cue_profile_crp_egemaps",
             "cue_profile_crp_praat", "cue_profile_gradcam_egemaps"]
    paths = []
    for n in names:
        p = tmp_path / f"{n}.png"
        p.write_bytes(b"\x89PNG fake")
        paths.append(p)
    html = figures_html(paths, has_random=True)
    opened, folded = html.split("<details>")
    assert 'alt="metrics"' in opened and 'alt="cue_profile_crp_praat"' in opened
    assert 'alt="cue_profile_crp_egemaps"' in opened
    assert 'alt="cue_profile_random_egemaps"' in folded
    assert 'alt="cue_profile_gradcam_egemaps"' in folded and "(2 figures)" in folded


def test_example_spectrograms_fill_one_column_at_readable_width(run_dir: Path) -> None:
    from PIL import Image

    html = _write(run_dir)
    assert ".examples{display:grid;grid-template-columns:1fr;" in html  # one per row
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(pngs) == 6
    for b64 in pngs:
        w, h = Image.open(io.BytesIO(base64.b64decode(b64))).size
        assert 900 <= w <= 1100 and h < w / 2  # ~1000 px: shown 1:1 in a 1280 px window
    assert "(frequency in Hz, mel-spaced; time in seconds)" in html


def test_metric_caption_names_the_random_line_only_when_the_run_draws_one(
        tmp_path: Path) -> None:
    from bsx.report.figures import metric_comparison

    config = {"config": {"dataset": "synth", "split": "test", "methods": ["m"]}}
    summary = {"model": {}, "n_clips": 3, "skipped": []}

    def caption(methods: list[str]) -> tuple[str, str]:
        table = pd.DataFrame([_metric(m, 0.5, 0.4, 0.6) for m in methods])
        out = tmp_path / "+".join(methods)
        out.mkdir()
        png = metric_comparison(table, out / "metrics.png")
        html = write_report(out, summary, table, [png], config).read_text()
        (cap,) = re.findall(r"<figcaption>(.*?)</figcaption>", html)
        from matplotlib.image import imread

        assert imread(png).shape[1] > 100
        return cap, html

    cap, _ = caption(["m"])
    assert "random" not in cap.replace("no random baseline in this run (add --method random)",
                                       "")
    assert "dashed" not in cap and "no random baseline in this run" in cap
    cap, _ = caption(["m", "random"])
    assert "dashed grey line: random baseline (band: its 95% CI)" in cap


def test_metric_figure_title_says_no_random_line_when_none_is_drawn() -> None:
    from bsx.report.figures import metric_figure

    fig = metric_figure(pd.DataFrame([_metric("m", 0.5, 0.4, 0.6)]))
    (ax,) = [a for a in fig.axes if a.get_title()]
    assert not [ln for ln in ax.get_lines() if ln.get_label() == "random baseline"]
    assert "dashed" not in fig._suptitle.get_text()
    assert "no random baseline" in fig._suptitle.get_text()


def test_means_and_cis_print_with_the_same_decimals_in_report_and_leaderboard(
        run_dir: Path) -> None:
    from bsx.leaderboard.show import leaderboard_table, render
    from bsx.report.html import scores_table

    table = pd.DataFrame([_metric("m", 0.72, 0.65, 0.79), _metric("random", 0.5, 0.4, 0.6)])
    cells = scores_table(table)
    assert cells.loc[0, "m"] == "0.720 [0.650, 0.790]"  # was "0.720 [0.65, 0.79]"
    html = _write(run_dir)
    board = leaderboard_table(table.assign(dataset="d", model="x"))
    for text in (html, render(board, "markdown"), render(board, "html")):
        triples = re.findall(r"([+-]?\d+\.(\d+)) \[([+-]?\d+\.(\d+)), ([+-]?\d+\.(\d+))\]", text)
        assert triples, text[:200]
        assert {(len(t[1]), len(t[3]), len(t[5])) for t in triples} == {(3, 3, 3)}


def test_agreement_table_says_higher_hnr_is_less_breathy() -> None:
    from bsx.report.html import cue_readings

    t = pd.DataFrame({"cues": ["egemaps", "egemaps"], "cue": ["Breathiness", "Loudness"]})
    assert cue_readings(t)["cue"].tolist() == [
        "Breathiness (HNR: higher = less breathy)", "Loudness"]


def test_window_shares_arousal_groups_and_training_warning_are_reported(run_dir: Path) -> None:
    from bsx.scoring.claims import arousal_groups

    html = _write(
        run_dir,
        window_shares={"random": {"padding": 0.0, "pauses": 0.102, "speech": 0.898,
                                  "n_windows": 5, "n_clips": 3},
                       "m": {"padding": 0.047, "pauses": 0.123, "speech": 0.83,
                             "n_windows": 4, "n_clips": 3}},
        arousal_groups=arousal_groups("emodb", ["angry", "angry", "sad"]),
        training_data={"split_from": "unknown", "warning": "its clips may include training data"},
    )
    assert "<td>random</td><td>0.0%</td><td>10.2%</td><td>89.8%</td>" in html
    assert "<td>m</td><td>4.7%</td><td>12.3%</td>" in html
    assert "arousal groups on emodb: high angry (n=2); low sad (n=1)" in html
    assert "Warning: its clips may include training data" in html

"""Figures for papers: labels, units, direction, the random line and colours read off the
matplotlib Figure objects the figure functions return."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from bsx.report.explain_figures import clip_spectrogram_figure, mel_band_hz, spectrogram_figure
from bsx.report.figures import (
    cue_profile_figure,
    cue_profile_figures,
    metric_comparison,
    metric_figure,
)
from bsx.report.palette import RANDOM_COLOUR, method_colour
from bsx.windows import Window


def _metrics() -> pd.DataFrame:
    rows = []
    for method, mean in (("gradcam", 0.9), ("crp", 0.7), ("random", 0.4)):
        rows.append(dict(method=method, cues="", metric="gt-precision", against="planted",
                         direction="higher", category="ground-truth", mean=mean,
                         ci_low=mean - 0.05, ci_high=mean + 0.05))
        rows.append(dict(method=method, cues="", metric="complexity", against="",
                         direction="lower", category="complexity", mean=10 * mean,
                         ci_low=10 * mean - 0.1, ci_high=10 * mean + 0.1))
    return pd.DataFrame(rows)


def test_metric_figure_labels_units_direction_and_random_line() -> None:
    fig = metric_figure(_metrics())
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    by_title = {ax.get_title(): ax for ax in axes}
    gt, cx = by_title["gt-precision\nvs planted"], by_title["complexity"]
    assert "share of window time in spans (0-1)" in gt.get_ylabel()
    assert "higher is better" in gt.get_ylabel()
    assert "entropy (nats)" in cx.get_ylabel() and "lower is better" in cx.get_ylabel()
    assert gt.get_xlabel() == "method"
    # methods on the x axis, random only as the line
    assert [t.get_text() for t in gt.get_xticklabels()] == ["gradcam", "crp"]
    hlines = [ln for ln in gt.get_lines() if ln.get_label() == "random baseline"]
    assert len(hlines) == 1 and np.allclose(hlines[0].get_ydata(), 0.4)
    assert to_hex(hlines[0].get_color()) == RANDOM_COLOUR
    # each method's point in its own colour, at its mean
    points = [ln for ln in gt.get_lines() if ln.get_marker() == "o"]
    got = {to_hex(ln.get_color()): float(ln.get_ydata()[0]) for ln in points}
    assert got == {method_colour("gradcam"): 0.9, method_colour("crp"): 0.7}
    assert "95%" in fig._suptitle.get_text()


def test_method_colours_are_fixed_and_distinct() -> None:
    names = ["crp", "gradcam", "lrp", "occlusion", "saliency", "integrated-gradients"]
    assert len({method_colour(n) for n in names}) == len(names)
    assert method_colour("random") == RANDOM_COLOUR
    assert method_colour("my-plugin-method") == method_colour("my-plugin-method")


def _profiles() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for cues, cue in (("egemaps", "Loudness"), ("praat", "Loudness"), ("egemaps", "Pitch_lvl")):
        for i, label in enumerate(["angry", "neutral", "sad"] * 4):
            rows.append(dict(clip_id=f"c{i}", method="gradcam", cues=cues, cue=cue,
                             label=label, salient_mean=rng.normal(5, 1),
                             whole_mean=rng.normal(4, 1)))
    return pd.DataFrame(rows)


def test_cue_profile_figure_has_units_feature_names_and_says_what_the_bars_are() -> None:
    prof = _profiles()
    eg = cue_profile_figure(prof, "gradcam", "egemaps")
    axes = {ax.get_title().split("\n")[0]: ax for ax in eg.axes if ax.get_title()}
    assert axes["Loudness"].get_ylabel() == "Loudness (a.u., sone-like)"
    assert "Loudness_sma3" in axes["Loudness"].get_title()
    assert axes["Pitch_lvl"].get_ylabel() == "Pitch_lvl (st re 27.5 Hz)"
    assert "F0semitoneFrom27.5Hz_sma3nz" in axes["Pitch_lvl"].get_title()
    assert axes["Loudness"].get_xlabel() == "emotion (true label)"
    assert "95% CI of the mean" in eg._suptitle.get_text()
    pr = cue_profile_figure(prof, "gradcam", "praat")
    (ax,) = [a for a in pr.axes if a.get_title()]
    assert ax.get_ylabel() == "Loudness (dB)"


def test_cue_profile_bar_heights_are_the_mean_and_error_bars_the_t_ci() -> None:
    from scipy import stats

    prof = _profiles()
    fig = cue_profile_figure(prof, "gradcam", "praat")
    (ax,) = [a for a in fig.axes if a.get_title()]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    d = prof[(prof["cues"] == "praat") & (prof["label"] == "angry")]["salient_mean"]
    assert np.isclose(bars[0].get_height(), d.mean())  # first bar: salient, angry
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    segs = [c for c in ax.collections if hasattr(c, "get_segments")][0].get_segments()
    lo, hi = segs[0][0][1], segs[0][1][1]
    assert np.isclose(hi - lo, 2 * half)


def test_one_cue_profile_figure_per_cue_set_png_and_svg(tmp_path: Path) -> None:
    paths = cue_profile_figures(_profiles(), tmp_path, "gradcam")
    assert [p.name for p in paths] == ["cue_profile_gradcam_egemaps.png",
                                       "cue_profile_gradcam_praat.png"]
    for p in paths:
        assert p.is_file() and p.with_suffix(".svg").read_text().lstrip().startswith("<?xml")
    assert metric_comparison(_metrics(), tmp_path / "metrics.png").with_suffix(".svg").is_file()


def test_spectrogram_hz_axis_puts_a_tone_at_its_frequency() -> None:
    sr = 16000
    t = np.arange(sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    win = Window(0, 0, 0.2, 0.35, 1.0, 1.0)
    fig = clip_spectrogram_figure(y, sr, [win])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "frequency (Hz, mel-spaced)"
    assert ax.get_xlabel() == "time in the original file (s)"
    assert "dB" in fig.axes[1].get_ylabel()  # the colour bar
    ticks = {lab.get_text(): pos for lab, pos in zip(ax.get_yticklabels(), ax.get_yticks(),
                                                        strict=True)}
    img = ax.get_images()[0].get_array()
    peak_band = int(np.argmax(np.asarray(img).mean(axis=1)))
    assert abs(peak_band + 0.5 - ticks["1000"]) <= 2  # the 1 kHz tone sits at the 1000 tick
    assert abs(mel_band_hz(128, sr)[peak_band] - 1000) < 60
    # the window is an outline (no fill), so the spectrogram under it stays visible
    outlines = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(outlines) == 1 and not outlines[0].get_fill()
    assert np.isclose(outlines[0].get_x(), 0.2) and np.isclose(outlines[0].get_width(), 0.15)


def test_model_spectrogram_without_sample_rate_falls_back_to_mel_bands() -> None:
    fig = spectrogram_figure(np.zeros((128, 50)), [], 0.015)
    assert fig.axes[0].get_ylabel() == "mel band"
    assert fig.axes[0].get_xlabel() == "time on the model input (s)"


def _builtin_cues() -> list[tuple[str, str]]:
    from bsx.cues.egemaps import PAPER_COLUMNS
    from bsx.cues.librosa_cues import LibrosaCues
    from bsx.cues.praat import Praat

    pairs = [("egemaps", c) for c in PAPER_COLUMNS]
    pairs += [("praat", c) for c in Praat.cues] + [("librosa", c) for c in LibrosaCues.cues]
    return pairs + [(e, "Pitch_var") for e in ("egemaps", "praat", "librosa")]


@pytest.mark.parametrize(("extractor", "cue"), _builtin_cues())
def test_every_builtin_cue_has_a_unit(extractor: str, cue: str) -> None:
    from bsx.cues.units import cue_unit

    assert cue_unit(extractor, cue).unit and cue_unit(extractor, cue).feature


def test_egemaps_units_name_the_columns_the_extractor_reads() -> None:
    from bsx.cues.egemaps import PAPER_COLUMNS
    from bsx.cues.units import cue_unit

    for cue, column in PAPER_COLUMNS.items():
        assert cue_unit("egemaps", cue).feature == column
    assert cue_unit("egemaps", "F1frequency_sma3nz").unit == "Hz"
    assert cue_unit("some-plugin", "X").unit == ""


def _one_method(metric: str, mean: float, lo: float, hi: float,
                direction: str = "higher") -> pd.DataFrame:
    return pd.DataFrame([dict(method="gradcam", cues="", metric=metric, against="expert-cues",
                              direction=direction, category="localisation", mean=mean,
                              ci_low=lo, ci_high=hi)])


def _panel(fig) -> object:  # type: ignore[no-untyped-def]
    (ax,) = [a for a in fig.axes if a.get_title()]
    return ax


def test_a_bounded_score_is_drawn_on_its_whole_range_even_with_one_method() -> None:
    # pointing-game 0.96-1.04 on a 0-1 score: matplotlib alone zooms to ~0.95-1.05
    ax = _panel(metric_figure(_one_method("pointing-game", 1.0, 0.96, 1.0)))
    lo, hi = ax.get_ylim()
    assert lo == pytest.approx(-0.04) and hi == pytest.approx(1.04)
    assert "hit rate (0-1)" in ax.get_ylabel()
    # a correlation-bounded score on -1..1
    ax = _panel(metric_figure(_one_method("faithfulness-correlation", 0.1, 0.08, 0.12)))
    assert ax.get_ylim() == pytest.approx((-1.08, 1.08))


def test_unit_and_bounds_come_from_the_metric_spec() -> None:
    from bsx.report import figures
    from bsx.scoring.specs import METRICS

    assert not hasattr(figures, "METRIC_UNITS")  # one place for units: the specs
    for name, spec in METRICS.items():
        fig = metric_figure(_one_method(name, 0.5, 0.4, 0.6, spec.direction))
        ax = _panel(fig)
        assert ax.get_ylabel().startswith(spec.unit), name
        if spec.bounds is None:  # unbounded: matplotlib's range around the data
            lo, hi = ax.get_ylim()
            assert 0.3 < lo < 0.4 and 0.6 < hi < 0.7, name
        else:
            assert ax.get_ylim()[0] < spec.bounds[0] and ax.get_ylim()[1] > spec.bounds[1]
        plt.close(fig)
    gain = _panel(metric_figure(_one_method("ablation-gain", 0.01, 0.0, 0.02)))
    assert "per dB" in gain.get_ylabel()


def test_an_unknown_plugin_metric_says_score_and_keeps_the_data_range() -> None:
    ax = _panel(metric_figure(_one_method("my-plugin-score", 10.0, 9.0, 11.0)))
    assert ax.get_ylabel().startswith("score\n")
    lo, hi = ax.get_ylim()
    assert 8.0 < lo < 9.0 and 11.0 < hi < 12.0


def _extents(fig, texts) -> list:  # type: ignore[no-untyped-def]
    r = fig.canvas.get_renderer()
    return [t.get_window_extent(r) for t in texts if t.get_text()]


def _overlapping(boxes: list) -> list[tuple[int, int]]:
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]


def test_example_spectrogram_is_readable_at_1280_px_and_its_labels_do_not_overlap() -> None:
    from bsx.report.explain_figures import DPI

    sr = 16000
    y = np.random.default_rng(0).normal(0, 0.1, 3 * sr)
    # four windows side by side and one narrow pair: rank labels would sit on one another
    spans = [(0.50, 0.56), (0.56, 0.62), (0.62, 0.68), (0.68, 0.74), (2.0, 2.5)]
    wins = [Window(0, 0, a, b, 1.0, 1.0) for a, b in spans]
    fig = clip_spectrogram_figure(y, sr, wins, title="gradcam: salient windows")
    ax = fig.axes[0]
    width_px = fig.get_figwidth() * DPI
    assert 900 <= width_px <= 1100  # shown 1:1 in report.html's single column at 1280 px
    # text at least 9 pt at that dpi: >= 12 px on screen
    for t in [*ax.get_yticklabels(), *ax.get_xticklabels(), ax.xaxis.label, ax.yaxis.label]:
        assert t.get_fontsize() >= 9
    assert ax.get_xlabel() == "time in the original file (s)"
    assert ax.get_ylabel() == "frequency (Hz, mel-spaced)"
    fig.canvas.draw()
    assert _overlapping(_extents(fig, ax.get_yticklabels())) == []
    ranks = [t for t in ax.texts if t.get_text().startswith("#")]
    assert [t.get_text() for t in ranks] == ["#1", "#2", "#3", "#4", "#5"]
    assert _overlapping(_extents(fig, ranks)) == []
    # every window outlined, at its own time
    outlines = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(round(p.get_x(), 2), round(p.get_x() + p.get_width(), 2)) for p in outlines] \
        == spans
    plt.close(fig)


def test_hz_ticks_keep_a_gap_so_100_and_250_hz_do_not_collide() -> None:
    fig = spectrogram_figure(np.zeros((128, 300)), [], 0.01, mel_sr=16000)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "100" in labels and "250" not in labels and "1000" in labels and "4000" in labels
    ticks = np.diff(ax.get_yticks())
    assert ticks.min() >= 0.07 * 128
    plt.close(fig)


def test_breathiness_says_it_is_hnr_and_that_higher_is_less_breathy() -> None:
    from bsx.cues.units import cue_unit

    rows = []
    for i, label in enumerate(["angry", "neutral", "sad"] * 3):
        rows.append(dict(clip_id=f"c{i}", method="gradcam", cues="egemaps", cue="Breathiness",
                         label=label, salient_mean=10.0 + i, whole_mean=9.0 + i))
    fig = cue_profile_figure(pd.DataFrame(rows), "gradcam", "egemaps")
    (ax,) = [a for a in fig.axes if a.get_title()]
    assert ax.get_ylabel() == "Breathiness (dB)\nHNR: higher = less breathy"
    assert "HNRdBACF_sma3nz" in ax.get_title()
    assert cue_unit("praat", "Breathiness").reading == "HNR: higher = less breathy"
    assert cue_unit("egemaps", "Loudness").reading == ""
    plt.close(fig)

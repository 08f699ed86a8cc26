"""The synth corpus: its ground-truth mask is true, its planted cues are really there.

Truths used: (1) what the model receives outside the planted span (bsx.audio, the paper
front-end) must not tell the class: a linear probe stays at chance on held-out speakers,
and for one speaker and word the frames outside the span are identical under every
emotion; (2) Praat (parselmouth), independent of the generator, measures each planted cue
inside the span with the intended direction and size, and no difference outside it.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import parselmouth
import pytest
import soundfile as sf
from parselmouth.praat import call
from typer.testing import CliRunner

from bsx.audio import PRESETS, prepare, prepare_waveform
from bsx.datasets.synth import Synth
from bsx.datasets.synth_options import SYNTH_EMOTIONS, SynthOptions
from bsx.errors import BadDataset
from bsx.synth import recipe

FE = PRESETS["paper"]
SR = recipe.SAMPLE_RATE


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    root = tmp_path_factory.mktemp("synth") / "c"
    ds = Synth(SynthOptions(data_root=root, per_class=12, speakers=6, seed=3, workers=2))
    ds.clips()
    return ds


def _frames(p, span: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Masks over spectrogram frames: (frames whose analysis window touches the span on the
    model's timeline, frames whose centre lies inside it)."""
    a, b = (float(p.to_model(t)) for t in span)
    centre = np.arange(p.logmel.shape[1]) * FE.frame_s
    half = FE.n_fft / 2 / FE.sample_rate
    return (centre + half > a) & (centre - half < b), (centre >= a) & (centre <= b)


def test_clips_carry_labels_speakers_and_ground_truth(corpus):
    clips = corpus.clips()
    assert corpus.labels == SYNTH_EMOTIONS
    assert len(clips) == 60
    assert {c.label: sum(d.label == c.label for d in clips) for c in clips} == dict.fromkeys(
        SYNTH_EMOTIONS, 12)
    assert len({c.speaker for c in clips}) == 6
    for c in clips:
        info = sf.info(str(c.path))
        assert info.samplerate == SR and info.subtype == "PCM_16"
        (s, e), (ws, we) = c.meta["spans"][0], c.meta["word_span"]
        assert e - s == pytest.approx(recipe.SLOT_S, abs=1e-3)
        assert s < ws < we <= e == pytest.approx(info.duration, abs=1e-3)
        assert info.duration < FE.duration_s  # nothing is cut by the 2.0 s input
        assert set(c.meta["planted"]) == set(recipe.CUE_NAMES)
        assert c.meta["text"] == f"Say the word {c.meta['word']}"
    with open(corpus.root / recipe.METADATA, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"path", "label", "speaker", "span_start", "span_end", "planted_f0_semitones",
            "seed"} <= set(rows[0])


def test_linear_probe_sees_the_class_inside_the_span_only(corpus):
    """Mean log-mel (32 bands) outside vs inside the span, 3 folds of 2 unseen speakers."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clips = corpus.clips()
    x_in, x_out = [], []
    for c in clips:
        p = prepare(c.path, FE)
        assert p.trim_offset_s == 0.0
        sees, inside = _frames(p, tuple(c.meta["spans"][0]))
        x_out.append(p.logmel[:, ~sees].mean(1).reshape(32, 4).mean(1))
        x_in.append(p.logmel[:, inside].mean(1).reshape(32, 4).mean(1))
    y = np.array([c.label for c in clips])
    spk = np.array([c.speaker for c in clips])
    speakers = sorted(set(spk))
    acc: dict[str, list[float]] = {"in": [], "out": []}
    for k in range(3):
        test = np.isin(spk, speakers[k::3])
        for name, x in (("in", np.array(x_in)), ("out", np.array(x_out))):
            clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
            clf.fit(x[~test], y[~test])
            acc[name].append(clf.score(x[test], y[test]))
    assert np.mean(acc["out"]) <= 0.3  # chance is 0.2
    assert np.mean(acc["in"]) >= 0.6


def _render_all(speaker: int, word: str, lead_s: float = 0.1) -> dict[str, tuple]:
    """The same speaker, word and layout under every emotion's exact profile."""
    out = {}
    for emotion in SYNTH_EMOTIONS:
        plan = recipe.ClipPlan(index=0, emotion=emotion, speaker=speaker, word=word,
                               lead_s=lead_s, seed=11, cues=recipe.PROFILES[emotion])
        out[emotion] = recipe.render(plan)
    return out


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, tuple]]:
    return [_render_all(0, "bean"), _render_all(3, "road"), _render_all(6, "mood")]


def test_outside_the_span_the_model_input_is_identical_for_every_emotion(rendered):
    for clips in rendered:
        spans = {e: (row["span_start"], row["span_end"]) for e, (_, row) in clips.items()}
        assert len(set(spans.values())) == 1  # the slot does not move with the class
        preps = {e: prepare_waveform(pcm.astype(np.float32) / 32768, FE)
                 for e, (pcm, _) in clips.items()}
        sees, _ = _frames(preps["neutral"], spans["neutral"])
        for e in SYNTH_EMOTIONS:
            np.testing.assert_allclose(preps[e].logmel[:, ~sees],
                                       preps["neutral"].logmel[:, ~sees], atol=1e-3)
            if e != "neutral":
                diff = np.abs(preps[e].logmel[:, sees] - preps["neutral"].logmel[:, sees])
                assert diff.mean() > 1.0


def _measure(pcm: np.ndarray, row: dict, part: str) -> dict[str, float]:
    """Praat measurements over the word ("in") or the carrier before the span ("out")."""
    snd = parselmouth.Sound(pcm.astype(np.float64) / 32768, SR)
    a, b = (row["word_start"], row["word_end"]) if part == "in" else (0.0, row["span_start"])
    pitch = snd.to_pitch_cc(0.01, 60, 600)
    t, f = pitch.xs(), pitch.selected_array["frequency"]
    st = 12 * np.log2(f[(t >= a) & (t <= b) & (f > 0)])
    seg = snd.extract_part(a, b)
    pp = call(seg, "To PointProcess (periodic, cc)", 60, 600)
    spec = seg.to_spectrum()
    return {
        "f0_st": float(np.median(st)),
        "f0_range_st": float(np.percentile(st, 90) - np.percentile(st, 10)),
        "db": float(call(seg.to_intensity(75), "Get mean", 0, 0, "energy")),
        "jitter": float(call(pp, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)),
        "hnr": float(call(seg.to_harmonicity_cc(0.01, 60, 0.1, 1.0), "Get mean", 0, 0)),
        "alpha_db": float(10 * np.log10(call(spec, "Get band energy", 1000, 5000)
                                        / call(spec, "Get band energy", 50, 1000))),
        "dur": b - a,
    }


def test_praat_finds_each_planted_cue_inside_the_span_and_none_outside(rendered):
    jitter_gain: dict[str, list[float]] = {e: [] for e in SYNTH_EMOTIONS}
    hnr_drop: dict[str, list[float]] = {e: [] for e in SYNTH_EMOTIONS}
    for clips in rendered:
        m_in = {e: _measure(pcm, row, "in") for e, (pcm, row) in clips.items()}
        m_out = {e: _measure(pcm, row, "out") for e, (pcm, row) in clips.items()}
        n_in, n_out = m_in["neutral"], m_out["neutral"]
        for e in SYNTH_EMOTIONS:
            planted = recipe.PROFILES[e]
            row = clips[e][1]
            # outside: the carrier measures the same under every emotion
            for key in ("f0_st", "db", "hnr", "alpha_db"):
                assert m_out[e][key] == pytest.approx(n_out[key], abs=1e-6), (e, key)
            if e == "neutral":
                continue
            # inside vs the rest of the clip, relative to neutral (= inside vs neutral, since
            # the rest is identical), by about the planted size
            contrast = (m_in[e]["f0_st"] - m_out[e]["f0_st"]) - (n_in["f0_st"] - n_out["f0_st"])
            assert contrast == pytest.approx(planted.f0_semitones, abs=0.75), e
            assert m_in[e]["db"] - n_in["db"] == pytest.approx(row["planted_loudness_db"],
                                                               abs=0.75), e
            assert n_in["dur"] / m_in[e]["dur"] == pytest.approx(planted.rate, rel=0.15), e
            range_ratio = m_in[e]["f0_range_st"] / n_in["f0_range_st"]
            assert (range_ratio > 1.15) if planted.f0_range > 1 else (range_ratio < 0.85), e
            d_alpha = m_in[e]["alpha_db"] - n_in["alpha_db"]
            assert np.sign(d_alpha) == np.sign(planted.tilt_db_oct) and abs(d_alpha) > 1.0, e
            jitter_gain[e].append(m_in[e]["jitter"] - n_in["jitter"])
            hnr_drop[e].append(n_in["hnr"] - m_in[e]["hnr"])
    # jitter and HNR on a short espeak word are noisy (espeak's own jitter is ~2%): averaged
    # over the three speakers, the planted perturbation shows with at least a third of its
    # size on top of it, and the breathiest class loses HNR
    for e in ("angry", "fear"):
        assert np.mean(jitter_gain[e]) > recipe.PROFILES[e].jitter / 3, e
    assert np.mean(hnr_drop["sad"]) > 2.0


def _digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.iterdir()) if p.suffix in (".wav", ".csv")}


def test_same_seed_gives_byte_identical_audio_and_another_seed_differs(tmp_path):
    one = recipe.generate(tmp_path / "a", per_class=2, seed=5, n_speakers=3, workers=1)
    two = recipe.generate(tmp_path / "b", per_class=2, seed=5, n_speakers=3, workers=2)
    other = recipe.generate(tmp_path / "c", per_class=2, seed=6, n_speakers=3, workers=2)
    a, b, c = _digest(one.parent), _digest(two.parent), _digest(other.parent)
    assert len(a) == 11 and a == b
    assert set(a.values()).isdisjoint(c.values())


def test_cache_reuse_subsets_and_bad_options(tmp_path):
    opts = SynthOptions(per_class=1, speakers=3, emotions="sad,angry")
    ds = Synth(opts)
    assert ds.labels == ("angry", "sad")
    clips = ds.clips()
    assert ds.root.parent.parent == Path(__import__("os").environ["BSX_CACHE_DIR"])
    stamp = (ds.root / recipe.METADATA).stat().st_mtime_ns
    assert [c.path for c in Synth(opts).clips()] == [c.path for c in clips]
    assert (ds.root / recipe.METADATA).stat().st_mtime_ns == stamp  # reused, not regenerated
    with pytest.raises(BadDataset, match="no emotion 'angri'.*did you mean 'angry'"):
        Synth(SynthOptions(emotions=["angri"]))
    with pytest.raises(BadDataset, match="per_class=1, not 2"):
        Synth(SynthOptions(data_root=ds.root, per_class=2)).clips()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(BadDataset, match="holds no synth corpus"):
        Synth(SynthOptions(data_root=tmp_path / "junk")).clips()


def test_plugin_and_cli(tmp_path):
    from bsx.cli.main import app
    from bsx.plugins import build

    ds = build("dataset", "synth", options={"data_root": str(tmp_path / "p"), "per_class": 1,
                                             "speakers": 3})
    assert isinstance(ds, Synth) and len(ds.clips()) == 5
    result = CliRunner().invoke(app, ["data", "synth", "--out", str(tmp_path / "cli"),
                                      "--per-class", "1", "--speakers", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / recipe.METADATA).is_file()
    assert _digest(tmp_path / "cli") == _digest(tmp_path / "p")  # same options, same bytes

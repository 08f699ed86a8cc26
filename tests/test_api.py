"""The Python API as a notebook uses it: an in-memory nn.Module, no package, no entry point.

A tiny CNN on log-mel input with the synth corpus's labels is explained with bsx.explain and
evaluated with bsx.evaluate; a method and a metric registered in-process are used by both.
The planted truths: a tone that starts LEAD_S into the clip (the front-end trims the silence
before it, so no relevance may land there), and an in-process method whose relevance lies in
model frames SPAN only (its windows must start inside it, and all of its relevance lies in the
clip's first second, which the in-process metric measures).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import bsx
from bsx.errors import BadAudio, BsxError, NameClash, UnknownName
from bsx.plugins import IN_PROCESS, lookup, unregister

LABELS = ("angry", "fear", "happy", "neutral", "sad")  # the synth corpus's emotions
SR = 22050  # not the front-end's 16 kHz: the array is resampled
LEAD_S, TONE_S, TAIL_S = 0.5, 2.4, 0.6  # the tone fills the paper front-end's 2 s unit
SPAN = (20, 41)  # model frames [20, 41) hold all of the planted method's relevance
FRAME_S = 0.015  # the paper front-end: 240-sample hop at 16 kHz


class TinyCnn(nn.Module):
    """(B, 1, 128, T) log-mel -> (B, 5) logits; untrained, seeded."""

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(8, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def planted_span(model: nn.Module, batch: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relevance 1 in model frames SPAN of every mel band, 0 elsewhere."""
    rel = torch.zeros(batch.shape[0], batch.shape[2], batch.shape[3])
    rel[..., SPAN[0] : SPAN[1]] = 1.0
    return rel


def share_before_1s(clip) -> float:  # type: ignore[no-untyped-def]
    """Share of the map's |relevance| in frames centred before 1 s of the model timeline."""
    a = np.abs(clip.map)
    t = np.arange(a.shape[1]) * clip.frame_s
    return float(a[:, t < 1.0].sum() / a.sum())


@pytest.fixture(scope="module")
def model() -> bsx.Model:
    torch.manual_seed(0)
    return bsx.Model(TinyCnn(len(LABELS)), labels=LABELS, input_kind="logmel", name="tiny-cnn")


@pytest.fixture(scope="module")
def registered() -> Iterator[None]:
    bsx.register_method("planted-span", planted_span)
    bsx.register_metric(
        name="share-before-1s",
        direction="higher",
        unit="share of relevance",
        category="localisation",
    )(share_before_1s)
    yield
    unregister("method", "planted-span")
    unregister("metric", "share-before-1s")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    t = np.arange(int(TONE_S * SR)) / SR
    tone = 0.4 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.concatenate([np.zeros(int(LEAD_S * SR)), tone, np.zeros(int(TAIL_S * SR))]).astype(
        np.float32
    )


def test_explain_an_in_memory_module(model: bsx.Model, clip: np.ndarray) -> None:
    e = bsx.explain(model, clip, sample_rate=SR, method="gradcam", cues="egemaps")
    # the prediction is the module's own softmax on the log-mel the front-end made
    from librosa import resample

    from bsx.audio import get_frontend, prepare_waveform

    y16 = resample(clip, orig_sr=SR, target_sr=16000, res_type="soxr_hq")
    prep = prepare_waveform(y16, get_frontend("paper"))
    with torch.no_grad():
        want = torch.softmax(model.module(torch.from_numpy(prep.logmel)[None, None]), 1)[0]
    np.testing.assert_allclose(e.probabilities, want.numpy(), rtol=1e-5, atol=1e-6)
    assert e.labels == LABELS and e.label == LABELS[int(want.argmax())]
    assert e.prediction == dict(zip(LABELS, e.probabilities, strict=True))
    # relevance on the original timeline: one frame per hop of the whole clip
    duration = LEAD_S + TONE_S + TAIL_S
    assert e.frame_s == FRAME_S
    assert e.relevance.shape == (128, 1 + int(round(duration * 16000)) // 240)
    onset = int(LEAD_S / FRAME_S)
    assert not e.relevance[:, : onset - 1].any()  # the trimmed lead silence: never seen
    assert not e.relevance[:, onset + 134 + 1 :].any()  # nor what follows the 2 s unit
    assert e.relevance.any()
    # windows inside the clip, and inside what the model saw (tone onset + 2 s)
    assert 1 <= len(e.windows) <= 5
    for start, end in e.windows:
        assert LEAD_S - 0.02 <= start <= end <= LEAD_S + 2.0 + 0.02
    # the cue profile: the tone's loudness measured in the windows and the rest
    assert e.cues is not None and "Loudness" in e.cues.cues
    assert e.cues.content[1] == pytest.approx(2.0, abs=0.02)
    assert np.isfinite(e.cues.get("Loudness", "whole").mean)


def test_an_in_process_method_explains(
    model: bsx.Model, clip: np.ndarray, registered: None
) -> None:
    assert lookup("method", "Planted-Span").dist == IN_PROCESS
    e = bsx.explain(model, clip, sample_rate=SR, method="planted-span", cues=None, k=2)
    assert e.cues is None
    frames = np.flatnonzero(e.relevance.sum(axis=0))
    shift = int(round(LEAD_S / FRAME_S))
    assert len(frames) == SPAN[1] - SPAN[0] and np.all(np.diff(frames) == 1)
    assert abs(frames[0] - (SPAN[0] + shift)) <= 2  # moved by the trim offset
    assert e.relevance.sum() == pytest.approx(128 * (SPAN[1] - SPAN[0]))  # nothing lost
    lo, hi = SPAN[0] * FRAME_S + LEAD_S, SPAN[1] * FRAME_S + LEAD_S
    for start, _ in e.windows:
        assert lo - 0.03 <= start < hi


def test_evaluate_an_in_memory_module(
    model: bsx.Model, registered: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("api-eval")
    run = bsx.evaluate(
        model,
        dataset="synth",
        methods=["gradcam", "planted-span"],
        cues=["egemaps"],
        metrics=["share-before-1s", "gt-precision"],
        out=out,
        dataset_options={"per_class": 2, "seed": 3},
        split="all",
        workers=1,
        batch_size=5,
    )
    assert run.out == out and (out / "results.parquet").is_file()
    n = run.summary["n_clips"]
    assert n == 2 * len(LABELS)
    res = run.results
    assert set(res["label"]) == set(LABELS)
    for method in ("gradcam", "planted-span"):
        for metric in ("share-before-1s", "gt-precision"):
            rows = res[(res["method"] == method) & (res["metric"] == metric)]
            assert len(rows) == n and rows["clip_id"].is_unique, (method, metric)
    planted = res[(res["method"] == "planted-span") & (res["metric"] == "share-before-1s")]
    np.testing.assert_allclose(planted["value"], 1.0)  # frames 20-40 end at 0.615 s
    assert set(planted["direction"]) == {"higher"}
    grad = res[(res["method"] == "gradcam") & (res["metric"] == "share-before-1s")]
    assert ((grad["value"] >= 0) & (grad["value"] <= 1)).all()
    table = run.table()
    assert {"gradcam", "planted-span"} <= set(table["method"])


def test_unknown_and_clashing_names(model: bsx.Model, clip: np.ndarray, registered: None) -> None:
    with pytest.raises(UnknownName, match="no method 'planted-spam'.*did you mean"):
        bsx.explain(model, clip, sample_rate=SR, method="planted-spam")
    with pytest.raises(UnknownName, match="no metric 'share-before-2s'"):
        bsx.evaluate(model, metrics=["share-before-2s"], workers=1)
    with pytest.raises(NameClash, match="method 'gradcam' is already registered by bsx"):
        bsx.register_method("gradcam", planted_span)
    assert lookup("method", "gradcam").dist == "bsx"  # bsx's own still works
    bsx.register_method("planted-span", planted_span)  # a cell run again: replaces its own
    with pytest.raises(ValueError, match="direction must be"):
        bsx.register_metric(name="bad", direction="up", unit="x")(share_before_1s)
    with pytest.raises(UnknownName):
        lookup("metric", "bad")


def test_bad_input_is_one_sentence(model: bsx.Model, clip: np.ndarray) -> None:
    with pytest.raises(BadAudio, match="give its sample_rate"):
        bsx.explain(model, clip)
    with pytest.raises(BadAudio, match=r"mono waveform of shape \(N,\)"):
        bsx.explain(model, np.stack([clip, clip]), sample_rate=SR)
    with pytest.raises(BsxError, match="wrap it: bsx.Model"):
        bsx.explain(model.module, clip, sample_rate=SR)
    with pytest.raises(BsxError, match=r"not \(1, 3\) logits"):
        bsx.explain(bsx.Model(model.module, labels=("a", "b", "c")), clip, sample_rate=SR)
    with pytest.raises(BsxError, match="input_kind 'spectrogram' is not supported"):
        bsx.Model(model.module, labels=LABELS, input_kind="spectrogram")
    with pytest.raises(BsxError, match="option 'splt'"):
        bsx.evaluate(model, splt="all")


class FrameEnergy:
    """Mean square of each 10 ms frame, as 'Loudness' (every frame voiced)."""

    cues = ("Loudness",)

    def __init__(self, options: object = None) -> None:
        self.options = options

    def extract(self, waveform: np.ndarray, sample_rate: int):  # type: ignore[no-untyped-def]
        from bsx.cues.base import CueTracks, grid_frames

        hop = sample_rate // 100
        n = grid_frames(len(waveform), sample_rate)
        energy = np.array(
            [
                np.mean(waveform[i * hop : (i + 1) * hop] ** 2)
                if i * hop < len(waveform)
                else np.nan
                for i in range(n)
            ]
        )
        return CueTracks(
            values={"Loudness": energy}, voiced=np.isfinite(energy), extractor="frame-energy"
        )


def test_an_in_process_cue_extractor_profiles(
    model: bsx.Model, clip: np.ndarray, registered: None
) -> None:
    """The tone 0.4 sin(2 pi 180 t)(1 + 0.5 sin(2 pi 3 t)) has mean square
    0.08 x (1 + 0.5^2 / 2) = 0.09: the whole-clip profile of the content the model saw."""
    bsx.register_cues("frame-energy", FrameEnergy)
    try:
        e = bsx.explain(model, clip, sample_rate=SR, method="planted-span", cues="frame-energy")
    finally:
        unregister("cue", "frame-energy")
    assert e.cues is not None and e.cues.cues == ("Loudness",)
    assert e.cues.get("Loudness", "whole").mean == pytest.approx(0.09, rel=0.03)
    assert e.cues.get("Loudness", "salient").n > 0


def test_a_checkpoint_path_and_a_file(clip: np.ndarray, tmp_path: Path) -> None:
    """The other model forms go through load_model: a saved checkpoint, by its path."""
    import soundfile as sf

    from bsx.testing import saved_resnet

    ckpt = saved_resnet(tmp_path / "m.pt", seed=1)
    wav = tmp_path / "clip.wav"
    sf.write(wav, clip, SR)
    e = bsx.explain(str(ckpt), wav, method="saliency", cues=None, k=3, device="cpu")
    assert e.labels == ("calm", "happy", "sad") and e.model_name == "resnet-small"
    assert e.source == str(wav)
    for start, end in e.windows:
        assert 0 <= start <= end <= LEAD_S + TONE_S + TAIL_S


def test_a_waveform_module(tmp_path: Path) -> None:
    """SpanWaveNet hears only model samples 8000-12000 (0.5-0.75 s after the lead silence,
    which the front-end trims: it is longer than its 0.5 s minimum silence): saliency puts
    its windows there, on the original timeline."""
    from bsx.testing import SpanWaveNet

    lead = 0.8
    rng = np.random.default_rng(0)
    y = np.concatenate(
        [np.zeros(int(lead * 16000)), 0.3 * rng.standard_normal(int(1.5 * 16000))]
    ).astype(np.float32)
    wave = bsx.Model(SpanWaveNet(), labels=("low", "high"), input_kind="waveform")
    e = bsx.explain(wave, y, sample_rate=16000, method="saliency", cues=None, k=3)
    assert e.frame_s == 0.02 and e.relevance.shape == (1, 1 + len(y) // 320)
    times = np.flatnonzero(e.relevance[0]) * 0.02  # frames with relevance, original seconds
    assert abs(times[0] - (lead + 0.5)) <= 0.04 and abs(times[-1] - (lead + 0.75)) <= 0.04
    # 10-frame (0.2 s) windows: each overlaps the span, together they hold all its relevance
    for start, end in e.windows:
        assert start < lead + 0.75 + 0.04 and end > lead + 0.5 - 0.04
    assert all(any(a <= t <= b for a, b in e.windows) for t in times)


def test_import_bsx_stays_light() -> None:
    code = (
        "import sys, bsx; heavy = [m for m in ('torch', 'pandas', 'librosa') "
        "if m in sys.modules]; assert not heavy, heavy; assert callable(bsx.explain)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

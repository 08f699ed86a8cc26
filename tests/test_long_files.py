"""Long recordings: explained in streamed units (bsx.streaming), short files as before.

The short-clip baseline (tests/data/short_explain_baseline.json) was recorded with the
in-memory path before streaming existed: a short file must keep giving those windows and
that relevance. A modest long file (75 s) must take the streamed path and agree with the
in-memory path, the independent truth, on the same audio.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bsx.audio import get_frontend
from bsx.explanation import explain_file
from bsx.models.checkpoint import load_model
from bsx.testing import saved_resnet

SR = 16000
BASELINE = Path(__file__).parent / "data" / "short_explain_baseline.json"


def voiced(seconds: float, rng: np.random.Generator, f0: float = 190.0) -> np.ndarray:
    """A tone with a slow amplitude wobble and a little noise: speech-like enough to trim."""
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2.5 * t))
    return y + 0.01 * rng.standard_normal(t.size)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return saved_resnet(tmp_path_factory.mktemp("long") / "model.pt")


@pytest.mark.parametrize("keep", ["first-interval", "whole"])
def test_a_short_file_explains_as_before_streaming(ckpt: Path, tmp_path: Path, keep: str) -> None:
    rng = np.random.default_rng(7)
    y = np.concatenate([np.zeros(int(0.6 * SR)), voiced(3.1, rng), np.zeros(int(0.7 * SR))])
    wav = tmp_path / "short.wav"
    sf.write(wav, y.astype(np.float32), SR)
    with pytest.warns(UserWarning) if keep == "first-interval" else nullcontext():
        e = explain_file(wav, "gradcam", load_model(ckpt), out=tmp_path / "out", keep=keep)
    want = json.loads(BASELINE.read_text())[keep]
    got = [[w.start_frame, w.end_frame, w.start_s, w.end_s, w.weight] for w in e.windows_original]
    assert [g[:2] for g in got] == [w[:2] for w in want["windows"]]
    np.testing.assert_allclose(
        [g[2:] for g in got], [w[2:] for w in want["windows"]], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(e.probabilities, want["probabilities"], rtol=1e-5)
    r = np.asarray(e.relevance, dtype=np.float64)
    assert list(r.shape) == want["shape"]
    np.testing.assert_allclose(r.sum(axis=0), want["frames"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(r.sum(axis=1), want["bands"], rtol=1e-4, atol=1e-6)
    assert "relevance" not in e.files and not isinstance(e.relevance, np.memmap)


def recording(path: Path, seconds: float, sr: int, channels: int = 1) -> Path:
    """Voiced stretches of 3-5 s between 0.6-1.2 s pauses, with quiet lead-in and tail."""
    rng = np.random.default_rng(3)
    parts = [np.zeros(int(1.3 * sr))]
    while sum(p.size for p in parts) < (seconds - 1.5) * sr:
        t = np.arange(int(rng.uniform(3, 5) * sr)) / sr
        f0 = rng.uniform(120, 260)
        parts += [
            0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)),
            np.zeros(int(rng.uniform(0.6, 1.2) * sr)),
        ]
    y = np.concatenate(parts)[: int((seconds - 1.5) * sr)]
    y = np.concatenate([y, np.zeros(int(1.5 * sr))]) + 0.002 * rng.standard_normal(
        int(seconds * sr)
    )
    sf.write(path, np.repeat(y[:, None], channels, axis=1).astype(np.float32), sr)
    return path


@pytest.mark.parametrize("trim", ["relative-dbfs", "fixed-dbfs", "top-db", "none"])
def test_the_streamed_scan_reads_and_trims_as_the_in_memory_front_end(
    tmp_path: Path, trim: str
) -> None:
    from bsx.audio import load_audio, speech_bounds
    from bsx.streaming import scan
    from bsx.streaming import speech_bounds as streamed_bounds

    wav = recording(tmp_path / "rec.wav", 50.0, 22050, channels=2)  # stereo, resampled
    fe = get_frontend("paper-whole").model_copy(
        update={"trim": trim, "trim_db": {"fixed-dbfs": -30.0, "top-db": 40.0}.get(trim, 14.0)}
    )
    sc = scan(wav, fe, tmp_path)
    y, duration = load_audio(wav, fe.sample_rate)
    assert sc.n == y.size and sc.original_duration_s == pytest.approx(duration)
    np.testing.assert_allclose(sc.read(0, sc.n), y, atol=1e-6)
    assert sc.read(sc.n - 5, sc.n + 10).size == 5
    first, whole = streamed_bounds(sc, fe)
    want_first, want_whole = speech_bounds(y, fe)
    assert first == want_first and whole == want_whole
    if trim != "none":
        assert 1.2 * SR < whole[0] < 1.4 * SR  # the quiet lead-in is trimmed
        assert whole[1] < 48.6 * SR


@pytest.mark.parametrize("keep", ["whole", "first-interval"])
def test_a_long_file_is_streamed_and_agrees_with_the_in_memory_path(
    ckpt: Path, tmp_path: Path, keep: str
) -> None:
    from bsx.streaming import STREAM_ABOVE_S, UNITS_PER_BATCH

    seconds = 70.0
    assert seconds > STREAM_ABOVE_S
    wav = recording(tmp_path / "rec.wav", seconds, SR)
    model = load_model(ckpt)
    with pytest.warns(UserWarning) if keep == "first-interval" else nullcontext():
        streamed = explain_file(wav, "gradcam", model, out=tmp_path / "s", keep=keep)
    # the streamed path: relevance written as a .npy, returned memory-mapped
    assert isinstance(streamed.relevance, np.memmap)
    assert Path(streamed.files["relevance"]).is_file()
    assert streamed.relevance.shape == (128, 1 + int(seconds * SR) // 240)
    assert not list((tmp_path / "s").glob(".bsx-stream-*"))  # the scratch folder is gone
    if keep == "whole":  # several batches of units, so stitching crosses batch edges
        assert int(seconds) > 2 * UNITS_PER_BATCH
    assert streamed.windows_original
    for w in streamed.windows_original:
        assert 0.0 <= w.start_s <= w.end_s <= seconds
    for kind in ("attribution", "spectrogram", "waveform"):
        assert Path(streamed.files[kind]).read_bytes()[:4] == b"\x89PNG"
    z, zsr = sf.read(streamed.files["listen"])
    assert zsr == SR and z.size == int(seconds * SR)

    with pytest.warns(UserWarning) if keep == "first-interval" else nullcontext():
        whole = explain_file(
            wav, "gradcam", model, out=tmp_path / "m", keep=keep, stream_above_s=1e9
        )
    assert not isinstance(whole.relevance, np.memmap)
    assert streamed.windows_original == whole.windows_original
    assert streamed.windows_model == whole.windows_model
    np.testing.assert_allclose(streamed.probabilities, whole.probabilities, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(streamed.relevance), whole.relevance, atol=1e-7)
    z_mem, _ = sf.read(whole.files["listen"])
    np.testing.assert_allclose(z, z_mem, atol=1e-4)


@pytest.mark.parametrize("fault", ["nan", "silence"])
def test_a_bad_long_file_is_one_sentence_naming_it(ckpt: Path, tmp_path: Path, fault: str) -> None:
    from bsx.errors import BadAudio

    y = np.zeros(int(61 * SR), dtype=np.float32)
    if fault == "nan":
        y[:SR] = 0.1
        y[int(45 * SR)] = np.nan  # in the third 20 s block: found while streaming
    wav = tmp_path / "bad.wav"
    sf.write(wav, y, SR, subtype="FLOAT")
    with pytest.raises(
        BadAudio, match="bad.wav: " + ("holds NaN" if fault == "nan" else "is digital silence")
    ):
        explain_file(wav, "gradcam", load_model(ckpt), out=tmp_path / "out")

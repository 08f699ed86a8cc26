"""The audio front-end against an independent re-computation of the paper's steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bsx.audio import (
    PRESETS,
    Frontend,
    get_frontend,
    load_audio,
    nonsilent_intervals,
    prepare,
    prepare_waveform,
)
from bsx.errors import BadAudio, UnknownName

SR = 16000
FE = PRESETS["paper"]


# ---------------------------------------------------------------- independent computation
def pydub_nonsilent(y: np.ndarray, sr: int, thresh_dbfs: float, min_sil_ms: int) -> list:
    """pydub.silence.detect_nonsilent written out as pydub does it: a loop over ms steps."""
    ms = sr / 1000
    seg_len = int(len(y) / ms)
    thresh = 10 ** (thresh_dbfs / 20)
    starts = []
    for i in range(0, seg_len - min_sil_ms + 1):
        a, b = int(i * ms), min(int((i + min_sil_ms) * ms), len(y))
        if np.sqrt(np.mean(y[a:b].astype(np.float64) ** 2)) <= thresh:
            starts.append(i)
    if not starts:
        return [[0, seg_len]]
    ranges, cur, prev = [], starts[0], starts[0]
    for s in starts[1:]:
        if s != prev + 1 and s > prev + min_sil_ms:
            ranges.append([cur, prev + min_sil_ms])
            cur = s
        prev = s
    ranges.append([cur, prev + min_sil_ms])
    if ranges[0] == [0, seg_len]:
        return []
    out, prev_end = [], 0
    for a, b in ranges:
        out.append([prev_end, a])
        prev_end = b
    if ranges[-1][1] != seg_len:
        out.append([prev_end, seg_len])
    if out and out[0] == [0, 0]:
        out.pop(0)
    return out


def paper_logmel(y: np.ndarray) -> np.ndarray:
    """numpy STFT (centred, zero-padded, periodic Hann of 480 in a 1024 frame), power,
    librosa's Slaney mel bank, 10 log10 relative to the max, floored 80 dB below."""
    import librosa

    n_fft, win, hop = 1024, 480, 240
    w = np.zeros(n_fft)
    off = (n_fft - win) // 2
    w[off : off + win] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    yp = np.pad(y.astype(np.float64), n_fft // 2)
    frames = np.stack([yp[t * hop : t * hop + n_fft] for t in range(1 + len(y) // hop)])
    power = np.abs(np.fft.rfft(frames * w, axis=1)).T ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=128) @ power
    db = 10 * np.log10(np.maximum(mel, 1e-10)) - 10 * np.log10(max(mel.max(), 1e-10))
    return np.maximum(db, db.max() - 80)


def burst_signal(rng: np.random.Generator) -> np.ndarray:
    """0.7 s of near-silence, a 1.0 s 440 Hz burst, 0.8 s of near-silence (2.5 s)."""
    y = 1e-4 * rng.standard_normal(int(2.5 * SR))
    t = np.arange(SR) / SR
    y[int(0.7 * SR) : int(1.7 * SR)] += 0.5 * np.sin(2 * np.pi * 440 * t)
    return y.astype(np.float32)


def dominant_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


# ---------------------------------------------------------------- the paper's steps
def test_matches_independent_paper_pipeline(rng: np.random.Generator) -> None:
    y = burst_signal(rng)
    p = prepare_waveform(y, FE)
    clip_dbfs = 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    first = pydub_nonsilent(y, SR, clip_dbfs - 14, 500)[0]
    start, end = int(first[0] * SR / 1000), min(int(first[1] * SR / 1000), len(y))
    # A 500 ms window overlapping the burst by <= ~8 ms is still "silent" for pydub: the kept
    # segment starts a few ms into the burst, and bsx must report exactly where.
    assert 0.700 < start / SR < 0.715
    assert p.trim_offset_s == start / SR and p.pad_offset_s == 0.0
    seg = y[start:end][:32000]
    want_wave = np.zeros(32000, dtype=np.float32)
    want_wave[: len(seg)] = seg
    np.testing.assert_array_equal(p.waveform, want_wave)
    assert p.content_s == pytest.approx(len(seg) / SR)
    assert p.logmel.shape == (128, 134) and p.logmel.dtype == np.float32
    assert FE.n_frames == 134
    np.testing.assert_allclose(p.logmel, paper_logmel(want_wave), atol=2e-3)
    assert p.original_duration_s == pytest.approx(2.5)


def test_burst_window_maps_to_its_real_time(rng: np.random.Generator) -> None:
    y = burst_signal(rng)
    p = prepare_waveform(y, FE)
    frame_s = 240 / SR
    loud = np.flatnonzero(p.logmel.max(axis=0) > -30)  # frames that hold the burst
    t_model = loud * frame_s
    t_orig = np.asarray(p.to_original(t_model))
    # each loud frame centre lies within the burst, up to half an analysis window (15 ms)
    assert t_orig.min() >= 0.7 - 0.016 and t_orig.max() <= 1.7 + 0.016
    assert t_orig.max() == pytest.approx(1.7, abs=0.016)
    # a salient window over the burst's last 150 ms on the model timeline
    lo, hi = p.original_span(t_model.max() - 0.15, t_model.max())
    assert (lo, hi) == pytest.approx((1.7 - 0.15, 1.7), abs=0.016)
    assert float(p.to_model(p.to_original(0.3))) == pytest.approx(0.3)
    # a window over the zero padding after the content is clipped to the content's end
    lo, hi = p.original_span(1.9, 2.0)
    assert lo == hi == pytest.approx(p.trim_offset_s + p.content_s)


def test_center_padding_offset_maps_back(rng: np.random.Generator) -> None:
    fe = PRESETS["paper-tess-train"]  # trim top_db 55, centred pad to 4 s
    y = burst_signal(rng)
    p = prepare_waveform(y, fe)
    nz = np.flatnonzero(np.abs(p.waveform) > 0.1)
    assert p.pad_offset_s == pytest.approx((64000 - p.content_s * SR) // 2 / SR)
    assert float(p.to_original(nz[0] / SR)) == pytest.approx(0.7, abs=2e-3)
    assert float(p.to_original(nz[-1] / SR)) == pytest.approx(1.7, abs=2e-3)


def test_nonsilent_intervals_equal_pydub_loop(rng: np.random.Generator) -> None:
    y = 1e-3 * rng.standard_normal(3 * SR)
    t = np.arange(int(0.3 * SR)) / SR
    for at in (0.6, 1.1, 2.0):  # the first two bursts are 0.2 s apart: one interval
        y[int(at * SR) : int(at * SR) + len(t)] += 0.4 * np.sin(2 * np.pi * 300 * t)
    got = nonsilent_intervals(y, SR, -30.0, 0.5)
    want = [(int(a * 16), min(int(b * 16), len(y))) for a, b in pydub_nonsilent(y, SR, -30, 500)]
    assert got == want and len(got) == 2
    assert abs(got[0][0] / SR - 0.6) < 0.01 and abs(got[0][1] / SR - 1.4) < 0.01
    assert abs(got[1][0] / SR - 2.0) < 0.01 and abs(got[1][1] / SR - 2.3) < 0.01


# ---------------------------------------------------------------- loading
TONE_S = 1.0


def tone(sr: int = SR, hz: float = 440.0, amp: float = 0.5, seconds: float = TONE_S):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float64)


@pytest.mark.parametrize(
    ("fmt", "subtype", "suffix", "tol"),
    [
        ("WAV", "PCM_U8", ".wav", 1 / 64),
        ("WAV", "PCM_16", ".wav", 1e-4),
        ("WAV", "PCM_24", ".wav", 1e-6),
        ("WAV", "PCM_32", ".wav", 1e-6),
        ("WAV", "FLOAT", ".wav", 1e-7),
        ("WAV", "DOUBLE", ".wav", 1e-7),
        ("FLAC", "PCM_16", ".flac", 1e-4),
        ("FLAC", "PCM_24", ".flac", 1e-6),
    ],
)
def test_lossless_formats_load_exactly(
    tmp_path: Path, fmt: str, subtype: str, suffix: str, tol: float
) -> None:
    y = tone()
    path = tmp_path / f"t{suffix}"
    sf.write(path, y, SR, format=fmt, subtype=subtype)
    got, dur = load_audio(path, SR)
    assert got.dtype == np.float32 and got.shape == y.shape and dur == pytest.approx(TONE_S)
    np.testing.assert_allclose(got, y, atol=tol)


@pytest.mark.parametrize(("fmt", "subtype", "suffix"),
                         [("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3")])
def test_lossy_formats_keep_pitch_and_length(
    tmp_path: Path, fmt: str, subtype: str, suffix: str
) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    path = tmp_path / f"t{suffix}"
    sf.write(path, tone(), SR, format=fmt, subtype=subtype)
    got, dur = load_audio(path, SR)
    assert abs(dur - TONE_S) < 0.1 and abs(len(got) - SR * TONE_S) < 0.1 * SR
    assert dominant_hz(got, SR) == pytest.approx(440, abs=3)
    assert np.sqrt(np.mean(got**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    left, right = tone(hz=300), tone(hz=700, amp=0.25)
    sf.write(tmp_path / "st.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    got, _ = load_audio(tmp_path / "st.wav", SR)
    np.testing.assert_allclose(got, (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_resampled_to_16k(tmp_path: Path, sr: int) -> None:
    sf.write(tmp_path / "r.wav", tone(sr=sr), sr, subtype="FLOAT")
    got, dur = load_audio(tmp_path / "r.wav", SR)
    assert dur == pytest.approx(TONE_S, abs=1 / sr) and abs(len(got) - SR) <= 1
    assert dominant_hz(got, SR) == pytest.approx(440, abs=1.5)
    mid = got[2000:-2000]  # away from the filter's edges
    np.testing.assert_allclose(mid, tone()[2000:-2000], atol=0.02)


def test_resampling_removes_what_16k_cannot_hold(tmp_path: Path) -> None:
    sf.write(tmp_path / "hi.wav", tone(sr=44100, hz=10000), 44100, subtype="FLOAT")
    got, _ = load_audio(tmp_path / "hi.wav", SR)
    # a 10 kHz tone would alias to 6 kHz under naive decimation; an anti-aliased
    # resampler leaves (almost) nothing
    assert np.sqrt(np.mean(got[1000:-1000] ** 2)) < 0.01


def test_prepare_from_file_equals_waveform_path(tmp_path: Path, rng: np.random.Generator) -> None:
    y = burst_signal(rng)
    sf.write(tmp_path / "b.wav", y, SR, subtype="FLOAT")
    p = prepare(tmp_path / "b.wav")
    q = prepare_waveform(y, FE)
    np.testing.assert_array_equal(p.logmel, q.logmel)
    assert p.trim_offset_s == q.trim_offset_s and p.source == str(tmp_path / "b.wav")


# ---------------------------------------------------------------- bad input and config
def test_bad_audio_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello")
    sf.write(tmp_path / "nan.wav", np.full(100, np.nan), SR, subtype="FLOAT")
    sf.write(tmp_path / "zero.wav", np.zeros(1600), SR)
    cases = {
        "missing.wav": "no such file", "empty.wav": r"empty \(0 bytes\)",
        "text.wav": "not a readable audio file", "nan.wav": "NaN",
        "zero.wav": "digital silence",
    }
    for name, msg in cases.items():
        with pytest.raises(BadAudio, match=f"{name}: .*{msg}|{name}: {msg}"):
            prepare(tmp_path / name)


def test_frontend_presets_and_digest() -> None:
    assert get_frontend(None) is FE and get_frontend("PAPER") is FE
    assert get_frontend({"name": "x", "n_mels": 64}).n_mels == 64
    assert FE.digest() == Frontend().digest() != PRESETS["paper-crema-train"].digest()
    assert PRESETS["paper-crema-train"].n_frames == 201
    with pytest.raises(UnknownName, match="did you mean 'paper'"):
        get_frontend("papr")


@pytest.mark.parametrize("preset", ["paper", "paper-whole"])
def test_logmel_is_librosas_melspectrogram_bit_for_bit(preset: str,
                                                       rng: np.random.Generator) -> None:
    # logmel reuses its mel filterbank across calls; it must stay librosa's own computation
    import librosa

    from bsx.audio import get_frontend, logmel

    fe = get_frontend(preset)
    for y in (burst_signal(rng)[:32000], rng.normal(0, 0.1, 20000).astype(np.float32),
              rng.normal(0, 0.1, 20000)):  # float64 input too
        want = librosa.power_to_db(librosa.feature.melspectrogram(
            y=y, sr=fe.mel_sr or fe.sample_rate, n_fft=fe.n_fft, win_length=fe.win_length,
            hop_length=fe.hop_length, n_mels=fe.n_mels), ref=np.max, top_db=fe.top_db)
        np.testing.assert_array_equal(logmel(y, fe), want.astype(np.float32))

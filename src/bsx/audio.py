"""The audio front-end: file -> the waveform and log-mel spectrogram a model sees.

One `Frontend` config object holds every parameter; it is stored with each checkpoint and
result, so a model is never fed a spectrogram made differently from its training data.
`Prepared` keeps the bookkeeping the paper's scripts lost: the trim offset on the original
file and the padding inserted before the content, so windows found on the spectrogram map
back to the ORIGINAL audio timeline (`Prepared.to_original`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from bsx.errors import BadAudio, UnknownName, did_you_mean

TrimRule = Literal["relative-dbfs", "fixed-dbfs", "top-db", "none"]


class Frontend(BaseModel):
    """Every parameter of the front-end. Frozen: a preset is a value, compared by content.

    trim: "relative-dbfs" keeps the first interval louder than (clip dBFS - trim_db) with
    silences of at least min_silence_s (pydub's detect_nonsilent, as the paper's explanation
    scripts); "fixed-dbfs" uses trim_db as an absolute dBFS threshold (the CREMA-D notebook);
    "top-db" is librosa.effects.trim(top_db=trim_db) (the TESS/RAVDESS notebooks).
    pad: "end" pads/cuts at the end; "center" pads both sides equally (the notebooks).
    mel_sr: the sample rate the mel filterbank is built for; the CREMA-D notebook passed 16 kHz
    samples to librosa as if they were 24 kHz. None means sample_rate.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "paper"
    sample_rate: int = 16000
    trim: TrimRule = "relative-dbfs"
    trim_db: float = 14.0
    min_silence_s: float = 0.5
    n_samples: int = 32000
    pad: Literal["end", "center"] = "end"
    mel_sr: int | None = None
    n_fft: int = 1024
    win_length: int = 480
    hop_length: int = 240
    n_mels: int = 128
    top_db: float = 80.0

    @property
    def n_frames(self) -> int:
        """Spectrogram width (librosa centres frames: 1 + n_samples // hop)."""
        return 1 + self.n_samples // self.hop_length

    @property
    def frame_s(self) -> float:
        """Seconds per spectrogram frame on the real (model-input) timeline."""
        return self.hop_length / self.sample_rate

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate

    def digest(self) -> str:
        """A short content hash: caches and results key on it."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def canonical_json(fe: Frontend) -> str:
    """Every parameter as sorted-key JSON: what digest() hashes and the cache stores (a
    front-end is frozen, so this is computed once per front-end)."""
    return json.dumps(fe.model_dump(), sort_keys=True)


PRESETS: dict[str, Frontend] = {
    "paper": Frontend(),
    "paper-tess-train": Frontend(
        name="paper-tess-train", trim="top-db", trim_db=55.0, n_samples=64000, pad="center",
        win_length=512, hop_length=512,
    ),
    "paper-crema-train": Frontend(
        name="paper-crema-train", trim="fixed-dbfs", trim_db=-45.0, n_samples=48000,
        mel_sr=24000,
    ),
    "paper-ravdess-train": Frontend(
        name="paper-ravdess-train", sample_rate=24000, trim="top-db", trim_db=55.0,
        n_samples=120000, pad="center", hop_length=512,
    ),
}


def get_frontend(name_or_config: str | Frontend | dict | None = None) -> Frontend:
    """A preset by name (case-insensitive), a dict of fields, or a Frontend as is."""
    if name_or_config is None:
        return PRESETS["paper"]
    if isinstance(name_or_config, Frontend):
        return name_or_config
    if isinstance(name_or_config, dict):
        return Frontend(**name_or_config)
    key = name_or_config.strip().lower()
    if key not in PRESETS:
        hint = did_you_mean(key, PRESETS)
        raise UnknownName(
            f"no frontend '{name_or_config}'{hint}; available: {', '.join(PRESETS)}"
        )
    return PRESETS[key]


@dataclass(frozen=True)
class Prepared:
    """What the model saw, and where it came from.

    waveform: (n_samples,) float32 at frontend.sample_rate, after trim and pad/cut.
    logmel: (n_mels, n_frames) float32, power_to_db(ref=max).
    trim_offset_s: where the kept segment starts in the original file (seconds).
    pad_offset_s: padding inserted before the content in the waveform (seconds).
    content_s: seconds of real content in the waveform (after the cut).
    """

    waveform: np.ndarray
    logmel: np.ndarray
    trim_offset_s: float
    pad_offset_s: float
    content_s: float
    original_duration_s: float
    frontend: Frontend
    source: str = ""

    def to_original(self, t: float | np.ndarray) -> float | np.ndarray:
        """Seconds on the model's waveform -> seconds on the original file."""
        return np.asarray(t) - self.pad_offset_s + self.trim_offset_s

    def to_model(self, t: float | np.ndarray) -> float | np.ndarray:
        """Seconds on the original file -> seconds on the model's waveform."""
        return np.asarray(t) - self.trim_offset_s + self.pad_offset_s

    def original_span(self, start_s: float, end_s: float) -> tuple[float, float]:
        """A model-timeline span on the original timeline, clipped to the real content."""
        lo = max(start_s, self.pad_offset_s)
        hi = min(end_s, self.pad_offset_s + self.content_s)
        if hi <= lo:
            lo = hi = min(max(start_s, self.pad_offset_s), self.pad_offset_s + self.content_s)
        return float(self.to_original(lo)), float(self.to_original(hi))


def load_audio(path: str | Path, sample_rate: int) -> tuple[np.ndarray, float]:
    """Read any common audio file, mix to mono, resample. Returns (waveform, original seconds).

    Raises BadAudio naming the file when it is missing, unreadable, empty, or holds NaN/inf.
    """
    import librosa
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise BadAudio(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise BadAudio(f"{path}: file is empty (0 bytes)")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        y = data.mean(axis=1)
    except Exception:
        try:  # formats libsndfile lacks: librosa falls back to audioread
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, sr = librosa.load(str(path), sr=None, mono=True)
        except Exception as exc:
            raise BadAudio(f"{path}: not a readable audio file ({type(exc).__name__})") from None
    if y.size == 0:
        raise BadAudio(f"{path}: holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise BadAudio(f"{path}: holds NaN or infinite samples")
    duration = y.size / sr
    if sr != sample_rate:
        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(y, dtype=np.float32), float(duration)


def _dbfs(rms: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.maximum(np.asarray(rms, dtype=np.float64), 0.0))


def nonsilent_intervals(
    y: np.ndarray, sample_rate: int, threshold_dbfs: float, min_silence_s: float = 0.5
) -> list[tuple[int, int]]:
    """pydub.silence.detect_nonsilent, vectorised: intervals in samples.

    A 1 ms-stepped window of min_silence_s is silent when its RMS (full scale = 1.0) is at or
    below threshold_dbfs; overlapping silent windows merge; the rest is non-silent.
    """
    ms = sample_rate / 1000.0
    seg_ms = int(len(y) / ms)  # pydub: len() in whole milliseconds
    win_ms = int(round(min_silence_s * 1000))
    if seg_ms < win_ms:
        return [(0, len(y))]
    csum = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    starts_ms = np.arange(0, seg_ms - win_ms + 1)
    s = (starts_ms * ms).astype(np.int64)
    e = np.minimum(((starts_ms + win_ms) * ms).astype(np.int64), len(y))
    rms = np.sqrt((csum[e] - csum[s]) / np.maximum(e - s, 1))
    silent = np.flatnonzero(rms <= 10 ** (threshold_dbfs / 20.0))
    if silent.size == 0:
        return [(0, len(y))]
    ranges: list[list[int]] = []
    start = prev = int(silent[0])
    for i in silent[1:]:
        i = int(i)
        if i != prev + 1 and i > prev + win_ms:
            ranges.append([start, prev + win_ms])
            start = i
        prev = i
    ranges.append([start, prev + win_ms])
    if ranges[0][0] == 0 and ranges[0][1] == seg_ms:
        return []
    out: list[list[int]] = []
    prev_end = 0
    for a, b in ranges:
        out.append([prev_end, a])
        prev_end = b
    if ranges[-1][1] != seg_ms:
        out.append([prev_end, seg_ms])
    if out and out[0] == [0, 0]:
        out.pop(0)
    return [(int(a * ms), min(int(b * ms), len(y))) for a, b in out if b > a]


def trim_bounds(y: np.ndarray, fe: Frontend) -> tuple[int, int]:
    """Sample bounds [start, end) of the content kept by the front-end's trim rule."""
    if fe.trim == "none" or y.size == 0:
        return 0, len(y)
    if fe.trim == "top-db":
        import librosa

        _, (a, b) = librosa.effects.trim(y, top_db=fe.trim_db)
        return int(a), int(b)
    if fe.trim == "relative-dbfs":
        clip_dbfs = float(_dbfs(np.sqrt(np.mean(y.astype(np.float64) ** 2))))
        threshold = clip_dbfs - fe.trim_db
    else:
        threshold = fe.trim_db
    intervals = nonsilent_intervals(y, fe.sample_rate, threshold, fe.min_silence_s)
    if not intervals:
        return 0, len(y)  # all silent: keep everything, as the paper's scripts do
    return intervals[0]


def logmel(y: np.ndarray, fe: Frontend) -> np.ndarray:
    """(n_mels, frames) log-mel: librosa mel power spectrogram, power_to_db(ref=max)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=y, sr=fe.mel_sr or fe.sample_rate, n_fft=fe.n_fft, win_length=fe.win_length,
        hop_length=fe.hop_length, n_mels=fe.n_mels,
    )
    return librosa.power_to_db(mel, ref=np.max, top_db=fe.top_db).astype(np.float32)


def prepare_waveform(
    y: np.ndarray, fe: Frontend, *, original_duration_s: float | None = None, source: str = ""
) -> Prepared:
    """A waveform already at fe.sample_rate -> Prepared (trim, pad/cut, log-mel)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        raise BadAudio(f"{source or 'waveform'}: holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise BadAudio(f"{source or 'waveform'}: holds NaN or infinite samples")
    if not np.any(y):
        raise BadAudio(f"{source or 'waveform'}: is digital silence")
    a, b = trim_bounds(y, fe)
    seg = y[a:b][: fe.n_samples]
    n = fe.n_samples
    left = (n - len(seg)) // 2 if fe.pad == "center" else 0
    out = np.zeros(n, dtype=np.float32)
    out[left : left + len(seg)] = seg
    return Prepared(
        waveform=out,
        logmel=logmel(out, fe),
        trim_offset_s=a / fe.sample_rate,
        pad_offset_s=left / fe.sample_rate,
        content_s=len(seg) / fe.sample_rate,
        original_duration_s=(
            original_duration_s if original_duration_s is not None else len(y) / fe.sample_rate
        ),
        frontend=fe,
        source=source,
    )


def prepare(path: str | Path, fe: Frontend | str | None = None) -> Prepared:
    """An audio file -> Prepared, through the front-end `fe` (default: the paper's)."""
    fe = get_frontend(fe)
    y, duration = load_audio(path, fe.sample_rate)
    return prepare_waveform(y, fe, original_duration_s=duration, source=str(path))

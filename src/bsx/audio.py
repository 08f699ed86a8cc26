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
from pydantic import BaseModel, ConfigDict, Field

from bsx.errors import BadAudio, UnknownName, did_you_mean
from bsx.features import FeatureKind

TrimRule = Literal["relative-dbfs", "fixed-dbfs", "top-db", "none"]
InputKind = Literal["logmel", "waveform"]
Keep = Literal["first-interval", "whole"]

# The fields of the paper presets as first stored: always in canonical_json. Any field added
# since is left out while at its default (bsx.canonical), so the presets' digests (cache keys,
# leaderboard hashes) are what they were. Never add to this set.
STORED_FIELDS = frozenset({
    "hop_length", "mel_sr", "min_silence_s", "n_fft", "n_mels", "n_samples", "name", "pad",
    "sample_rate", "top_db", "trim", "trim_db", "win_length"})

# `bsx explain` and evaluate warn when a front-end keeps less than this share of a clip's speech.
KEPT_SHARE_WARNING = 0.8


class Frontend(BaseModel):
    """Every parameter of the front-end. Frozen: a preset is a value, compared by content.

    trim: "relative-dbfs" keeps the first interval louder than (clip dBFS - trim_db) with
    silences of at least min_silence_s (pydub's detect_nonsilent, as the paper's explanation
    scripts); "fixed-dbfs" uses trim_db as an absolute dBFS threshold (the CREMA-D notebook);
    "top-db" is librosa.effects.trim(top_db=trim_db) (the TESS/RAVDESS notebooks).
    pad: "end" pads/cuts at the end; "center" pads both sides equally (the notebooks).
    mel_sr: the sample rate the mel filterbank is built for; the CREMA-D notebook passed 16 kHz
    samples to librosa as if they were 24 kHz. None means sample_rate.
    input: what the model consumes (docs/model-contract.md): "logmel" units of
    (n_mels, n_frames), or the "waveform" itself (then n_mels is 1 and hop_length is only the
    relevance grid's frame).
    keep: "first-interval" (the paper: the first non-silent interval, cut to n_samples) or
    "whole" (first to last non-silent sample, cut into units of n_samples every chunk_hop
    samples when longer; chunk_hop None = half a unit, rounded down to whole frames).
    features: how a logmel unit is computed: "librosa" (bsx's log-mel), or a model family's
    own features, "ast-fbank" or "whisper-logmel" (bsx.features: the HF feature extractor's
    numbers on bsx's centred grid; the fixed window's padding gets no relevance).
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
    input: InputKind = "logmel"
    keep: Keep = "first-interval"
    chunk_hop: int | None = Field(default=None, gt=0)
    features: FeatureKind = "librosa"

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

    @property
    def unit_hop(self) -> int:
        """Samples between unit starts when a whole utterance is chunked (whole frames)."""
        hop = self.chunk_hop or self.n_samples // 2
        return max(self.hop_length, hop - hop % self.hop_length)

    def digest(self) -> str:
        """A short content hash: caches and results key on it."""
        return hashlib.sha256(canonical_json(self).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=16)
def canonical_json(fe: Frontend) -> str:
    """Every parameter as sorted-key JSON: what digest() hashes and the cache stores (a
    front-end is frozen, so this is computed once per front-end)."""
    from bsx.canonical import omit_new_defaults

    return json.dumps(omit_new_defaults(fe, fe.model_dump(), STORED_FIELDS), sort_keys=True)


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
    # the paper's parameters on whole utterances: 2 s units every ~1 s (docs/model-contract.md)
    "paper-whole": Frontend(name="paper-whole", keep="whole"),
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

    waveform: float32 at frontend.sample_rate: the MODEL TIMELINE, i.e. the kept content with
        the padding the front-end added (n_samples for one log-mel unit).
    logmel: (n_mels, n_frames) float32 for one log-mel unit (power_to_db(ref=max)), or
        (U, n_mels, n_frames) for a chunked whole utterance; empty for waveform models.
    trim_offset_s: where the kept segment starts in the original file (seconds).
    pad_offset_s: padding inserted before the content in the waveform (seconds).
    content_s: seconds of real content in the waveform (after the cut).
    unit_starts: start sample of each model input unit on the model timeline (docs/
        model-contract.md); one unit at 0 for the paper presets.
    speech_s: seconds from the first to the last non-silent sample of the file by the trim
        rule: what a front-end could have kept (kept_share = content_s / speech_s).
    """

    waveform: np.ndarray
    logmel: np.ndarray
    trim_offset_s: float
    pad_offset_s: float
    content_s: float
    original_duration_s: float
    frontend: Frontend
    source: str = ""
    unit_starts: tuple[int, ...] = (0,)
    speech_s: float | None = None

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

    @property
    def n_frames(self) -> int:
        """Frames of the clip's relevance grid: centred at f * hop_length on the timeline."""
        return 1 + len(self.waveform) // self.frontend.hop_length

    def content_frames(self, start_sample: int = 0, n_frames: int | None = None
                       ) -> tuple[int, int]:
        """Frames [lo, hi) of the relevance grid whose centres lie in the real content (not
        the front-end's padding). `start_sample`, `n_frames`: a unit's own grid (a unit that
        starts at that sample of the model timeline); default the clip's whole grid."""
        hop = self.frontend.hop_length
        t = self.n_frames if n_frames is None else n_frames
        a = self.pad_offset_s * self.frontend.sample_rate - start_sample
        b = a + self.content_s * self.frontend.sample_rate
        lo = min(max(0, int(np.ceil(a / hop - 1e-9))), t)
        hi = min(max(lo, int(np.ceil(b / hop - 1e-9))), t)
        return lo, hi

    @property
    def kept_share(self) -> float:
        """Share of the file's speech span that the model saw (1.0 for a whole utterance)."""
        if not self.speech_s:
            return 1.0
        return min(1.0, self.content_s / self.speech_s)

    def units(self, waveform: np.ndarray | None = None) -> list[np.ndarray]:
        """The model's input units: (n_mels, n_frames) log-mels or (N,) waveform pieces.

        `waveform`: an edited copy of the model timeline (cue ablation); its units are
        computed afresh through the same front-end."""
        fe, n = self.frontend, self.frontend.n_samples
        if fe.input == "waveform":
            y = self.waveform if waveform is None else waveform
            return [y[s:s + n] for s in self.unit_starts]
        if waveform is not None:
            end = round((self.pad_offset_s + self.content_s) * fe.sample_rate)
            return [logmel(waveform[s:s + n], fe, n_real=max(0, end - s))
                    for s in self.unit_starts]
        return [self.logmel] if self.logmel.ndim == 2 else list(self.logmel)


# What load_audio reads, for messages: libsndfile's formats, and more through audioread/ffmpeg.
READABLE_AUDIO = "WAV, FLAC, OGG/Vorbis, MP3 and other formats libsndfile or ffmpeg can decode"


def load_audio(path: str | Path, sample_rate: int) -> tuple[np.ndarray, float]:
    """Read any common audio file, mix to mono, resample. Returns (waveform, original seconds).

    Raises BadAudio naming the file when it is missing, unreadable, empty, or holds NaN/inf.
    """
    import librosa
    import soundfile as sf
    from audioread.exceptions import DecodeError

    # what a decoder raises for a file it cannot read or that is cut short (not bsx's bugs)
    undecodable = (DecodeError, sf.SoundFileError, EOFError, OSError, ValueError)

    path = Path(path)
    if path.is_dir():
        raise BadAudio(f"{path}: is a folder, not an audio file")
    if not path.exists():
        raise BadAudio(f"{path}: no such file")
    if not path.is_file():
        raise BadAudio(f"{path}: not a regular file (accepted: {READABLE_AUDIO})")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise BadAudio(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise BadAudio(f"{path}: file is empty (0 bytes)")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        y = data.mean(axis=1)
    except (sf.SoundFileError, OSError, ValueError):
        try:  # formats libsndfile lacks: librosa falls back to audioread
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, sr = librosa.load(str(path), sr=None, mono=True)
        except undecodable:
            raise BadAudio(f"{path}: not a readable audio file, or cut short (accepted: "
                           f"{READABLE_AUDIO})") from None
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


def energy_grid(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """The cumulative energy (sum of squared samples, float64) at each whole millisecond,
    int(k * sample_rate / 1000) for k = 0 .. len(y) in whole ms: all the silence rule reads,
    so a long file's grid is built block by block (bsx.streaming) without the samples."""
    ms = sample_rate / 1000.0
    csum = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    return csum[(np.arange(int(len(y) / ms) + 1) * ms).astype(np.int64)]


def nonsilent_intervals(
    y: np.ndarray, sample_rate: int, threshold_dbfs: float, min_silence_s: float = 0.5
) -> list[tuple[int, int]]:
    """pydub.silence.detect_nonsilent, vectorised: intervals in samples.

    A 1 ms-stepped window of min_silence_s is silent when its RMS (full scale = 1.0) is at or
    below threshold_dbfs; overlapping silent windows merge; the rest is non-silent.
    """
    return intervals_from_energy(energy_grid(y, sample_rate), len(y), sample_rate,
                                 threshold_dbfs, min_silence_s)


def intervals_from_energy(
    grid: np.ndarray, n: int, sample_rate: int, threshold_dbfs: float, min_silence_s: float
) -> list[tuple[int, int]]:
    """nonsilent_intervals of n samples from their energy_grid."""
    ms = sample_rate / 1000.0
    seg_ms = int(n / ms)  # pydub: len() in whole milliseconds
    win_ms = int(round(min_silence_s * 1000))
    if seg_ms < win_ms:
        return [(0, n)]
    pos = (np.arange(seg_ms + 1) * ms).astype(np.int64)
    starts_ms = np.arange(0, seg_ms - win_ms + 1)
    s, e = starts_ms, starts_ms + win_ms
    rms = np.sqrt((grid[e] - grid[s]) / np.maximum(pos[e] - pos[s], 1))
    silent = np.flatnonzero(rms <= 10 ** (threshold_dbfs / 20.0))
    if silent.size == 0:
        return [(0, n)]
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
    return [(int(a * ms), min(int(b * ms), n)) for a, b in out if b > a]


def speech_bounds(y: np.ndarray, fe: Frontend) -> tuple[tuple[int, int], tuple[int, int]]:
    """Sample bounds [start, end) by the front-end's trim rule: (the first non-silent
    interval, the first to the last non-silent sample). One silence analysis for both."""
    if fe.trim == "none" or y.size == 0:
        return (0, len(y)), (0, len(y))
    if fe.trim == "top-db":
        import librosa

        _, (a, b) = librosa.effects.trim(y, top_db=fe.trim_db)
        return (int(a), int(b)), (int(a), int(b))
    return bounds_from_energy(energy_grid(y, fe.sample_rate), len(y),
                              float(np.mean(y.astype(np.float64) ** 2)), fe)


def bounds_from_energy(grid: np.ndarray, n: int, mean_square: float, fe: Frontend
                       ) -> tuple[tuple[int, int], tuple[int, int]]:
    """speech_bounds of n samples by a dBFS trim rule, from their energy_grid and the mean
    square of all n (the clip's level, for "relative-dbfs")."""
    if fe.trim == "relative-dbfs":
        threshold = float(_dbfs(np.sqrt(mean_square))) - fe.trim_db
    else:
        threshold = fe.trim_db
    intervals = intervals_from_energy(grid, n, fe.sample_rate, threshold, fe.min_silence_s)
    if not intervals:
        return (0, n), (0, n)  # all silent: keep everything, as the paper's scripts
    return intervals[0], (intervals[0][0], intervals[-1][1])


def trim_bounds(y: np.ndarray, fe: Frontend) -> tuple[int, int]:
    """Sample bounds [start, end) of the content kept by the front-end's trim rule."""
    first, whole = speech_bounds(y, fe)
    return whole if fe.keep == "whole" else first


def logmel(y: np.ndarray, fe: Frontend, n_real: int | None = None) -> np.ndarray:
    """(n_mels, frames) log-mel: librosa mel power spectrogram, power_to_db(ref=max).

    A front-end with a model family's own features computes those instead (bsx.features);
    n_real: the samples of y that are content, not padding (the AST filterbank pads itself).

    librosa.feature.melspectrogram's own steps (|STFT|^2 with its defaults, then the mel
    filterbank product), with two changes for speed and none in the numbers (bit-identical,
    tests/test_audio.py): the filterbank is built once per front-end, not per call (half the
    cost of a 2 s log-mel, which cue ablation computes 13 times per clip and method), and the
    product is a matmul where librosa's einsum takes numpy's batched path, 20-50x slower with
    multithreaded BLAS on a busy CPU (0.4 vs 9-20 ms measured on 2 cores)."""
    if fe.features == "ast-fbank":
        from bsx.features import ast_fbank

        return ast_fbank(y, fe.n_mels, fe.sample_rate, fe.hop_length, n_real)
    if fe.features == "whisper-logmel":
        from bsx.features import whisper_logmel

        return whisper_logmel(y, fe.n_mels, fe.sample_rate, fe.n_fft, fe.hop_length)
    import librosa

    power = np.abs(librosa.stft(y, n_fft=fe.n_fft, hop_length=fe.hop_length,
                                win_length=fe.win_length)) ** 2.0
    basis = _mel_basis(fe.mel_sr or fe.sample_rate, fe.n_fft, fe.n_mels)
    mel = basis @ power  # melspectrogram's einsum, as a plain matmul (see below)
    return librosa.power_to_db(mel, ref=np.max, top_db=fe.top_db).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _mel_basis(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's mel filterbank as melspectrogram builds it (its default float32)."""
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    basis.flags.writeable = False
    return basis


def unit_starts(length: int, fe: Frontend) -> tuple[int, ...]:
    """Start samples of the units that cover `length` samples of content: one unit when it
    fits, else every fe.unit_hop samples until a unit reaches the end."""
    n = fe.n_samples
    if length <= n:
        return (0,)
    hop = fe.unit_hop
    return tuple(range(0, -(-(length - n) // hop) * hop + 1, hop))


def prepare_waveform(
    y: np.ndarray, fe: Frontend, *, original_duration_s: float | None = None, source: str = ""
) -> Prepared:
    """A waveform already at fe.sample_rate -> Prepared (trim, pad/cut or chunk, log-mel)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        raise BadAudio(f"{source or 'waveform'}: holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise BadAudio(f"{source or 'waveform'}: holds NaN or infinite samples")
    if not np.any(y):
        raise BadAudio(f"{source or 'waveform'}: is digital silence")
    first, whole = speech_bounds(y, fe)
    a, b = whole if fe.keep == "whole" else first
    seg = y[a:b] if fe.keep == "whole" else y[a:b][:fe.n_samples]
    return from_segment(seg, a, whole, fe, source=source, original_duration_s=(
        original_duration_s if original_duration_s is not None else len(y) / fe.sample_rate))


def from_segment(seg: np.ndarray, a: int, whole: tuple[int, int], fe: Frontend, *,
                 original_duration_s: float, source: str = "") -> Prepared:
    """The kept segment (starting at sample a of the file; `whole`: the speech bounds) ->
    Prepared: pad/cut or chunk, log-mel. A long file's first interval comes here read alone."""
    n = fe.n_samples
    starts = unit_starts(len(seg), fe)
    if fe.input == "waveform":
        out, left = np.ascontiguousarray(seg), 0
        mel = np.zeros((0,), dtype=np.float32)
    else:
        length = max(n, starts[-1] + n)
        left = (length - len(seg)) // 2 if fe.pad == "center" else 0
        out = np.zeros(length, dtype=np.float32)
        out[left : left + len(seg)] = seg
        end = left + len(seg)
        mel = (logmel(out, fe, n_real=end) if len(starts) == 1
               else np.stack([logmel(out[s:s + n], fe, n_real=end - s) for s in starts]))
    return Prepared(
        waveform=out,
        logmel=mel,
        trim_offset_s=a / fe.sample_rate,
        pad_offset_s=left / fe.sample_rate,
        content_s=len(seg) / fe.sample_rate,
        original_duration_s=original_duration_s,
        frontend=fe,
        source=source,
        unit_starts=starts,
        speech_s=(whole[1] - whole[0]) / fe.sample_rate,
    )


def with_keep(fe: Frontend, keep: Keep | None) -> Frontend:
    """The front-end with another keep rule (None: as it is)."""
    return fe if keep is None or keep == fe.keep else fe.model_copy(update={"keep": keep})


def prepare(path: str | Path, fe: Frontend | str | None = None) -> Prepared:
    """An audio file -> Prepared, through the front-end `fe` (default: the paper's)."""
    fe = get_frontend(fe)
    y, duration = load_audio(path, fe.sample_rate)
    return prepare_waveform(y, fe, original_duration_s=duration, source=str(path))

"""Long recordings explained in streamed units: memory bounded by the unit, not the file.

`bsx explain` on a file longer than STREAM_ABOVE_S reads it in blocks (soundfile), resamples
them with soxr's streaming resampler into a scratch file, and builds only the summaries the
front-end's rules read (bsx.audio.energy_grid, a 512-sample grid for "top-db", the level).
The model then sees the same units as the in-memory path (bsx.audio.from_segment), a batch
at a time, twice: once for the clip's logits (the mean of its units'), once to attribute the
clip's target. Unit maps are stitched as they come (overlaps averaged, as bsx.relevance.stitch)
and finished frames written to disk; the windows come from a per-frame profile summed over
those frames (bsx.windows.windows_from_columns), and the relevance on the original timeline is
a Fortran-order .npy written frame by frame and returned memory-mapped. Figures are decimated
overviews; the listenable WAV is written block by block. docs/long-files.md has the peaks.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.audio import Frontend, Prepared, bounds_from_energy, from_segment, logmel, unit_starts
from bsx.errors import BadAudio, BsxError
from bsx.progress import status as progress_status

if TYPE_CHECKING:
    from bsx.explanation import Explanation
    from bsx.models.checkpoint import LoadedModel
    from bsx.windows import Window, WindowOptions

STREAM_ABOVE_S = 60.0  # files longer than this (seconds) are streamed; shorter: in memory
BLOCK_S = 20.0  # seconds read (and resampled) at a time
UNITS_PER_BATCH = 32  # model units predicted / attributed together
FRAMES_PER_CHUNK = 4096  # relevance frames read back at a time
OVERVIEW_COLUMNS = 1600  # time columns of a long file's figures
TOP_DB_HOP, TOP_DB_FRAME = 512, 2048  # librosa.effects.trim's frames


def duration_of(path: Path) -> float | None:
    """The file's length in seconds when soundfile can read it in blocks, else None."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, OSError, RuntimeError):
        return None
    return info.frames / info.samplerate if info.samplerate > 0 else None


def streams(path: Path, above_s: float = STREAM_ABOVE_S) -> bool:
    """Whether `bsx explain` streams this file (longer than above_s, readable in blocks)."""
    d = duration_of(path)
    return d is not None and d > above_s


class _Grid:
    """The cumulative energy at positions int(k * step), k = 0, 1, ..., fed block by block."""

    def __init__(self, step: float) -> None:
        self.step, self.k, self.parts = step, 1, [np.zeros(1)]

    def add(self, csum: np.ndarray, g0: int) -> None:
        """csum[i]: the energy of samples [0, g0 + i + 1)."""
        g1 = g0 + len(csum)
        ks = np.arange(self.k, int(g1 / self.step) + 2)
        pos = (ks * self.step).astype(np.int64)
        keep = pos <= g1
        if keep.any():
            self.parts.append(csum[pos[keep] - g0 - 1])
            self.k = int(ks[keep][-1]) + 1

    def values(self) -> np.ndarray:
        return np.concatenate(self.parts)


@dataclass
class Scan:
    """A long file read once: its samples at the model's rate in a scratch file (raw float32)
    and the summaries the front-end's rules and the figures read."""

    raw: Path
    n: int
    sample_rate: int
    original_duration_s: float
    original_rate: int
    energy: float
    ms_grid: np.ndarray
    hop_grid: np.ndarray
    envelope: np.ndarray  # (2, OVERVIEW_COLUMNS): min and max per column, model rate

    def read(self, a: int, b: int) -> np.ndarray:
        """Samples [a, b) (clipped to the file), float32."""
        a, b = max(a, 0), min(b, self.n)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        with open(self.raw, "rb") as f:
            f.seek(4 * a)
            return np.fromfile(f, dtype=np.float32, count=b - a)


def blocks(path: Path, block_s: float = BLOCK_S) -> Iterator[tuple[np.ndarray, int]]:
    """(mono float32 block, file rate) at the file's own rate; BadAudio for NaN/inf."""
    import soundfile as sf

    try:
        f = sf.SoundFile(str(path))
    except (sf.SoundFileError, OSError) as exc:
        raise BadAudio(f"{path}: not a readable audio file ({exc})") from None
    with f:
        sr = int(f.samplerate)
        reader = f.blocks(blocksize=max(1, int(block_s * sr)), dtype="float32", always_2d=True)
        while True:
            try:
                block = next(reader)
            except StopIteration:
                return
            except (sf.SoundFileError, RuntimeError, OSError):  # a decoder failing mid-file
                raise BadAudio(
                    f"{path}: cannot be decoded past {f.tell() / sr:.1f} s (cut short or damaged)"
                ) from None
            y = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            if not np.all(np.isfinite(y)):
                raise BadAudio(f"{path}: holds NaN or infinite samples")
            yield np.ascontiguousarray(y, dtype=np.float32), sr


def scan(path: Path, fe: Frontend, scratch: Path) -> Scan:
    """Read the file once in blocks: resample, write the samples, build the summaries."""
    import soxr

    duration = duration_of(path) or 0.0
    raw = scratch / "samples.f32"
    ms_grid, hop_grid = _Grid(fe.sample_rate / 1000.0), _Grid(TOP_DB_HOP)
    bin_len = max(1, int(np.ceil(duration * fe.sample_rate / OVERVIEW_COLUMNS)))
    lo = np.full(OVERVIEW_COLUMNS + 1, np.inf)
    hi = np.full(OVERVIEW_COLUMNS + 1, -np.inf)
    total, n, sr_in, rs = 0.0, 0, 0, None

    def feed(y: np.ndarray) -> None:
        nonlocal total, n
        if not y.size:
            return
        y.astype(np.float32).tofile(out)
        csum = np.cumsum(y.astype(np.float64) ** 2) + total
        ms_grid.add(csum, n)
        hop_grid.add(csum, n)
        total = float(csum[-1])
        cols = np.minimum((n + np.arange(y.size)) // bin_len, OVERVIEW_COLUMNS)
        edges = np.flatnonzero(np.diff(cols)) + 1
        starts = np.concatenate([[0], edges])
        np.minimum.at(lo, cols[starts], np.minimum.reduceat(y, starts))
        np.maximum.at(hi, cols[starts], np.maximum.reduceat(y, starts))
        n += y.size

    with open(raw, "wb") as out:
        for y, sr in blocks(path):
            sr_in = sr
            if sr != fe.sample_rate:
                if rs is None:
                    rs = soxr.ResampleStream(sr, fe.sample_rate, 1, dtype="float32", quality="HQ")
                y = rs.resample_chunk(y)
            feed(y)
        if rs is not None:
            feed(rs.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if n == 0:
        raise BadAudio(f"{path}: holds no audio samples")
    if total == 0.0:
        raise BadAudio(f"{path}: is digital silence")
    env = np.stack([lo[:OVERVIEW_COLUMNS], hi[:OVERVIEW_COLUMNS]])
    env[~np.isfinite(env)] = 0.0
    return Scan(
        raw=raw,
        n=n,
        sample_rate=fe.sample_rate,
        original_duration_s=duration,
        original_rate=sr_in,
        energy=total,
        ms_grid=ms_grid.values(),
        hop_grid=hop_grid.values(),
        envelope=env,
    )


def speech_bounds(sc: Scan, fe: Frontend) -> tuple[tuple[int, int], tuple[int, int]]:
    """bsx.audio.speech_bounds of the scanned file, from its summaries."""
    if fe.trim == "none":
        return (0, sc.n), (0, sc.n)
    if fe.trim == "top-db":
        return (_top_db_bounds(sc, fe.trim_db),) * 2
    return bounds_from_energy(sc.ms_grid, sc.n, sc.energy / sc.n, fe)


def _top_db_bounds(sc: Scan, top_db: float) -> tuple[int, int]:
    """librosa.effects.trim (frames of 2048 centred every 512 samples, zero-padded; a frame is
    non-silent within top_db of the loudest) from the 512-sample energy grid."""
    grid = np.append(sc.hop_grid, sc.energy)  # csum at j * 512 (j*512 <= n), then at n
    n_frames = 1 + sc.n // TOP_DB_HOP
    t = np.arange(n_frames)
    half = TOP_DB_FRAME // 2 // TOP_DB_HOP

    def at(j: np.ndarray) -> np.ndarray:
        j = np.clip(j, 0, None)
        return np.where(j * TOP_DB_HOP >= sc.n, sc.energy, grid[np.minimum(j, len(grid) - 2)])

    mse = (at(t + half) - at(t - half)) / TOP_DB_FRAME
    db = 10 * np.log10(np.maximum(mse, 1e-10)) - 10 * np.log10(max(float(mse.max()), 1e-10))
    idx = np.flatnonzero(db > -top_db)
    if not idx.size:
        return 0, 0
    return int(idx[0] * TOP_DB_HOP), min(sc.n, int((idx[-1] + 1) * TOP_DB_HOP))


class UnitCache:
    """Log-mel units in a scratch file, appended in unit order and read back by index."""

    def __init__(self, path: Path) -> None:
        self.path, self.count, self.shape = path, 0, (0, 0)

    def append(self, mels: np.ndarray) -> None:
        self.shape = mels.shape[1:]
        with open(self.path, "ab") as f:
            np.ascontiguousarray(mels, dtype=np.float32).tofile(f)
        self.count += len(mels)

    def read(self, idx: range) -> np.ndarray:
        size = self.shape[0] * self.shape[1]
        with open(self.path, "rb") as f:
            f.seek(4 * idx[0] * size)
            return np.fromfile(f, np.float32, len(idx) * size).reshape(len(idx), *self.shape)


@dataclass(frozen=True)
class Timeline:
    """Where a long file's kept content sits: what Prepared holds, without the samples."""

    prep: Prepared  # offsets and front-end only: its waveform is empty (see Scan)
    a: int  # the content's first sample in the file
    length: int  # samples on the model timeline (content and padding)
    left: int  # padding before the content
    content: int  # samples of content
    starts: tuple[int, ...]
    cache: UnitCache | None = None

    @property
    def n_frames(self) -> int:
        return 1 + self.length // self.prep.frontend.hop_length

    def segment(self, sc: Scan, m0: int, m1: int) -> np.ndarray:
        """Model-timeline samples [m0, m1): content read from the scratch file, padding 0."""
        out = np.zeros(max(0, min(m1, self.length) - m0), dtype=np.float32)
        c0, c1 = max(m0, self.left), min(m1, self.left + self.content, self.length)
        if c1 > c0:
            out[c0 - m0 : c1 - m0] = sc.read(self.a + c0 - self.left, self.a + c1 - self.left)
        return out

    def batch(self, sc: Scan, idx: range, cache: UnitCache | None = None) -> Prepared:
        """The units `idx` as one Prepared on their own stretch of the timeline (offsets
        relative to its first unit), so stack_units and the methods take them as they are.
        `cache`: the log-mel units of the first pass over the units, read back (not
        recomputed: on a busy CPU the log-mel costs as much as the model) on the second."""
        fe, n = self.prep.frontend, self.prep.frontend.n_samples
        s0 = self.starts[idx[0]]
        rel = tuple(self.starts[i] - s0 for i in idx)
        y = self.segment(sc, s0, self.starts[idx[-1]] + n)
        end = self.left + self.content - s0
        if fe.input == "waveform":
            mel = np.zeros((0,), dtype=np.float32)
        elif cache is not None and cache.count > idx[0]:
            mel = cache.read(idx)
        else:
            mel = np.stack([logmel(y[s : s + n], fe, n_real=max(0, end - s)) for s in rel])
            if cache is not None:
                cache.append(mel)
        return replace(
            self.prep,
            waveform=y,
            logmel=mel,
            unit_starts=rel,
            pad_offset_s=(self.left - s0) / fe.sample_rate,
        )


def timeline(sc: Scan, fe: Frontend, source: str) -> Timeline:
    """The whole utterance's units (keep "whole"), as bsx.audio.from_segment lays them out."""
    _, (a, b) = speech_bounds(sc, fe)
    content, n = b - a, fe.n_samples
    starts = unit_starts(content, fe)
    if fe.input == "waveform":
        length, left = content, 0
    else:
        length = max(n, starts[-1] + n)
        left = (length - content) // 2 if fe.pad == "center" else 0
    prep = Prepared(
        waveform=np.zeros(0, dtype=np.float32),
        logmel=np.zeros(0, np.float32),
        trim_offset_s=a / fe.sample_rate,
        pad_offset_s=left / fe.sample_rate,
        content_s=content / fe.sample_rate,
        original_duration_s=sc.original_duration_s,
        frontend=fe,
        source=source,
        unit_starts=starts,
        speech_s=content / fe.sample_rate,
    )
    return Timeline(
        prep=prep,
        a=a,
        length=length,
        left=left,
        content=content,
        starts=starts,
        cache=UnitCache(sc.raw.with_name("units.f32")),
    )


def timeline_of(prep: Prepared) -> Timeline:
    """The Timeline of an in-memory Prepared (its samples stay where they are)."""
    sr = prep.frontend.sample_rate
    return Timeline(
        prep=prep,
        a=round(prep.trim_offset_s * sr),
        length=len(prep.waveform),
        left=round(prep.pad_offset_s * sr),
        content=round(prep.content_s * sr),
        starts=prep.unit_starts,
    )


def first_interval(sc: Scan, fe: Frontend, source: str) -> Prepared:
    """keep "first-interval": only the first interval, cut to one unit, is read back."""
    first, whole = speech_bounds(sc, fe)
    a = first[0]
    seg = sc.read(a, min(first[1], a + fe.n_samples))
    return from_segment(
        seg, a, whole, fe, original_duration_s=sc.original_duration_s, source=source
    )


def _batches(n_units: int) -> Iterator[range]:
    for i in range(0, n_units, UNITS_PER_BATCH):
        yield range(i, min(i + UNITS_PER_BATCH, n_units))


def clip_outputs(loaded: LoadedModel, tl: Timeline, sc: Scan) -> tuple[np.ndarray, np.ndarray]:
    """The clip's outputs (the mean of its unit logits, as clip_logits) and an overview of the
    log-mels the model saw ((128 or n_mels, columns), each column the mean of its frames; a
    waveform model's pieces get a 128-band log-mel, as explain_file draws them)."""
    import torch

    from bsx.device import device_of
    from bsx.evaluation.attribute import stack_units

    fe, dev = tl.prep.frontend, device_of(loaded.net)
    drawn = fe if fe.input == "logmel" else fe.model_copy(update={"n_mels": 128})
    total: torch.Tensor | None = None
    cols = _columns(tl.n_frames)
    mel_sum = np.zeros((drawn.n_mels, OVERVIEW_COLUMNS))
    mel_n = np.zeros(OVERVIEW_COLUMNS)
    with torch.no_grad():
        for idx in _batches(len(tl.starts)):
            bp = tl.batch(sc, idx, tl.cache)
            units = stack_units([bp], dev)
            for _, x in units.groups:
                s = loaded.net(x).float().sum(dim=0)
                total = s if total is None else total + s
            mels = bp.units() if fe.input == "logmel" else [logmel(u, drawn) for u in bp.units()]
            for u, s0 in zip(mels, tl.starts[idx[0] : idx[-1] + 1], strict=True):
                f = s0 // fe.hop_length + np.arange(u.shape[-1])
                ok = f < tl.n_frames
                np.add.at(mel_sum.T, cols[f[ok]], u[:, ok].T)
                np.add.at(mel_n, cols[f[ok]], 1)
    assert total is not None
    mel = (mel_sum / np.maximum(mel_n, 1))[:, mel_n > 0]
    return (total / len(tl.starts)).cpu().numpy(), mel.astype(np.float32)


def _columns(n_frames: int) -> np.ndarray:
    """The overview column of each frame."""
    return np.minimum(
        np.arange(n_frames) * OVERVIEW_COLUMNS // max(n_frames, 1), OVERVIEW_COLUMNS - 1
    )


@dataclass
class Stitched:
    """A long clip's relevance on the model timeline, written as (T, F) float32 frames."""

    path: Path
    n_frames: int
    n_bands: int
    total: float  # sum of the map (the "mean" threshold)
    total_abs: float

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first frame, (F, chunk) map) over the whole timeline."""
        with open(self.path, "rb") as f:
            for f0 in range(0, self.n_frames, FRAMES_PER_CHUNK):
                c = min(FRAMES_PER_CHUNK, self.n_frames - f0)
                yield f0, np.fromfile(f, np.float32, c * self.n_bands).reshape(c, -1).T


def attribute_streamed(
    explainer: Any, tl: Timeline, sc: Scan, target: int, out: Path, dev: Any
) -> Stitched:
    """Attribute every unit for `target`, a batch at a time, stitching as bsx.relevance.stitch
    (overlapping frames averaged) and writing each frame once no later unit covers it."""
    from bsx.evaluation.attribute import content_only, stack_units, unit_maps

    fe = tl.prep.frontend
    hop, t_all = fe.hop_length, tl.n_frames
    acc, cnt = np.zeros((0, 0)), np.zeros(0)
    base = 0  # the first frame not yet written
    sums = [0.0, 0.0]
    keep = None
    if fe.features != "librosa":  # frames outside the content dropped, as to_clip_maps
        probe = content_only(np.ones((1, t_all), np.float32), tl.prep)
        keep = probe[0] > 0
    with open(out, "wb") as f:

        def grow(upto: int) -> None:
            nonlocal acc, cnt
            need = upto - base - acc.shape[1]
            if need > 0:
                acc = np.pad(acc, ((0, 0), (0, need)))
                cnt = np.pad(cnt, (0, need))

        def flush(upto: int) -> None:
            nonlocal acc, cnt, base
            if upto <= base:
                return
            grow(upto)
            w = upto - base
            m = (acc[:, :w] / np.maximum(cnt[:w], 1)).astype(np.float32)
            if keep is not None:
                m[:, ~keep[base:upto]] = 0.0
            if not np.all(np.isfinite(m)):
                raise BsxError("an attribution map holds NaN or infinite values")
            sums[0] += float(m.sum(dtype=np.float64))
            sums[1] += float(np.abs(m).sum(dtype=np.float64))
            np.ascontiguousarray(m.T).tofile(f)
            acc, cnt, base = acc[:, w:], cnt[w:], upto

        for idx in _batches(len(tl.starts)):
            bp = tl.batch(sc, idx, tl.cache)
            units = stack_units([bp], dev)
            maps = unit_maps(explainer, units, np.array([target]))
            if not acc.shape[0]:
                acc = np.zeros((maps[0].shape[0], 0))
            grow(
                min(
                    t_all,
                    max(tl.starts[i] // hop + m.shape[-1] for i, m in zip(idx, maps, strict=True)),
                )
            )
            for i, m in zip(idx, maps, strict=True):
                s = tl.starts[i]
                if s % hop:
                    raise ValueError(f"unit start {s} is not a whole number of {hop}-sample frames")
                a = s // hop - base
                b = min(a + m.shape[-1], t_all - base)
                acc[:, a:b] += m[:, : b - a]
                cnt[a:b] += 1
            if idx[-1] + 1 < len(tl.starts):  # frames before the next unit are final
                flush(tl.starts[idx[-1] + 1] // hop)
        flush(t_all)
    return Stitched(out, t_all, int(acc.shape[0]), sums[0], sums[1])


def profile(st: Stitched, opts: WindowOptions) -> tuple[np.ndarray, np.ndarray]:
    """The per-frame sums of the thresholded map (bsx.windows.thresholded, from the streamed
    sums for the "mean" rule) and the map's overview ((F, columns), column means)."""
    if opts.threshold not in ("mean", "none"):
        raise BsxError(
            f"window threshold '{opts.threshold}' needs the whole map in memory; a "
            "long file is windowed with 'mean' or 'none'"
        )
    absolute = opts.sign == "absolute"
    size = st.n_frames * st.n_bands
    cut = (st.total_abs if absolute else st.total) / size if opts.threshold == "mean" else -np.inf
    cols = np.zeros(st.n_frames)
    cols_of = _columns(st.n_frames)
    ov = np.zeros((st.n_bands, OVERVIEW_COLUMNS))
    ov_n = np.zeros(OVERVIEW_COLUMNS)
    for f0, m in st.chunks():
        r = np.abs(m.astype(np.float64)) if absolute else m.astype(np.float64)
        r = np.maximum(np.where(r < cut, 0.0, r), 0.0)
        cols[f0 : f0 + m.shape[1]] = r.sum(axis=0)
        c = cols_of[f0 : f0 + m.shape[1]]
        np.add.at(ov.T, c, m.T)
        np.add.at(ov_n, c, 1)
    return cols, (ov / np.maximum(ov_n, 1))[:, ov_n > 0]


def write_on_original(st: Stitched, tl: Timeline, path: Path) -> np.ndarray:
    """bsx.relevance.on_original of the stitched map, written frame by frame as an
    (F, T) Fortran-order .npy; returned memory-mapped (read-only)."""
    fe = tl.prep.frontend
    sr, hop = fe.sample_rate, fe.hop_length
    n_orig = int(round(tl.prep.original_duration_s * sr))
    t_orig = 1 + n_orig // hop
    pad, end = tl.left, tl.left + tl.content
    first, last = -(-pad // hop), min(end // hop + 1, st.n_frames)
    shift = int(round((tl.prep.trim_offset_s * sr - pad) / hop))
    lo, hi = max(first, -shift), min(last, t_orig - shift)
    zeros = np.zeros((FRAMES_PER_CHUNK, st.n_bands), np.float32)

    def pad_to(f: Any, n: int) -> None:
        for i in range(0, n, FRAMES_PER_CHUNK):
            zeros[: min(FRAMES_PER_CHUNK, n - i)].tofile(f)

    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": True, "shape": (st.n_bands, t_orig)}
        )
        written = 0
        if hi > lo:
            pad_to(f, lo + shift)
            written = lo + shift
            for f0, m in st.chunks():
                a, b = max(f0, lo), min(f0 + m.shape[1], hi)
                if b > a:
                    np.ascontiguousarray(m[:, a - f0 : b - f0].T).tofile(f)
                    written += b - a
        pad_to(f, t_orig - written)
    return np.load(path, mmap_mode="r")


@dataclass(frozen=True)
class _Request:
    """What explain_long was asked: the file, the method and its options, the target, the
    number of windows, the WAV's attenuation and the output folder."""

    path: Path
    method: str
    target: str
    k: int
    attenuate_db: float
    out: Path
    method_options: dict[str, Any] | None

    @property
    def stem(self) -> str:
        return f"{self.path.stem}.{self.method}"

    @property
    def relevance_path(self) -> Path:
        return self.out / f"{self.stem}.relevance.npy"


def explain_long(
    path: Path,
    method: str,
    loaded: LoadedModel,
    fe: Frontend,
    *,
    target: str,
    k: int,
    attenuate_db: float,
    out: Path,
    method_options: dict[str, Any] | None,
) -> Explanation:
    """explain_file for a long file: the streamed path (module docstring)."""
    req = _Request(path, method, target, k, attenuate_db, out, method_options)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bsx-stream-", dir=out) as tmp:
        progress_status(f"reading {path.name} in blocks")
        sc = scan(path, fe, Path(tmp))
        if fe.keep != "whole":  # one unit of the first interval: the in-memory path on it
            return _explain_first_interval(req, loaded, fe, sc, Path(tmp))
        return _explain_streamed(req, loaded, fe, sc, Path(tmp))


def _explain_first_interval(req: _Request, loaded: LoadedModel, fe: Frontend, sc: Scan,
                            tmp: Path) -> Explanation:
    """A long file whose front-end keeps one unit: explain_prepared on that unit, the
    relevance written on the file's timeline."""
    from bsx.explanation import explain_prepared, model_spectrogram

    prep = first_interval(sc, fe, str(req.path))
    result, rel = explain_prepared(
        loaded, prep, req.method, target=req.target, k=req.k, method_options=req.method_options
    )
    frames = tmp / "relevance.f32"
    np.ascontiguousarray(rel.T, dtype=np.float32).tofile(frames)
    st = Stitched(frames, rel.shape[1], rel.shape[0], 0.0, 0.0)
    rel_path = req.relevance_path
    result = replace(result, relevance=write_on_original(st, timeline_of(prep), rel_path))
    figures = _figures(result, sc, fe, req.out, req.stem, rel, model_spectrogram(prep),
                       req.path, req.attenuate_db)
    return replace(result, files={**figures, "relevance": str(rel_path)})


def _explain_streamed(req: _Request, loaded: LoadedModel, fe: Frontend, sc: Scan,
                      tmp: Path) -> Explanation:
    """A long file in whole-utterance units: predict, attribute and stitch unit by unit."""
    from bsx.device import device_of
    from bsx.explanation import Explanation, outcome_fields, parse_target, prediction
    from bsx.plugins import build
    from bsx.windows import WindowOptions, for_method, to_original, windows_from_columns

    path = req.path
    tl = timeline(sc, fe, str(path))
    progress_status(f"predicting {path.name}: {len(tl.starts)} units")
    outputs, mel_overview = clip_outputs(loaded, tl, sc)
    regression, probs, predicted, values = prediction(loaded, outputs)
    tgt = parse_target(req.target, loaded.labels, predicted)
    explainer = build("method", req.method, loaded.net, options=req.method_options)
    progress_status(f"explaining {path.name} with {req.method}: {len(tl.starts)} units")
    st = attribute_streamed(explainer, tl, sc, tgt, tmp / "relevance.f32", device_of(loaded.net))
    opts = for_method(WindowOptions(k=req.k), explainer)
    cols, rel_overview = profile(st, opts)
    (wins,) = windows_from_columns(cols[None], fe.frame_s, opts)
    rel_path = req.relevance_path
    result = Explanation(
        source=str(path),
        windows_model=tuple(wins),
        windows_original=tuple(to_original(wins, tl.prep)),
        relevance=write_on_original(st, tl, rel_path),
        frame_s=fe.frame_s,
        **outcome_fields(loaded, req.method, (regression, probs, predicted, values), tgt),
    )
    overview_s = tl.n_frames * fe.frame_s / max(rel_overview.shape[1], 1)
    figures = _figures(result, sc, fe, req.out, req.stem, rel_overview, mel_overview, path,
                       req.attenuate_db, overview_frame_s=overview_s)
    return replace(result, files={**figures, "relevance": str(rel_path)})


def _figures(
    e: Explanation,
    sc: Scan,
    fe: Frontend,
    out: Path,
    stem: str,
    rel: np.ndarray,
    spectrogram: np.ndarray,
    path: Path,
    attenuate_db: float,
    overview_frame_s: float | None = None,
) -> dict[str, str]:
    """The three figures (a long timeline drawn as a decimated overview) and the WAV."""
    from bsx.report.explain_figures import (
        plot_attribution,
        plot_envelope_windows,
        plot_spectrogram_windows,
    )

    frame_s = overview_frame_s or fe.frame_s
    title = f"{path.name}: {e.method} for '{e.labels[e.target]}' ({e.model_name})"
    mel_sr = fe.mel_sr or fe.sample_rate
    wins = list(e.windows_model)
    files = {
        "attribution": plot_attribution(
            rel, frame_s, out / f"{stem}.attribution.png", title, mel_sr=mel_sr
        ),
        "spectrogram": plot_spectrogram_windows(
            spectrogram, wins, frame_s, out / f"{stem}.spectrogram.png", title, mel_sr=mel_sr
        ),
        "waveform": plot_envelope_windows(
            sc.envelope,
            sc.n / sc.sample_rate,
            list(e.windows_original),
            out / f"{stem}.waveform.png",
            title,
        ),
        "listen": write_listenable_streamed(
            path, list(e.windows_original), out / f"{stem}.listen.wav", attenuate_db
        ),
    }
    return {k: str(v) for k, v in files.items()}


def write_listenable_streamed(
    path: Path, windows: list[Window], dest: Path, attenuate_db: float
) -> Path:
    """bsx.report.explain_figures.write_listenable, block by block at the file's own rate."""
    import soundfile as sf

    from bsx.report.explain_figures import RAMP_S, window_gain

    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer: Any = None
        try:
            for y, sr in blocks(path):
                if writer is None:
                    writer = sf.SoundFile(
                        str(dest), "w", samplerate=sr, channels=1, subtype="PCM_16"
                    )
                margin = max(int(RAMP_S * sr), 1)
                lo, hi = done - margin, done + y.size + margin
                shifted = [
                    replace(w, start_s=w.start_s - lo / sr, end_s=w.end_s - lo / sr)
                    for w in windows
                    if w.end_s > w.start_s and w.end_s * sr > lo and w.start_s * sr < hi
                ]
                gain = window_gain(y.size + 2 * margin, sr, shifted, attenuate_db)
                writer.write(
                    np.clip(y * gain[margin : margin + y.size], -1.0, 1.0).astype(np.float32)
                )
                done += y.size
        finally:
            if writer is not None:
                writer.close()
    return dest

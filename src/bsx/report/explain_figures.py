"""Figures and the listenable explanation written by `bsx explain`, like the paper's.

Three figures (PNG + SVG): the attribution map; the log-mel spectrogram the model saw (Hz
axis) with the salient windows outlined (model timeline); the waveform of the ORIGINAL file
with the windows coloured (original timeline, so the trim offset is visible). And a WAV of
the original clip with everything outside the windows attenuated, so a listener hears what
the model used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsx.windows import Window

RAMP_S = 0.005  # fades at window edges: no clicks in the listenable WAV
# Figures 10 in wide at 100 dpi: 1000 px, shown 1:1 in a 1280 px browser (report.html shows
# one example per row), so 10 pt text is ~14 px; at 230 px wide it was ~5 px.
WIDTH_IN = 10.0
DPI = 100
FONT_PT = 10.0
MIN_TICK_GAP = 0.07  # y tick labels closer than this share of the axis height are dropped


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:  # type: ignore[no-untyped-def]
    """PNG at `path`, SVG beside it; closes the figure."""
    from bsx.report.figures import save

    return save(fig, path, dpi=DPI)


def mel_band_hz(n_mels: int, mel_sr: int) -> np.ndarray:
    """Centre frequencies (Hz) of librosa's mel bands (fmin 0, fmax mel_sr / 2, Slaney)."""
    import librosa

    return np.asarray(librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=mel_sr / 2)[1:-1])


def hz_axis(ax, n_mels: int, mel_sr: int | None) -> None:  # type: ignore[no-untyped-def]
    """Label the y axis of a (n_mels, T) image in Hz at the bands nearest round frequencies,
    dropping a tick closer than MIN_TICK_GAP of the axis to the one below it (100 and 250 Hz
    lie 6 of 128 bands apart: their labels overlapped); without a sample rate, mel bands."""
    if not mel_sr:
        ax.set_ylabel("mel band")
        return
    centres = mel_band_hz(n_mels, mel_sr)
    ticks: list[float] = []
    labels: list[str] = []
    for f in (100, 250, 500, 1000, 2000, 4000, 8000, 16000):
        if f <= centres[-1] * 1.02 and f >= centres[0]:
            pos = int(np.argmin(np.abs(centres - f))) + 0.5
            if ticks and pos - ticks[-1] < MIN_TICK_GAP * n_mels:
                continue
            ticks.append(pos)
            labels.append(f"{f:g}")
    ax.set_yticks(ticks, labels)
    ax.set_ylabel("frequency (Hz, mel-spaced)")


def outline_windows(ax, windows: Sequence[Window], top: float) -> list:  # type: ignore[no-untyped-def]
    """Salient windows as dashed outlines with their rank (the spectrogram stays visible);
    returns the rank labels, for stack_labels once the layout is final."""
    from matplotlib.patches import Rectangle

    texts = []
    for rank, w in enumerate(windows, 1):
        if w.end_s <= w.start_s:
            continue
        ax.add_patch(Rectangle((w.start_s, 0), w.end_s - w.start_s, top, fill=False,
                               edgecolor="cyan", lw=1.5, ls="--"))
        texts.append(ax.text((w.start_s + w.end_s) / 2, top * 0.97, f"#{rank}", color="cyan",
                             ha="center", va="top", fontsize=FONT_PT, fontweight="bold",
                             clip_on=True))
    return texts


def stack_labels(fig, texts: list, pad_px: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    """Move each label down, a line at a time, until it overlaps no label placed before it
    (adjacent or narrow windows put their ranks on top of each other). Call after the
    layout is final: positions are measured on the figure's own renderer."""
    if not texts:
        return
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    for t in texts:
        ax = t.axes
        x, y = t.get_position()
        line = t.get_window_extent(renderer).height + pad_px
        # a line's height in data units of the y axis
        y0 = ax.transData.inverted().transform((0, 0))[1]
        y1 = ax.transData.inverted().transform((0, line))[1]
        step = abs(y1 - y0)
        for _ in range(20):
            box = t.get_window_extent(renderer).expanded(1.0, 1.0).padded(pad_px)
            if not any(box.overlaps(b) for b in placed):
                break
            y -= step
            t.set_y(y)
        placed.append(t.get_window_extent(renderer))


def attribution_figure(rel: np.ndarray, frame_s: float, title: str = "",
                       mel_sr: int | None = None):  # type: ignore[no-untyped-def]
    """(n_mels, T) map as an image; diverging colours when it holds both signs."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.6))
    lim = float(np.abs(rel).max()) or 1.0
    signed = bool((rel < 0).any() and (rel > 0).any())
    im = ax.imshow(rel, origin="lower", aspect="auto", cmap="bwr" if signed else "inferno",
                   vmin=-lim if signed else float(rel.min()), vmax=lim,
                   extent=(0.0, rel.shape[1] * frame_s, 0, rel.shape[0]))
    ax.set(xlabel="time on the model input (s)", title=title)
    if rel.shape[0] > 1:
        hz_axis(ax, rel.shape[0], mel_sr)
    else:
        ax.set_ylabel("(waveform model: one row)")
    fig.colorbar(im, ax=ax, label="relevance (a.u.)")
    fig.tight_layout()
    return fig


def plot_attribution(rel: np.ndarray, frame_s: float, path: Path, title: str = "",
                     mel_sr: int | None = None) -> Path:
    """attribution_figure saved as PNG + SVG."""
    return _save(attribution_figure(rel, frame_s, title, mel_sr), path)


def spectrogram_figure(logmel: np.ndarray, windows: Sequence[Window], frame_s: float,
                       title: str = "", mel_sr: int | None = None,
                       xlabel: str = "time on the model input (s)"):  # type: ignore[no-untyped-def]
    """A log-mel spectrogram (dB re its max) with the salient windows outlined and ranked."""
    plt = _plt()
    with plt.rc_context({"font.size": FONT_PT}):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.6), dpi=DPI)
        im = ax.imshow(logmel, origin="lower", aspect="auto", cmap="magma",
                       extent=(0.0, logmel.shape[1] * frame_s, 0, logmel.shape[0]))
        texts = outline_windows(ax, windows, logmel.shape[0])
        ax.set(xlabel=xlabel, title=title)
        hz_axis(ax, logmel.shape[0], mel_sr)
        fig.colorbar(im, ax=ax, label="power (dB re max)", pad=0.015)
        fig.tight_layout()
        stack_labels(fig, texts)
    return fig


def plot_spectrogram_windows(logmel: np.ndarray, windows: Sequence[Window], frame_s: float,
                             path: Path, title: str = "", mel_sr: int | None = None) -> Path:
    """The log-mel the model saw, salient windows outlined and ranked (model timeline)."""
    return _save(spectrogram_figure(logmel, windows, frame_s, title, mel_sr), path)


def clip_spectrogram_figure(y: np.ndarray, sr: int, windows: Sequence[Window], title: str = "",
                            n_mels: int = 128):  # type: ignore[no-untyped-def]
    """The ORIGINAL file's log-mel spectrogram (10 ms hop) with windows outlined on its own
    timeline: what report.html shows beside the audio players."""
    import librosa

    hop = max(1, int(round(sr * 0.01)))
    n_fft = int(2 ** np.ceil(np.log2(0.025 * sr)))
    mel = librosa.feature.melspectrogram(y=y.astype(np.float32), sr=sr, n_fft=n_fft,
                                         hop_length=hop, n_mels=n_mels)
    db = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    return spectrogram_figure(db, windows, hop / sr, title, sr,
                              xlabel="time in the original file (s)")


def waveform_figure(y: np.ndarray, sr: int, windows: Sequence[Window],
                    title: str = ""):  # type: ignore[no-untyped-def]
    """The ORIGINAL waveform, salient windows coloured (original timeline)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.8))
    t = np.arange(y.size) / sr
    ax.plot(t, y, color="0.6", lw=0.5)
    colours = plt.get_cmap("tab10")
    drawn = 0
    for rank, w in enumerate(windows, 1):
        if w.end_s <= w.start_s:
            continue
        a, b = int(w.start_s * sr), int(w.end_s * sr)
        ax.plot(t[a:b], y[a:b], color=colours((rank - 1) % 10), lw=0.7, label=f"#{rank}")
        ax.axvspan(w.start_s, w.end_s, color=colours((rank - 1) % 10), alpha=0.12, lw=0)
        drawn += 1
    ax.set(xlabel="time in the original file (s)", ylabel="amplitude (full scale = 1)",
           title=title, xlim=(0.0, max(t[-1] if t.size else 0.0, 1e-3)))
    if drawn:
        ax.legend(loc="upper right", fontsize=7, ncol=min(len(windows), 5))
    fig.tight_layout()
    return fig


def plot_waveform_windows(y: np.ndarray, sr: int, windows: Sequence[Window], path: Path,
                          title: str = "") -> Path:
    """waveform_figure saved as PNG + SVG."""
    return _save(waveform_figure(y, sr, windows, title), path)


def envelope_figure(envelope: np.ndarray, duration_s: float, windows: Sequence[Window],
                    title: str = ""):  # type: ignore[no-untyped-def]
    """A long file's waveform as its (min, max) envelope per column, windows shaded: the
    overview bsx.streaming draws instead of millions of samples."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 2.6))
    t = (np.arange(envelope.shape[1]) + 0.5) * duration_s / max(envelope.shape[1], 1)
    ax.fill_between(t, envelope[0], envelope[1], color="0.6", lw=0)
    colours = plt.get_cmap("tab10")
    for rank, w in enumerate(windows, 1):
        if w.end_s > w.start_s:  # at least a pixel wide, so a 150 ms window shows in an hour
            half = max((w.end_s - w.start_s) / 2, duration_s / 1600)
            mid = (w.start_s + w.end_s) / 2
            ax.axvspan(mid - half, mid + half, color=colours((rank - 1) % 10), alpha=0.6,
                       lw=0, label=f"#{rank}")
    ax.set(xlabel="time in the original file (s)", ylabel="amplitude (full scale = 1)",
           title=title, xlim=(0.0, max(duration_s, 1e-3)))
    if any(w.end_s > w.start_s for w in windows):
        ax.legend(loc="upper right", fontsize=7, ncol=min(len(windows), 5))
    fig.tight_layout()
    return fig


def plot_envelope_windows(envelope: np.ndarray, duration_s: float, windows: Sequence[Window],
                          path: Path, title: str = "") -> Path:
    """envelope_figure saved as PNG + SVG."""
    return _save(envelope_figure(envelope, duration_s, windows, title), path)


def window_gain(n: int, sr: int, windows: Sequence[Window], attenuate_db: float) -> np.ndarray:
    """(n,) gain: 1 inside the windows (original seconds), 10^(-dB/20) outside, 5 ms fades."""
    floor = 10.0 ** (-attenuate_db / 20.0)
    inside = np.zeros(n)
    for w in windows:
        a, b = max(int(round(w.start_s * sr)), 0), min(int(round(w.end_s * sr)), n)
        inside[a:b] = 1.0
    ramp = max(int(RAMP_S * sr), 1)
    if 1 < ramp < n:  # smooth the 0/1 edges with a short moving average (clips longer than it)
        kernel = np.ones(ramp) / ramp
        inside = np.clip(np.convolve(inside, kernel, mode="same"), 0.0, 1.0)
        for w in windows:  # but keep the windows themselves at full level
            a, b = max(int(round(w.start_s * sr)), 0), min(int(round(w.end_s * sr)), n)
            inside[a:b] = 1.0
    return floor + (1.0 - floor) * inside


def listenable(y: np.ndarray, sr: int, windows: Sequence[Window],
               attenuate_db: float = 20.0) -> np.ndarray:
    """The original clip with everything outside the windows attenuated by `attenuate_db`."""
    return np.clip(y * window_gain(y.size, sr, windows, attenuate_db), -1.0, 1.0)


def write_listenable(y: np.ndarray, sr: int, windows: Sequence[Window], path: Path,
                     attenuate_db: float = 20.0) -> Path:
    """listenable() written as a 16-bit WAV."""
    import soundfile as sf

    sf.write(str(path), listenable(y, sr, windows, attenuate_db).astype(np.float32), sr,
             subtype="PCM_16")
    return path

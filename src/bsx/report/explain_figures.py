"""Figures and the listenable explanation written by `bsx explain`, like the paper's.

Three PNGs: the attribution map; the log-mel spectrogram the model saw with the salient
windows shaded (model timeline); the waveform of the ORIGINAL file with the windows coloured
(original timeline, so the trim offset is visible). And a WAV of the original clip with
everything outside the windows attenuated, so a listener hears what the model used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bsx.windows import Window

RAMP_S = 0.005  # fades at window edges: no clicks in the listenable WAV


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_attribution(rel: np.ndarray, frame_s: float, path: Path, title: str = "") -> Path:
    """(n_mels, T) map as an image; diverging colours when it holds both signs."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    lim = float(np.abs(rel).max()) or 1.0
    signed = bool((rel < 0).any() and (rel > 0).any())
    im = ax.imshow(rel, origin="lower", aspect="auto", cmap="bwr" if signed else "inferno",
                   vmin=-lim if signed else float(rel.min()), vmax=lim,
                   extent=(0.0, rel.shape[1] * frame_s, 0, rel.shape[0]))
    ax.set(xlabel="time on the model input (s)", ylabel="mel band", title=title)
    fig.colorbar(im, ax=ax, label="relevance")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_spectrogram_windows(logmel: np.ndarray, windows: Sequence[Window], frame_s: float,
                             path: Path, title: str = "") -> Path:
    """The log-mel the model saw, salient windows shaded and ranked (model timeline)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    im = ax.imshow(logmel, origin="lower", aspect="auto", cmap="magma",
                   extent=(0.0, logmel.shape[1] * frame_s, 0, logmel.shape[0]))
    for rank, w in enumerate(windows, 1):
        ax.axvspan(w.start_s, w.end_s, color="cyan", alpha=0.25, lw=0)
        ax.text((w.start_s + w.end_s) / 2, logmel.shape[0] * 0.93, str(rank), color="white",
                ha="center", va="top", fontsize=8)
    ax.set(xlabel="time on the model input (s)", ylabel="mel band", title=title)
    fig.colorbar(im, ax=ax, label="dB")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_waveform_windows(y: np.ndarray, sr: int, windows: Sequence[Window], path: Path,
                          title: str = "") -> Path:
    """The ORIGINAL waveform, salient windows coloured (original timeline)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 2.6))
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
    ax.set(xlabel="time in the original file (s)", ylabel="amplitude", title=title,
           xlim=(0.0, max(t[-1] if t.size else 0.0, 1e-3)))
    if drawn:
        ax.legend(loc="upper right", fontsize=7, ncol=min(len(windows), 5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def window_gain(n: int, sr: int, windows: Sequence[Window], attenuate_db: float) -> np.ndarray:
    """(n,) gain: 1 inside the windows (original seconds), 10^(-dB/20) outside, 5 ms fades."""
    floor = 10.0 ** (-attenuate_db / 20.0)
    inside = np.zeros(n)
    for w in windows:
        a, b = max(int(round(w.start_s * sr)), 0), min(int(round(w.end_s * sr)), n)
        inside[a:b] = 1.0
    ramp = max(int(RAMP_S * sr), 1)
    if ramp > 1:  # smooth the 0/1 edges with a short moving average
        kernel = np.ones(ramp) / ramp
        inside = np.clip(np.convolve(inside, kernel, mode="same"), 0.0, 1.0)
        for w in windows:  # but keep the windows themselves at full level
            a, b = max(int(round(w.start_s * sr)), 0), min(int(round(w.end_s * sr)), n)
            inside[a:b] = 1.0
    return floor + (1.0 - floor) * inside


def write_listenable(y: np.ndarray, sr: int, windows: Sequence[Window], path: Path,
                     attenuate_db: float = 20.0) -> Path:
    """The original clip with everything outside the windows attenuated by `attenuate_db`."""
    import soundfile as sf

    out = np.clip(y * window_gain(y.size, sr, windows, attenuate_db), -1.0, 1.0)
    sf.write(str(path), out.astype(np.float32), sr, subtype="PCM_16")
    return path

"""Input features that a model family defines for itself, computed as its HF feature extractor
does, on bsx's centred frame grid (docs/model-contract.md, docs/hf-models.md).

- "ast-fbank": the Audio Spectrogram Transformer's Kaldi filterbank (ASTFeatureExtractor's
  numpy path: 25 ms Hann frames every 10 ms, 512-point FFT, pre-emphasis 0.97, DC removed,
  Kaldi mel scale from 20 Hz, natural log), zero-padded in the filterbank domain to the
  model's fixed length as the extractor pads. The one change: the real samples get half a
  window (200 samples at 16 kHz) of zeros on each side, so frame f is centred at f * hop on
  the unit (the extractor's frame f starts there, 12.5 ms earlier than its centre). The
  extractor's mean/std normalisation is done inside the net's forward.
- "whisper-logmel": WhisperFeatureExtractor's log-mel (centred 400-point STFT every 160
  samples, Slaney mel, log10, floor at max - 8, (x + 4) / 4) of the window zero-padded to its
  fixed length, as the extractor pads. bsx keeps the last frame the extractor drops (the grid
  has 1 + N // hop frames); the net drops it again, so it gets no relevance.

Imports transformers.audio_utils (numpy only) when first used.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

FeatureKind = Literal["librosa", "ast-fbank", "whisper-logmel"]
FEATURE_KINDS: tuple[str, ...] = ("librosa", "ast-fbank", "whisper-logmel")

AST_WINDOW = 400  # samples of one Kaldi frame at 16 kHz (25 ms); the extractor's constant
AST_FFT = 512
AST_MEL_FLOOR = 1.192092955078125e-07  # the extractor's log floor (float32 epsilon)


@functools.lru_cache(maxsize=8)
def _ast_filters(n_mels: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    from transformers.audio_utils import mel_filter_bank, window_function

    mel = mel_filter_bank(
        num_frequency_bins=AST_FFT // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=20,
        max_frequency=sample_rate // 2,
        sampling_rate=sample_rate,
        norm=None,
        mel_scale="kaldi",
        triangularize_in_mel_space=True,
    )
    return mel, window_function(AST_WINDOW, "hann", periodic=False)


def ast_fbank(
    y: np.ndarray, n_mels: int, sample_rate: int, hop_length: int, n_real: int | None = None
) -> np.ndarray:
    """(n_mels, 1 + len(y) // hop) Kaldi log filterbank of the first n_real samples (default
    all), frames centred at f * hop; frames past the real samples are 0 (the extractor's pad)."""
    from transformers.audio_utils import spectrogram

    n_frames = 1 + len(y) // hop_length
    real = np.asarray(y[: len(y) if n_real is None else n_real], dtype=np.float32)
    half = AST_WINDOW // 2
    mel, window = _ast_filters(n_mels, sample_rate)
    fbank = spectrogram(
        np.pad(real, (half, half)),
        window,
        frame_length=AST_WINDOW,
        hop_length=hop_length,
        fft_length=AST_FFT,
        power=2.0,
        center=False,
        preemphasis=0.97,
        mel_filters=mel,
        log_mel="log",
        mel_floor=AST_MEL_FLOOR,
        remove_dc_offset=True,
    )
    out = np.zeros((n_mels, n_frames), dtype=np.float32)
    keep = min(fbank.shape[1], n_frames)
    out[:, :keep] = fbank[:, :keep]
    return out


@functools.lru_cache(maxsize=8)
def _whisper_filters(n_mels: int, sample_rate: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    from transformers.audio_utils import mel_filter_bank, window_function

    mel = mel_filter_bank(
        num_frequency_bins=1 + n_fft // 2,
        num_mel_filters=n_mels,
        min_frequency=0.0,
        max_frequency=8000.0,
        sampling_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )
    return mel, window_function(n_fft, "hann")


def whisper_logmel(
    y: np.ndarray, n_mels: int, sample_rate: int, n_fft: int, hop_length: int
) -> np.ndarray:
    """(n_mels, 1 + len(y) // hop) Whisper log-mel of a window already padded to its length;
    the floor (max - 8) is taken over the frames the model sees (all but the last)."""
    from transformers.audio_utils import spectrogram

    mel, window = _whisper_filters(n_mels, sample_rate, n_fft)
    log_spec = spectrogram(
        np.asarray(y, dtype=np.float32),
        window,
        frame_length=n_fft,
        hop_length=hop_length,
        power=2.0,
        mel_filters=mel,
        log_mel="log10",
    )
    log_spec = np.maximum(log_spec, log_spec[:, :-1].max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)

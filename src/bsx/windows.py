"""Salient time windows of an attribution map, in seconds on the model and original timelines.

The paper's rule (Nasr et al. 2025) is the default: values below the map's mean become 0,
the time axis is cut into non-overlapping 10-frame windows (150 ms at hop 240 / 16 kHz), each
window is scored by the sum of the thresholded map, and the top k = 5 are kept.

Choices the paper leaves open, made here and named in WindowOptions:
- sign: one rule per method, declared by the method (`sign` attribute, read by method_sign;
  for_method fills it in, and --window-opt sign=... overrides it). "positive": the threshold
  is computed on the raw map as the paper did, then negative values are also set to 0 (they
  are evidence AGAINST the class and would lower a window's score; for maps whose mean is >= 0
  this equals the paper's rule exactly). "absolute" thresholds |map| instead, for methods
  whose sign is arbitrary (occlusion with a 0 dB baseline, signed gradients). A method that
  declares nothing is "positive".
- Only windows with weight > 0 are returned, so a map that is zero outside one span yields
  fewer than k windows rather than arbitrary zero-weight ones.
- Candidates start at 0, hop, 2 hop, ... (the grid of range(0, T, hop)); the last one is
  shorter when T is not a multiple of the hop (frames 130-133 of a 134-frame map). With
  hop < width, a full window flush with the end is added instead, windows are chosen greedily
  by score, and a window overlapping one already chosen is skipped (none overlap).
- Windows are returned in rank order (highest weight first; ties: earlier first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from bsx.errors import BsxError

if TYPE_CHECKING:
    from bsx.audio import Prepared


Sign = Literal["positive", "absolute"]
SIGNS: tuple[str, ...] = ("positive", "absolute")


class WindowOptions(BaseModel):
    """width/hop in frames; k windows; the threshold rule; how the sign is handled (None: the
    method's own rule, see method_sign; "positive" where no method is known)."""

    model_config = ConfigDict(extra="forbid")

    width: int = Field(default=10, ge=1)
    hop: int = Field(default=10, ge=1)
    k: int = Field(default=5, ge=1)
    threshold: Literal["mean", "none", "median", "quantile"] = "mean"
    quantile: float = Field(default=0.9, ge=0.0, le=1.0)
    sign: Sign | None = None


def method_sign(method: Any) -> str:
    """The sign rule a method declares (its `sign` attribute): "positive" or "absolute";
    "positive" when it declares none. A value outside SIGNS is a BsxError naming the method."""
    sign = getattr(method, "sign", "positive")
    if sign not in SIGNS:
        raise BsxError(f"method {type(method).__name__} declares sign {sign!r}; accepted: "
                       f"{', '.join(SIGNS)}")
    return str(sign)


def for_method(opts: WindowOptions, method: Any) -> WindowOptions:
    """The options a method's maps are windowed with: the user's sign if given, else the
    method's own (method_sign)."""
    if opts.sign is not None:
        return opts
    return opts.model_copy(update={"sign": method_sign(method)})


@dataclass(frozen=True)
class Window:
    """One salient window: frames [start_frame, end_frame), seconds, and its relevance.

    weight: summed thresholded relevance inside the window; share: weight over the total
    thresholded relevance of the map (0 when the map holds none).
    """

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    weight: float
    share: float


def thresholded(maps: np.ndarray, opts: WindowOptions = WindowOptions()) -> np.ndarray:
    """(B, M, T) maps -> (B, M, T) float64 maps after the sign and threshold rules."""
    r = np.asarray(maps, dtype=np.float64)
    if opts.sign == "absolute":  # None (no method known) is "positive"
        r = np.abs(r)
    flat = r.reshape(r.shape[0], -1)
    if opts.threshold == "mean":
        cut = flat.mean(axis=1)
    elif opts.threshold == "median":
        cut = np.median(flat, axis=1)
    elif opts.threshold == "quantile":
        cut = np.quantile(flat, opts.quantile, axis=1)
    else:
        cut = np.full(r.shape[0], -np.inf)
    r = np.where(r < cut[:, None, None], 0.0, r)
    return np.maximum(r, 0.0)  # positive relevance only (|.| already >= 0)


def find_windows_batch(
    maps: np.ndarray, frame_s: float, opts: WindowOptions = WindowOptions()
) -> list[list[Window]]:
    """(B, M, T) maps -> for each map, its top-k salient windows (see the module docstring)."""
    maps = np.asarray(maps)
    if maps.ndim != 3 or maps.shape[-1] == 0:
        raise BsxError(f"find_windows_batch takes (B, n_mels, T) maps, got shape {maps.shape}")
    if not np.all(np.isfinite(maps)):
        raise BsxError("an attribution map holds NaN or infinite values")
    return windows_from_columns(thresholded(maps, opts).sum(axis=1), frame_s, opts)


def windows_from_columns(cols: np.ndarray, frame_s: float, opts: WindowOptions = WindowOptions()
                         ) -> list[list[Window]]:
    """(B, T) per-frame sums of the thresholded maps -> each map's top-k windows: all the
    window rule reads, so a long file's profile is summed chunk by chunk (bsx.streaming)."""
    b, t = cols.shape
    total = cols.sum(axis=1)                                        # (B,)
    width = min(opts.width, t)
    starts = np.arange(0, t - width + 1, opts.hop)
    ends = starts + width
    nxt = starts[-1] + opts.hop
    if opts.hop >= width and nxt < t:  # the grid's shorter last window, as range(0, T, hop)
        starts, ends = np.append(starts, nxt), np.append(ends, t)
    elif opts.hop < width and ends[-1] < t:  # a full window flush with the end
        starts, ends = np.append(starts, t - width), np.append(ends, t)
    csum = np.concatenate([np.zeros((b, 1)), np.cumsum(cols, axis=1)], axis=1)
    scores = csum[:, ends] - csum[:, starts]                        # (B, n_candidates)
    order = np.argsort(-scores, axis=1, kind="stable")
    overlapping = opts.hop < width
    out: list[list[Window]] = []
    for i in range(b):
        chosen: list[int] = []
        for c in order[i]:
            if len(chosen) == opts.k or scores[i, c] <= 0:
                break
            if overlapping and any(
                starts[c] < ends[j] and starts[j] < ends[c] for j in chosen
            ):
                continue
            chosen.append(int(c))
        out.append([
            Window(
                start_frame=int(starts[c]), end_frame=int(ends[c]),
                start_s=float(starts[c] * frame_s), end_s=float(ends[c] * frame_s),
                weight=float(scores[i, c]),
                share=float(scores[i, c] / total[i]) if total[i] > 0 else 0.0,
            )
            for c in chosen
        ])
    return out


def find_windows(
    rel: np.ndarray, frame_s: float, opts: WindowOptions = WindowOptions()
) -> list[Window]:
    """(M, T) map -> its top-k salient windows; seconds on the MODEL timeline (f * frame_s)."""
    rel = np.asarray(rel)
    if rel.ndim != 2:
        raise BsxError(f"find_windows takes an (n_mels, T) map, got shape {rel.shape}")
    return find_windows_batch(rel[None], frame_s, opts)[0]


def to_original(windows: list[Window], prepared: Prepared) -> list[Window]:
    """Windows with seconds on the ORIGINAL file's timeline: padding removed, trim offset added.

    Frames are unchanged. A window lying wholly in padding becomes zero-length (start_s ==
    end_s) at the nearest edge of the real content.
    """
    out = []
    for w in windows:
        start, end = prepared.original_span(w.start_s, w.end_s)
        out.append(replace(w, start_s=start, end_s=end))
    return out


SECONDS_DECIMALS = 3  # times written to files: 1 ms, far below a 10 ms frame


def file_seconds(x: float) -> float:
    """Seconds as written to windows.csv and clips.csv: rounded to 1 ms, so a file holds
    17.1, not the float noise 17.099999999999998 (computations keep the full value)."""
    return round(float(x), SECONDS_DECIMALS)


def padding_share(model: Window, original: Window) -> float:
    """Share of a window's model-timeline span that lies in the front-end's padding (1.0: the
    model attends to silence the front-end added; its original span is then zero-length)."""
    span = model.end_s - model.start_s
    return 0.0 if span <= 0 else max(0.0, 1.0 - (original.end_s - original.start_s) / span)


def window_mask(windows: list[Window], n_frames: int, n_mels: int = 128) -> np.ndarray:
    """(n_mels, n_frames) bool: True in every frame a window covers, all mel bands."""
    mask = np.zeros((n_mels, n_frames), dtype=bool)
    for w in windows:
        mask[:, max(w.start_frame, 0):min(w.end_frame, n_frames)] = True
    return mask

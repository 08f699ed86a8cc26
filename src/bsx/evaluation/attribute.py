"""Predict and attribute: model input units in, clip logits and (F, T) clip maps out.

A clip is one or more model input units (docs/model-contract.md). Units of one shape are
stacked and run together; a clip's logits are the MEAN of its units' logits (the stated
utterance-level rule), and every unit of a clip is explained for the clip's target. Each
method's unit maps are brought to the time-relevance form (waveform relevance summed into
frames) and stitched onto the clip's timeline, so nothing downstream knows the input kind.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bsx.audio import Prepared
from bsx.relevance import stitch, to_grid


@dataclass(frozen=True)
class Units:
    """Every unit of a batch of clips, stacked by shape.

    clip_of: (U,) the clip each unit belongs to; groups: (unit indices, stacked inputs on the
    device) per input shape; (B, 1, n_mels, T) for log-mel models, (B, N) for waveform ones.
    content: (U, 2) int frames [lo, hi) of each unit's real content on its own time axis
    (log-mel frames; samples for waveform units, which the front-end never pads): what a
    ContentAware method and the removal metrics are told (docs/controls.md).
    """

    clip_of: np.ndarray
    groups: list[tuple[np.ndarray, Tensor]]
    n_clips: int
    kind: str
    hop_length: int
    content: np.ndarray | None = None

    def content_of(self, idx: np.ndarray) -> np.ndarray | None:
        """(len(idx), 2) content bounds of the units `idx` (None when unknown)."""
        return None if self.content is None else self.content[idx]

    @property
    def single(self) -> bool:
        """One unit per clip, in clip order (the paper presets): no stitching, no mean."""
        return len(self.clip_of) == self.n_clips and len(self.groups) == 1

    def inputs(self) -> Tensor:
        """All units as one tensor in unit order (one shape only)."""
        if len(self.groups) != 1:
            raise ValueError("units of several shapes do not stack into one tensor")
        return self.groups[0][1]


def stack_units(prepared: list[Prepared], device: torch.device, *,
                channels_last: bool = False, waveforms: list[np.ndarray] | None = None) -> Units:
    """The model inputs of a batch of clips (optionally of edited timelines, for ablation)."""
    kind = prepared[0].frontend.input
    units: list[np.ndarray] = []
    clip_of: list[int] = []
    content: list[tuple[int, int]] = []
    for i, p in enumerate(prepared):
        us = p.units(None if waveforms is None else waveforms[i])
        units += us
        clip_of += [i] * len(us)
        content += [(0, u.shape[-1]) if kind == "waveform" else p.content_frames(s, u.shape[-1])
                    for s, u in zip(p.unit_starts, us, strict=True)]
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for j, u in enumerate(units):
        by_shape.setdefault(u.shape, []).append(j)
    groups = []
    for idx in by_shape.values():
        x = torch.from_numpy(np.stack([units[j] for j in idx]).astype(np.float32))
        if kind != "waveform":
            x = x[:, None]
        x = x.to(device)
        if channels_last and kind != "waveform":
            x = x.contiguous(memory_format=torch.channels_last)
        groups.append((np.asarray(idx), x))
    return Units(clip_of=np.asarray(clip_of), groups=groups, n_clips=len(prepared), kind=kind,
                 hop_length=prepared[0].frontend.hop_length,
                 content=np.asarray(content, dtype=np.int64).reshape(-1, 2))


def clip_logits(net: nn.Module, units: Units, *, batch_size: int | None = None) -> Tensor:
    """(B, C) clip logits: the mean of each clip's unit logits (no gradient)."""
    unit_logits: list[tuple[np.ndarray, Tensor]] = []
    with torch.no_grad():
        for idx, x in units.groups:
            step = batch_size or len(x)
            out = torch.cat([net(x[s:s + step]) for s in range(0, len(x), step)])
            unit_logits.append((idx, out.float()))
    return mean_by_clip(unit_logits, units)


def mean_by_clip(unit_values: list[tuple[np.ndarray, Tensor]], units: Units) -> Tensor:
    """Per-unit rows -> the mean row of each clip."""
    first = unit_values[0][1]
    total = torch.zeros((units.n_clips, *first.shape[1:]), dtype=first.dtype,
                        device=first.device)
    for idx, v in unit_values:
        clip = torch.as_tensor(units.clip_of[idx], device=v.device)
        total.index_add_(0, clip, v)
    count = np.bincount(units.clip_of, minlength=units.n_clips)
    return total / torch.as_tensor(count, dtype=total.dtype, device=total.device)[:, None]


@dataclass(frozen=True)
class Attributions:
    """One method's relevance for a batch: per unit (for metrics that re-run the model on a
    unit) and per clip, stitched on the clip's timeline; both in the (F, T) form."""

    units: list[np.ndarray]
    clips: list[np.ndarray]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def stacked(self) -> np.ndarray | None:
        """(B, F, T) when every clip has the same grid, else None."""
        shapes = {m.shape for m in self.clips}
        return np.stack(self.clips) if len(shapes) == 1 else None


def unit_maps(method: Any, units: Units, target: np.ndarray,
              backoff: Backoff | None = None) -> list[np.ndarray]:
    """The method's relevance for each unit, explaining its clip's target, in (F, T) form.
    A ContentAware method is told each unit's content bounds (Units.content). Rows that run
    out of memory together are retried in smaller parts (`backoff`, fresh when None)."""
    from bsx.methods.base import ContentAware

    backoff = backoff if backoff is not None else Backoff()
    out: list[np.ndarray | None] = [None] * len(units.clip_of)
    for idx, x in units.groups:
        t = torch.as_tensor(target[units.clip_of[idx]], dtype=torch.long, device=x.device)
        content = units.content_of(idx)
        aware = isinstance(method, ContentAware) and content is not None

        def rows(lo: int, hi: int, x: Tensor = x, t: Tensor = t,
                 c: np.ndarray | None = content, aware: bool = aware) -> np.ndarray:
            rel = (method.attribute_content(x[lo:hi], t[lo:hi], c[lo:hi]) if aware  # type: ignore[index]
                   else method.attribute(x[lo:hi], t[lo:hi]))
            return rel.detach().float().cpu().numpy()  # type: ignore[no-any-return]

        maps = backoff.run(rows, len(x))
        for j, r in zip(idx, maps, strict=True):
            out[j] = r
    if units.kind == "waveform":  # per-sample relevance summed into the frames
        return [to_grid(o, units.hop_length) for o in out]  # type: ignore[arg-type]
    return out  # type: ignore[return-value]


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError (CUDA's is the same class), or a RuntimeError saying so (the
    CPU allocator's and MPS's words)."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


@dataclass
class Backoff:
    """One method's out-of-memory back-off: rows that run out of memory together are split in
    halves and retried, down to one unit; afterwards at most `cap` rows are attributed at once
    (the largest part that fitted), so later batches do not run out again. `said` collects a
    line per shrink for the caller to report (a Ray actor hands them back to the driver).
    The maps equal the unsplit ones for every method whose rows are independent (all built-in
    ones: each row explains its own input)."""

    name: str = "attribution"
    cap: int | None = None
    said: list[str] = field(default_factory=list)

    def run(self, rows: Any, n: int) -> np.ndarray:
        """rows(lo, hi) -> the (hi - lo, ...) maps of rows [lo, hi); all n rows, in order."""
        step = n if self.cap is None else min(n, self.cap)
        parts = []
        lo = 0
        while lo < n:
            hi = min(n, lo + step)
            part = self._try(rows, lo, hi)
            if part is None:  # out of memory: halve (outside the except, whose traceback
                step = (hi - lo + 1) // 2  # holds the failed attempt's tensors)
                self.cap = step
                self.said.append(f"{self.name}: out of memory on {hi - lo} units at once; "
                                 f"attributing at most {step} at a time from now on")
                continue
            parts.append(part)
            lo = hi
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _try(self, rows: Any, lo: int, hi: int) -> np.ndarray | None:
        """rows(lo, hi), or None when it ran out of memory on more than one unit (the CUDA
        cache emptied); on one unit a BsxError: no smaller part is left to try."""
        from bsx.errors import BsxError

        try:
            return rows(lo, hi)  # type: ignore[no-any-return]
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if hi - lo == 1:
                raise BsxError(f"{self.name}: out of memory on a single unit "
                               f"({type(exc).__name__}); use a device with more memory or "
                               "--device cpu") from None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return None

    def drain(self) -> list[str]:
        """The lines said since the last drain."""
        out, self.said = self.said, []
        return out


def to_clip_maps(maps: list[np.ndarray], units: Units,
                 prepared: list[Prepared]) -> list[np.ndarray]:
    """Unit maps stitched onto each clip's timeline (docs/model-contract.md).

    A model family's fixed window (AST, Whisper: bsx.features) pads short content far past the
    file; those frames are not the file, so their relevance is dropped (windows stay inside)."""
    out = []
    for i, p in enumerate(prepared):
        mine = [maps[j] for j in np.flatnonzero(units.clip_of == i)]
        m = stitch(mine, p.unit_starts, p.frontend.hop_length, p.n_frames)
        if p.frontend.features != "librosa":
            m = content_only(m, p)
        out.append(m)
    return out


def content_only(m: np.ndarray, p: Prepared) -> np.ndarray:
    """The (F, T) map with frames outside the real content set to 0: frame f holds the samples
    nearest its centre (relevance.to_grid), so it is kept when one of those is content."""
    hop, sr = p.frontend.hop_length, p.frontend.sample_rate
    a = round(p.pad_offset_s * sr)
    b = a + round(p.content_s * sr)
    first, last = (a + hop // 2) // hop, (b - 1 + hop // 2) // hop
    out = np.zeros_like(m)
    out[:, first:last + 1] = m[:, first:last + 1]
    return out


def attribute(method: Any, units: Units, target: np.ndarray,
              prepared: list[Prepared], backoff: Backoff | None = None) -> Attributions:
    """Run one method on a batch: unit maps and stitched clip maps, with the seconds spent.
    An out-of-memory split is said as a warning (one line under the CLI)."""
    t0 = time.perf_counter()
    backoff = backoff if backoff is not None else Backoff()
    per_unit = unit_maps(method, units, target, backoff)
    for line in backoff.drain():
        warnings.warn(line, stacklevel=2)
    return Attributions(units=per_unit, clips=to_clip_maps(per_unit, units, prepared),
                        seconds=(time.perf_counter() - t0) / units.n_clips)

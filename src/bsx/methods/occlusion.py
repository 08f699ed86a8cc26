"""Occlusion (Zeiler & Fergus 2014): the output drop when a patch is replaced by a baseline.

Two shapes: the paper's 2-D patch (1 mel band x 10 frames, stride 1 x 3, baseline 0 dB:
about 5,400 forward passes per 128 x 134 clip), and a time band covering all mel bands of a
10-frame span, which is what the salient-window analysis asks ("does the model need these
150 ms?") at 14 forward passes per clip. Both are batched: every perturbed copy of every clip
goes through the model in chunks of `max_batch`, never one clip at a time.

Like Captum's Occlusion, a cell's attribution is the mean output drop over the patches that
cover it, f(x)[target] - f(x with patch = baseline)[target]; cells no patch covers get 0.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bsx.methods.base import baseline_of, check_batch, preserved
from bsx.methods.options import OcclusionOptions, TimeOcclusionOptions
from bsx.methods.waveform import (
    SAMPLE_BUDGET,
    check_waveform_batch,
    input_kind,
    require_kind,
)


def _starts(length: int, patch: int, stride: int, cover_end: bool) -> list[int]:
    """Patch start indices along one axis; with cover_end a last patch flush with the end."""
    patch = min(patch, length)
    starts = list(range(0, length - patch + 1, stride))
    if cover_end and starts[-1] + patch < length:
        starts.append(length - patch)
    return starts


def _spans(length: int, patch: int, stride: int, cover_end: bool, device: torch.device) -> Tensor:
    """(P, length) float 0/1: row p marks the cells patch p covers."""
    starts = torch.tensor(_starts(length, patch, stride, cover_end), device=device)
    idx = torch.arange(length, device=device)
    inside = (idx[None, :] >= starts[:, None]) & (idx[None, :] < starts[:, None] + patch)
    return inside.float()


@torch.no_grad()
def occlude(
    model: nn.Module, batch: Tensor, target: Tensor, *, patch: tuple[int, int],
    stride: tuple[int, int], baseline: float | str, cover_end: bool, max_batch: int,
) -> Tensor:
    """(B, 1, M, T) in, (B, M, T) mean output drop per cell out. See the module docstring."""
    x = batch.detach()
    target = target.to(x.device)
    b, _, m, t = x.shape
    base = baseline_of(x, baseline)
    mel = _spans(m, patch[0], stride[0], cover_end, x.device)      # (Pm, M)
    tim = _spans(t, patch[1], stride[1], cover_end, x.device)      # (Pt, T)
    pm, pt = mel.shape[0], tim.shape[0]
    rows = torch.arange(b, device=x.device)
    full = model(x)[rows, target]                                   # (B,)
    total = torch.zeros(b, m, t, device=x.device, dtype=torch.float32)
    chunk = max(1, max_batch // b)
    n = pm * pt
    for lo in range(0, n, chunk):
        pos = torch.arange(lo, min(lo + chunk, n), device=x.device)
        mm, tt = mel[pos // pt], tim[pos % pt]                      # (c, M), (c, T)
        mask = (mm[:, :, None] * tt[:, None, :]).bool()             # (c, M, T)
        pert = torch.where(mask[:, None, None], base[None], x[None])  # (c, B, 1, M, T)
        out = model(pert.reshape(-1, 1, m, t)).reshape(len(pos), b, -1)
        drop = (full[None, :] - out[:, rows, target]).float()       # (c, B)
        total += torch.einsum("cb,cm,ct->bmt", drop, mm, tt)
    count = torch.einsum("pm,qt->mt", mel, tim)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


class Occlusion:
    """The paper's 2-D occlusion: (1 x 10) patch, stride (1 x 3), baseline 0 dB by default.

    Baseline 0 dB is the paper's choice; on a ref=max log-mel it is the loudest value, so it
    inserts energy rather than removing it (set baseline="floor" for silence).

    sign: with a dB-number baseline the patch inserts energy, so the output may rise or fall
    for reasons unrelated to evidence and only the magnitude ranks regions ("absolute");
    with the "floor" baseline the drop is evidence for the class ("positive").
    """

    def __init__(self, model: nn.Module, options: OcclusionOptions | None = None) -> None:
        require_kind(model, "logmel", "occlusion")
        self.model = model
        self.options = options or OcclusionOptions()

    @property
    def sign(self) -> str:
        return "positive" if self.options.baseline == "floor" else "absolute"

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device."""
        check_batch(batch, target)
        o = self.options
        with preserved(self.model):
            return occlude(
                self.model, batch, target.long(), patch=(o.patch_mels, o.patch_frames),
                stride=(o.stride_mels, o.stride_frames), baseline=o.baseline,
                cover_end=o.cover_end, max_batch=o.max_batch,
            )


class TimeOcclusion:
    """Time-band occlusion: all mel bands of a 10-frame span at once, stride 10, baseline the
    clip's dB floor (silence). Every frame belongs to one or two bands (cover_end), so the map
    is constant over mel bands and measures how much the target logit needs each span.
    sign: "positive" with the silence floor (a drop is evidence), "absolute" with a dB number
    (see Occlusion).

    Waveform models: bands of band_s (100 ms) every band_stride_s (50 ms) of samples set to
    the baseline ("floor" = digital silence); each sample gets the mean drop of the bands
    covering it, so a band's effect is spread over its samples. (B, N) in and out."""

    def __init__(self, model: nn.Module, options: TimeOcclusionOptions | None = None) -> None:
        self.model = model
        self.options = options or TimeOcclusionOptions()

    @property
    def sign(self) -> str:
        return "positive" if self.options.baseline == "floor" else "absolute"

    def attribute(self, batch: Tensor, target: Tensor) -> Tensor:
        """(B, 1, 128, T) log-mel in, (B, 128, T) relevance out, on batch.device; a waveform
        model's (B, N) in, (B, N) out."""
        if input_kind(self.model) == "waveform":
            return self._waveform(batch, target)
        check_batch(batch, target)
        o = self.options
        with preserved(self.model):
            return occlude(
                self.model, batch, target.long(), patch=(batch.shape[2], o.width),
                stride=(batch.shape[2], o.stride), baseline=o.baseline,
                cover_end=o.cover_end, max_batch=o.max_batch,
            )

    def _waveform(self, batch: Tensor, target: Tensor) -> Tensor:
        check_waveform_batch(batch, target)
        o = self.options
        sr = int(getattr(self.model, "sample_rate", 16000))
        width = max(1, round(o.band_s * sr))
        stride = max(1, round(o.band_stride_s * sr))
        baseline = 0.0 if o.baseline == "floor" else float(o.baseline)
        rows = min(o.max_batch, max(len(batch), SAMPLE_BUDGET // max(batch.shape[1], 1)))
        with preserved(self.model):
            out = occlude(
                _AsGrid(self.model), batch[:, None, None, :], target.long(), patch=(1, width),
                stride=(1, stride), baseline=baseline, cover_end=o.cover_end,
                max_batch=rows,
            )
        return out[:, 0]


class _AsGrid(nn.Module):
    """A (B, N) waveform model seen as one taking (B, 1, 1, N), so `occlude` drives it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.reshape(x.shape[0], -1))

"""Region perturbation (Samek et al. 2017), MoRF, batched over clips and removal steps.

Quantus' RegionPerturbation (0.6) runs one model forward per removal step for the whole
batch: ceil(T / 10) forwards of B rows, plus per-step copies and checks, whatever the step
changes. This module computes the same curve with the model run once per distinct perturbed
input, in forwards of up to FORWARD_ROWS rows drawn from every clip and step of the batch:

- the window order is Quantus' own: the frame-relevance row padded as Quantus pads it (the
  gate's height 1 to the patch size, T symmetrically to a multiple of it), each window's
  relevance summed over the same padded block by the same numpy call (float32 sums in
  another order differ in the last bit, and two windows of equal relevance then swap), and
  np.argsort(-sums) (ties broken as Quantus breaks them);
- step k removes the first k + 1 windows of that order (gate value 0, the audio baseline of
  bsx.scoring.perturb.FrameGate), padding frames never (FrameGate's content rule);
- a step that removes no new content frame (a window wholly in padding, or every content
  frame already gone) has the previous step's input, so its probability is reused instead
  of recomputed: a padded clip needs only as many forwards as it has content windows;
- probabilities go through Quantus' own PyTorchModel wrapper (its softmax rule), and the
  curve is y_pred - y_pred_perturbed in float32, as Quantus stores it.

The per-clip values equal Quantus' (tests/scoring/test_removal.py compares the two on
planted and random maps): the only difference is which rows share a forward, and a CPU
convolution's row does not depend on its neighbours (checked on the paper's checkpoint for
2 to 64 rows; a forward of a single row can differ by ~1e-7 in probability, so no chunk
here holds one row unless the whole batch is one row).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from bsx.scoring.perturb import FrameGate

FORWARD_ROWS = 64  # rows per model forward (perturbed inputs of any clips and steps)


def _padding_size(dim: int, patch: int) -> tuple[int, int]:
    """quantus.helpers.utils.get_padding_size: symmetric padding to a multiple of patch."""
    total = (patch - dim % patch) % patch
    return total // 2, total - total // 2


def morf_order(a_frames: np.ndarray, patch: int) -> tuple[np.ndarray, int]:
    """(B, T) relevance per frame -> ((B, n_windows) window indices, most relevant first;
    the left padding in frames), exactly as Quantus orders a (B, 1, 1, T) map's patches."""
    a = np.asarray(a_frames)
    b, t = a.shape
    pad_h, pad_w = _padding_size(1, patch), _padding_size(t, patch)
    a_pad = np.pad(a[:, None, None, :], ((0, 0), (0, 0), pad_h, pad_w), mode="constant")
    height, width = a_pad.shape[2:]
    r, c = np.meshgrid(np.arange(patch), np.arange(patch), indexing="ij")
    block = (r * width + c).reshape(-1)  # block (0, 0), row-major as Quantus reads it
    n_h, n_w = height // patch, width // patch
    starts = (np.arange(n_h)[:, None] * patch * width + np.arange(n_w)[None, :] * patch)
    if n_h != 1:
        raise ValueError(f"a frame gate has height 1, got {height} padded rows")
    flat = a_pad.reshape(b, -1)
    # one (B, patch * patch) sum per block, as Quantus sums them: numpy's float32 sum of a
    # (B, n_blocks, 100) array in one call adds in another order (ties then break apart)
    clip = np.arange(b)[:, None]
    sums = np.stack([flat[clip, np.broadcast_to(start + block, (b, block.size))].sum(axis=-1)
                     for start in starts.reshape(-1)], -1)
    return np.argsort(-sums, -1), pad_w[0]


def removal_states(order: np.ndarray, pad_left: int, n_frames: int, patch: int,
                   steps: int, padding: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The removed content frames after each step, and which steps change the input.

    Returns (removed (B, steps, T) bool, new (B, steps) bool: step k removes a content
    frame that step k - 1 had not)."""
    b = len(order)
    keep = np.ones((b, n_frames), dtype=bool) if padding is None else ~np.asarray(padding)
    removed = np.zeros((b, steps, n_frames), dtype=bool)
    done = np.zeros((b, n_frames), dtype=bool)
    for k in range(steps):
        lo = order[:, k] * patch - pad_left
        for i in range(b):
            a, z = max(0, int(lo[i])), min(n_frames, int(lo[i]) + patch)
            if z > a:
                done[i, a:z] = True
        removed[:, k] = done & keep
    count = removed.sum(axis=-1)
    new = np.diff(count, axis=1, prepend=0) > 0
    return removed, new


def _chunks(n: int, cap: int) -> list[slice]:
    """n rows in near-equal chunks of at most `cap` (never a chunk of one row when n > 1)."""
    k = max(1, math.ceil(n / cap))
    if n > 1 and n - (k - 1) * math.ceil(n / k) == 1:
        k += 1
    bounds = np.linspace(0, n, k + 1).round().astype(int)
    return [slice(int(a), int(z)) for a, z in zip(bounds[:-1], bounds[1:], strict=True) if z > a]


def gate_probs(gate: FrameGate, clips: np.ndarray, gates: np.ndarray, y: np.ndarray,
               device: torch.device) -> np.ndarray:
    """Target probability (float32, Quantus' softmax wrapper) of each row: clip clips[r]
    with per-frame gate gates[r] (T,), in forwards of up to FORWARD_ROWS rows."""
    from quantus.helpers.model.pytorch_model import PyTorchModel

    out = np.empty(len(clips), dtype=np.float32)
    for part in _chunks(len(clips), FORWARD_ROWS):
        view = gate.rows(torch.as_tensor(clips[part], device=gate.x.device))
        wrapped = PyTorchModel(view, channel_first=True, softmax=True, device=str(device))
        g = gates[part][:, None, None, :].astype(np.float32)
        pred = wrapped.predict(g)
        out[part] = pred[np.arange(len(g)), y[clips[part]]]
    return out


def region_perturbation_curves(gate: FrameGate, a_frames: np.ndarray, y: np.ndarray,
                               patch: int, steps: int,
                               device: torch.device) -> np.ndarray:
    """(B, steps) float32 MoRF curves y_pred - y_pred_perturbed, equal to Quantus'
    RegionPerturbation(patch_size=patch, order="morf", regions_evaluation=steps,
    perturb_baseline=0) on the frame gate (module docstring); Quantus' attribution check
    runs first and raises its AssertionError on a batch it refuses."""
    from quantus.helpers import asserts

    a = np.asarray(a_frames, dtype=np.float32)
    b, t = a.shape
    y = np.asarray(y).astype(int).reshape(-1)
    asserts.assert_attributions(x_batch=np.ones((b, 1, 1, t), dtype=np.float32),
                                a_batch=a[:, None, None, :])
    order, pad_left = morf_order(a, patch)
    steps = min(steps, order.shape[1])
    padding = gate.padding.cpu().numpy() if gate.padding.shape[-1] else None
    removed, new = removal_states(order, pad_left, t, patch, steps, padding)
    ci, ki = np.nonzero(new)
    clips = np.concatenate([np.arange(b), ci])
    gates = np.concatenate([np.ones((b, t), dtype=np.float32),
                            (~removed[ci, ki]).astype(np.float32)])
    p = gate_probs(gate, clips, gates, y, device)
    row_of = np.full((b, steps), -1)  # the row of p that step k's new input is
    row_of[ci, ki] = b + np.arange(len(ci))
    curves = np.empty((b, steps), dtype=np.float32)
    for i in range(b):
        row = i  # the unperturbed input, until a step removes a content frame
        for k in range(steps):
            row = row_of[i, k] if row_of[i, k] >= 0 else row
            curves[i, k] = p[i] - p[row]
    return curves

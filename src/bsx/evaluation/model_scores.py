"""Scores that re-run the model: Quantus faithfulness, randomisation, robustness and
complexity, and bsx's cue ablation. They work per model input unit on the model's own input
(docs/model-contract.md); a clip's score is the mean over its units (one unit per clip in the
paper presets, so nothing changes there)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bsx.evaluation.attribute import Attributions, Units
from bsx.evaluation.records import Records

QUANTUS_CATEGORIES = ("faithfulness", "randomisation", "robustness", "complexity")


def per_clip(values: np.ndarray, clip_of: np.ndarray, n_clips: int) -> np.ndarray:
    """Per-unit values -> each clip's mean over its units (NaN-aware)."""
    out = np.full(n_clips, np.nan)
    for i in range(n_clips):
        v = values[clip_of == i]
        if np.isfinite(v).any():
            out[i] = float(np.nanmean(v))
    return out


def score_quantus(rec: Records, method: str, net: Any, units: Units, attr: Attributions,
                  target: np.ndarray, names: list[str], *, device: Any, seed: int,
                  explain_fn: Callable[..., np.ndarray]) -> None:
    """Each Quantus metric on the batch's units, reduced to clips."""
    from bsx.scoring.faithfulness import WAVEFORM_METRICS, quantus_scores

    n = units.n_clips
    waveform = units.kind == "waveform"
    for metric in names:
        t0 = time.perf_counter()
        vals = np.full(len(units.clip_of), np.nan)
        if waveform and metric not in WAVEFORM_METRICS:
            warnings.warn(f"{metric} runs on log-mel models only so far (waveform models: "
                          f"{', '.join(WAVEFORM_METRICS)}); NaN for this model", stacklevel=2)
        else:
            for idx, x in units.groups:
                maps = np.stack([attr.units[j] for j in idx])
                vals[idx] = quantus_scores(
                    net, x.detach().cpu().numpy(), target[units.clip_of[idx]], maps, [metric],
                    device=device, seed=seed, explain_fn=explain_fn,
                    hop_length=units.hop_length if waveform else None)[metric]
        dt = (time.perf_counter() - t0) / n
        rec.emit_all(method, "", metric, per_clip(vals, units.clip_of, n), dt)


def score_ablation(rec: Records, method: str, net: Any, prepared: list[Any],
                   wins: list[list[Any]], target: np.ndarray, names: list[str], *, cue: str,
                   seed: int, device: Any, batch_size: int,
                   keys: list[str] | None = None) -> None:
    """Target-probability drop when `cue` is neutralised in the salient vs random windows
    (each clip's random draws seeded by its key, the clip id: independent of the batch)."""
    from bsx.scoring.ablation import cue_ablation

    t0 = time.perf_counter()
    res = cue_ablation(net, prepared, [[(w.start_s, w.end_s) for w in ws] for ws in wins],
                       target, cue=cue, seed=seed, device=device, batch_size=batch_size,
                       keys=keys)
    dt = (time.perf_counter() - t0) / len(prepared)
    if "ablation-drop" in names:
        rec.emit_all(method, "", "ablation-drop", res.drop_salient, dt, cue)
    if "ablation-gain" in names:
        rec.emit_all(method, "", "ablation-gain", res.gain_per_db, dt, cue)


def explain_fn(method: str, options: dict[str, Any] | None) -> Callable[..., np.ndarray]:
    """A Quantus explain_func that rebuilds the bsx method on the model it is given."""

    def explain(model: Any, inputs: Any, targets: Any, **_: Any) -> np.ndarray:
        import torch

        from bsx.plugins import build

        dev = next(model.parameters()).device
        xb = torch.as_tensor(np.asarray(inputs), dtype=torch.float32, device=dev)
        tb = torch.as_tensor(np.asarray(targets), dtype=torch.long, device=dev)
        m = build("method", method, model, options=options)
        return m.attribute(xb, tb).detach().cpu().numpy()[:, None]

    return explain

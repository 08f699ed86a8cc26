"""Quantus faithfulness, randomisation, robustness and complexity scores, per clip.

Each metric is one Quantus call for the whole batch (Hedstrom et al. 2023), except
region-perturbation, whose curve bsx.scoring.removal computes batched over clips and steps
with the model run once per distinct perturbed input: the same values as Quantus'
RegionPerturbation (tests/scoring/test_removal.py), at a fraction of its forwards. What
differs from Quantus' image defaults, and why:

- Removal happens in whole time frames across all mel bands (a time window of audio), with
  a per-clip audio baseline (the dB floor, or noise at a set SNR: bsx.scoring.perturb),
  never U(0, 1) or "black" = 0 dB (the loudest bin of a ref=max log-mel). This is done by
  handing Quantus a FrameGate: a per-frame gate (B, 1, 1, T) as its "image" and the map
  summed over mel bands as its attribution, so Quantus' pixels are frames and its patches
  are windows of frames.
- Noise for robustness is in dB (+-1 dB uniform, 1 dB Gaussian), not 0.2 on a [0, 1] image.
- max-sensitivity and local-lipschitz-estimate compare each map with the maps of noisy
  copies, so unnormalised they scale with the method's map scale (LRP sums to the logit,
  Grad-CAM is ReLU'd activations, occlusion is a logit drop) and the leaderboard would rank
  units, not robustness. Each map (the given one and every re-explained one) is divided by
  its own L2 norm (unit_norm) first: the score becomes the relative change of the
  explanation's shape per unit input change, in [0, 2] / ||dx|| and invariant to any
  positive scale. L2, not Quantus' normalise_by_max: the numerator is an L2 distance, and
  one outlier bin should not set the scale; and Quantus' default normalises over the whole
  batch (its max is taken over every axis), so a clip's score would depend on its
  neighbours. random-logit keeps max normalisation as Quantus intends, per clip for the
  same reason (per_clip_max).
- Sequence metrics are reduced to one number per clip: region-perturbation to its AOPC (mean
  drop over the steps, Samek et al. 2017), ROAD to the share of removal levels at which the
  target class survives.
- region-perturbation windows are 10 frames; Quantus pads T symmetrically to a multiple of
  10 (T=134: 3 frames each side), so the first window covers frames 0-6.
- random-logit, efficient-mprt and the robustness metrics compare the given maps with maps
  that explain_fn makes: pass maps made by the same method explain_fn wraps.
- Given each clip's content frames (`content`), removal touches content only: region
  perturbation and faithfulness-correlation never replace a padding frame (removing one is a
  no-op), and ROAD's imputation is undone there (bsx.scoring.perturb.ContentGuard). ROAD's
  percentages stay shares of the whole grid, as Quantus counts them.

Directions live in bsx.scoring.specs; this module only returns numbers.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from bsx.audio import Frontend
from bsx.methods.base import content_mask
from bsx.scoring.perturb import (
    Baseline,
    content_guard,
    frame_gate,
    make_baseline,
    waveform_baseline,
)
from bsx.scoring.removal import region_perturbation_curves
from bsx.scoring.specs import METRICS, computed_by, get_metric

# Derived from the metric specs (bsx.scoring.specs), never kept by hand: the Quantus
# metrics, those that run on waveform models (removal through the frame gate, or the map
# alone) and those that re-explain perturbed inputs or models.
QUANTUS_METRICS: tuple[str, ...] = computed_by("quantus")
WAVEFORM_METRICS: tuple[str, ...] = tuple(
    n for n in QUANTUS_METRICS if METRICS[n].runs_on("waveform"))
NEEDS_EXPLAIN_FN: tuple[str, ...] = tuple(
    n for n in QUANTUS_METRICS if "explain-fn" in METRICS[n].consumes)

# the scores whose removed frames become the run's baseline (EvalConfig.baseline)
BASELINE_METRICS: tuple[str, ...] = ("faithfulness-correlation", "region-perturbation")
WINDOW_FRAMES = 10          # region-perturbation: 10 frames = 150 ms at the paper's hop
SUBSET_SHARE = 0.2          # faithfulness-correlation: share of frames removed per run
FC_RUNS = 50                # faithfulness-correlation: random subsets per clip
ROAD_PERCENTAGES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
ROBUST_SAMPLES = 8          # max-sensitivity / local-lipschitz: noisy copies per clip
NOISE_DB = 1.0              # robustness noise and ROAD imputation noise, in dB


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Quantus draws from numpy's global RNG: seed it, then put the caller's state back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _explain_wrapper(explain_fn: Callable[..., Any], n_mels: int,
                     n_frames: int) -> Callable[..., np.ndarray]:
    """Quantus calls explain_func(model=, inputs=, targets=, **kw); bsx maps are (B, 128, T)."""

    def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray,
                **kw: Any) -> np.ndarray:
        a = explain_fn(model, inputs, targets, **kw)
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        return np.asarray(a, dtype=np.float32).reshape(len(inputs), 1, n_mels, n_frames)

    return explain


def unit_norm(a: np.ndarray, **_: Any) -> np.ndarray:
    """Each map (axis 0 = clips) divided by its own L2 norm; an all-zero map stays zero."""
    a = np.asarray(a)
    norm = np.sqrt((a.reshape(len(a), -1).astype(np.float64) ** 2).sum(axis=1))
    norm = np.where(norm > 0, norm, 1.0).reshape((len(a),) + (1,) * (a.ndim - 1))
    return (a / norm).astype(a.dtype)


def per_clip_max(a: np.ndarray, **_: Any) -> np.ndarray:
    """Each map divided by its own max |value| (Quantus' normalise_by_max, per clip)."""
    a = np.asarray(a)
    peak = np.abs(a.reshape(len(a), -1)).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0).reshape((len(a),) + (1,) * (a.ndim - 1))
    return (a / peak).astype(a.dtype)


def _n_classes(model: nn.Module, x: np.ndarray, device: torch.device) -> int:
    with torch.no_grad():
        return int(model(torch.as_tensor(x[:1], device=device)).shape[-1])


@dataclass(frozen=True)
class Removal:
    """What the removal metrics replace frames with, and on which grid and frames.

    baseline: "silence" (the clip's dB floor) or "noise" (white noise `snr_db` below the
    clip, through `fe`'s mel filterbank). hop_length: for a waveform model, x is (B, N)
    waveforms, maps are (B, 1, T) on the time-relevance grid of this hop, and removal sets a
    frame's samples to silence (0) or noise (bsx.scoring.perturb.waveform_baseline); only
    WAVEFORM_METRICS run there. content: (B, 2) int frames [lo, hi) of each clip's real
    content on the map's time axis; removal then perturbs content only (module docstring);
    None: the whole grid is content."""

    baseline: Baseline = "silence"
    snr_db: float = 20.0
    fe: Frontend | None = None
    hop_length: int | None = None
    content: np.ndarray | None = None


@dataclass
class _Batch:
    """One quantus_scores call's inputs, as every metric's runner reads them."""

    quantus: Any
    model: nn.Module
    x: np.ndarray
    y: np.ndarray
    a4: np.ndarray
    waveform: bool
    device: torch.device
    seed: int
    keep: np.ndarray | None
    explain: Callable[..., np.ndarray] | None
    plugin: dict[str, Any]
    a_frames: np.ndarray  # (B, T) relevance per frame: the frame gate's attribution
    gate: Any = None
    common: dict[str, Any] = field(default_factory=lambda: dict(
        disable_warnings=True, display_progressbar=False, return_aggregate=False))

    @property
    def call(self) -> dict[str, Any]:
        return dict(channel_first=True, device=str(self.device), batch_size=len(self.x))

    @property
    def g(self) -> np.ndarray:
        """The frame gate's "image": every frame kept."""
        return np.ones((len(self.x), 1, 1, self.a4.shape[-1]), dtype=np.float32)

    @property
    def n_frames(self) -> int:
        return int(self.a4.shape[-1])


def quantus_scores(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    maps: np.ndarray,
    metrics: Sequence[str],
    *,
    removal: Removal | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    explain_fn: Callable[..., Any] | None = None,
    seconds: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Quantus scores per clip.

    Args:
        model: eval-mode classifier, (B, 1, 128, T) log-mel -> (B, C) logits, on `device`.
        x: (B, 1, 128, T) log-mels the maps explain (waveform models: Removal.hop_length);
            y: (B,) target classes.
        maps: (B, 128, T) relevance.
        metrics: names among QUANTUS_METRICS.
        removal: baseline, grid and content of the removal metrics (Removal; default
            silence on the whole grid).
        explain_fn: (model, inputs, targets, **kw) -> (B, 128, T) maps; required by
            random-logit, efficient-mprt, max-sensitivity, local-lipschitz-estimate.
        seconds: filled with the seconds each metric took, when given (one call serves the
            whole batch, timings.csv still reports each metric).

    Returns:
        {name: (B,) float64}; NaN where Quantus gives none (a constant map, say).
    """
    import quantus

    from bsx.scoring.quantus_asserts import install

    install()
    rm = removal or Removal()
    bt = _batch(quantus, model, x, y, maps, metrics, rm, torch.device(device), seed,
                explain_fn)
    if set(BASELINE_METRICS) & set(metrics):
        base = (waveform_baseline(bt.x, rm.baseline, snr_db=rm.snr_db, seed=seed)
                if bt.waveform else
                make_baseline(bt.x, rm.baseline, snr_db=rm.snr_db, fe=rm.fe, seed=seed))
        bt.gate = frame_gate(model, bt.x, base, bt.device,
                             rm.hop_length if bt.waveform else None, content=bt.keep)
    out: dict[str, np.ndarray] = {}
    refused: list[str] = []
    for name in metrics:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings(), _seeded(seed):
                warnings.simplefilter("ignore")
                s = _run_metric(bt, name, refused)
        except AssertionError as exc:  # Quantus checks its data with asserts
            refused.append(f"{name}: {exc}")
            s = np.full(len(bt.x), np.nan)
        out[name] = np.asarray(s, dtype=np.float64).reshape(len(bt.x))
        if seconds is not None:
            seconds[name] = time.perf_counter() - t0
    for why in refused:
        warnings.warn(f"Quantus refused the batch, scores set to NaN: {why}", stacklevel=2)
    return out


def _batch(quantus: Any, model: nn.Module, x: np.ndarray, y: np.ndarray, maps: np.ndarray,
           metrics: Sequence[str], rm: Removal, device: torch.device, seed: int,
           explain_fn: Callable[..., Any] | None) -> _Batch:
    """Check the call (shapes, names, explain_fn) and gather what the runners read."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(int).reshape(-1)
    maps = np.asarray(maps, dtype=np.float32)
    waveform = x.ndim == 2
    if waveform:
        b, n_mels, t = x.shape[0], 1, maps.shape[-1]
        if rm.hop_length is None or t != 1 + x.shape[1] // rm.hop_length:
            raise ValueError(f"waveforms {x.shape} and maps {maps.shape} need the grid's "
                             f"hop_length (got {rm.hop_length})")
    else:
        b, _, n_mels, t = x.shape
    if maps.shape != (b, n_mels, t) or len(y) != b:
        raise ValueError(f"x {x.shape}, y {y.shape} and maps {maps.shape} do not match")
    plugin: dict[str, Any] = {}
    for name in metrics:
        spec = get_metric(name)
        if name not in QUANTUS_METRICS:
            if spec.compute != "quantus":
                raise ValueError(f"{name} is not a Quantus metric here: {QUANTUS_METRICS}")
            plugin[name] = spec.factory(options=spec.make_options())  # a quantus.Metric
        if name in NEEDS_EXPLAIN_FN and explain_fn is None:
            raise ValueError(f"{name} needs explain_fn to re-explain perturbed inputs or models")
    if waveform and set(metrics) - set(WAVEFORM_METRICS) - set(plugin):
        raise ValueError(f"waveform models support {', '.join(WAVEFORM_METRICS)} only")
    keep = None if rm.content is None else content_mask(rm.content, b, t)
    explain = _explain_wrapper(explain_fn, n_mels, t) if explain_fn is not None else None
    return _Batch(quantus=quantus, model=model, x=x, y=y, a4=maps[:, None], waveform=waveform,
                  device=device, seed=seed, keep=keep, explain=explain, plugin=plugin,
                  a_frames=maps.sum(axis=1).reshape(b, t))


def _run_metric(bt: _Batch, name: str, refused: list[str]) -> Any:
    """One metric on the batch: its runner, a plugin's Quantus metric, or NaN (refused)."""
    runner = _RUNNERS.get(name)
    if runner is not None:
        return runner(bt)
    if bt.waveform:  # a plugin's Quantus metric sees (B, 1, 128, T) log-mels only
        refused.append(f"{name}: plugin Quantus metrics run on log-mel models")
        return np.full(len(bt.x), np.nan)
    # a plugin's Quantus metric, on the model's own inputs and maps
    return bt.plugin[name](model=bt.model, x_batch=bt.x, y_batch=bt.y, a_batch=bt.a4,
                           softmax=True, explain_func=bt.explain, **bt.call)


def _faithfulness_correlation(bt: _Batch) -> Any:
    t = bt.n_frames
    subset = max(1, min(t - 1, round(SUBSET_SHARE * t)))
    m = bt.quantus.FaithfulnessCorrelation(nr_runs=FC_RUNS, subset_size=subset, abs=False,
                                           normalise=False, perturb_baseline=0.0, **bt.common)
    return m(model=bt.gate, x_batch=bt.g, y_batch=bt.y, a_batch=bt.a_frames[:, None, None],
             softmax=True, **bt.call)


def _region_perturbation(bt: _Batch) -> np.ndarray:
    """AOPC of the MoRF curve: Quantus' RegionPerturbation (patch WINDOW_FRAMES, gate value
    0 = the audio baseline, every window), batched over clips and steps by bsx.scoring.
    removal (the same values, tests/scoring/test_removal.py)."""
    steps = math.ceil(bt.n_frames / WINDOW_FRAMES)
    curves = region_perturbation_curves(bt.gate, bt.a_frames, bt.y, WINDOW_FRAMES, steps,
                                        bt.device)
    return np.asarray(curves, dtype=np.float64).reshape(len(bt.x), -1).mean(axis=1)


def _road_metric(bt: _Batch) -> np.ndarray:
    guarded = (bt.model if bt.keep is None or bt.waveform
               else content_guard(bt.model, bt.x, bt.keep, bt.device))
    return _road(bt.quantus, guarded, bt.x, bt.y, bt.a4, bt.common, bt.call)


def _random_logit(bt: _Batch) -> Any:
    m = bt.quantus.RandomLogit(num_classes=_n_classes(bt.model, bt.x, bt.device), seed=bt.seed,
                               abs=False, normalise=True, normalise_func=per_clip_max,
                               **bt.common)
    return m(model=bt.model, x_batch=bt.x, y_batch=bt.y, a_batch=bt.a4,
             explain_func=bt.explain, softmax=False, **bt.call)


def _efficient_mprt(bt: _Batch) -> Any:
    m = bt.quantus.EfficientMPRT(seed=bt.seed, skip_layers=True, abs=True, normalise=False,
                                 **bt.common)
    return m(model=bt.model, x_batch=bt.x, y_batch=bt.y, a_batch=bt.a4,
             explain_func=bt.explain, softmax=True, **bt.call)


def _max_sensitivity(bt: _Batch) -> Any:
    m = bt.quantus.MaxSensitivity(nr_samples=ROBUST_SAMPLES, lower_bound=NOISE_DB,
                                  normalise=True, normalise_func=unit_norm, abs=False,
                                  **bt.common)
    return m(model=bt.model, x_batch=bt.x, y_batch=bt.y, a_batch=bt.a4,
             explain_func=bt.explain, softmax=False, **bt.call)


def _local_lipschitz(bt: _Batch) -> Any:
    m = bt.quantus.LocalLipschitzEstimate(nr_samples=ROBUST_SAMPLES, perturb_std=NOISE_DB,
                                          perturb_mean=0.0, normalise=True,
                                          normalise_func=unit_norm, abs=False, **bt.common)
    return m(model=bt.model, x_batch=bt.x, y_batch=bt.y, a_batch=bt.a4,
             explain_func=bt.explain, softmax=False, **bt.call)


def _sparseness(bt: _Batch) -> Any:
    m = bt.quantus.Sparseness(abs=True, normalise=False, **bt.common)
    return m(model=None, x_batch=bt.a4 if bt.waveform else bt.x, y_batch=bt.y, a_batch=bt.a4,
             **bt.call)


def _complexity(bt: _Batch) -> Any:
    m = bt.quantus.Complexity(abs=True, normalise=False, **bt.common)
    return m(model=None, x_batch=bt.a4 if bt.waveform else bt.x, y_batch=bt.y, a_batch=bt.a4,
             **bt.call)


_RUNNERS: dict[str, Callable[[_Batch], Any]] = {
    "faithfulness-correlation": _faithfulness_correlation,
    "region-perturbation": _region_perturbation,
    "road": _road_metric,
    "random-logit": _random_logit,
    "efficient-mprt": _efficient_mprt,
    "max-sensitivity": _max_sensitivity,
    "local-lipschitz-estimate": _local_lipschitz,
    "sparseness": _sparseness,
    "complexity": _complexity,
}


def _road(quantus: Any, model: nn.Module, x: np.ndarray, y: np.ndarray, a4: np.ndarray,
          common: dict[str, Any], call: dict[str, Any]) -> np.ndarray:
    """ROAD (Rong et al. 2022), MoRF, per clip: share of removal levels at which the target
    class is still predicted. Quantus averages over clips; we keep the per-clip rows."""

    class PerClipROAD(quantus.ROAD):  # type: ignore[misc,name-defined]
        def custom_postprocess(self, **kwargs: Any) -> None:
            return None

    m = PerClipROAD(percentages=ROAD_PERCENTAGES, noise=NOISE_DB, abs=False, normalise=False,
                    **common)
    res = m(model=model, x_batch=x, y_batch=y, a_batch=a4, softmax=True, **call)
    rows = np.concatenate([np.asarray(r, dtype=np.float64) for r in res], axis=0)
    return rows.reshape(len(x), -1).mean(axis=1)

"""Cue ablation: bsx's own faithfulness test, in the waveform the model saw.

If an explanation's salient windows really carry the cue the model uses, neutralising that
cue inside them (and nowhere else) should lower the target probability more than the same
neutralisation in random windows of equal total length. Unlike pixel deletion on the
spectrogram (Samek et al. 2017), the edit is a plausible sound: the waveform is changed,
then the front-end's own log-mel is recomputed (bsx.audio.logmel), so the model never sees
an out-of-distribution patch of constant dB.

Cues:
- "loudness": each window is scaled to the clip's median active-frame RMS (flattening loud
  and quiet stretches toward the clip's typical level), with 10 ms linear cross-fades.
- "pitch": F0 inside the windows is set to the clip's median F0 with Praat's PSOLA
  (Manipulation, "Replace pitch tier", "Get resynthesis (overlap-add)"; Moulines &
  Charpentier 1990); only the window segments are spliced back, with cross-fades, so the
  rest of the clip is bit-identical.
- "noise": the windows are replaced by white noise at the clip's median RMS (occlusion in
  the waveform; removes every cue at once).

Random windows: `n_random` seeded draws of windows with the salient windows' lengths, inside
the real content (not the padding), non-overlapping each other and, where room allows, the
salient windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bsx.audio import Prepared
from bsx.scoring.groundtruth import merge_spans

CUES: tuple[str, ...] = ("loudness", "pitch", "noise")
FADE_S = 0.010
RMS_FRAME_S = 0.025
RMS_HOP_S = 0.010
ACTIVE_DB = 40.0          # active frames: RMS within 40 dB of the clip's loudest frame
MAX_GAIN = 10.0           # loudness: never amplify a window by more than 20 dB
PITCH_FLOOR, PITCH_CEILING = 75.0, 600.0


@dataclass(frozen=True)
class AblationResult:
    """Per-clip target probabilities and drops; NaN where a clip has no salient window.

    p_random is the mean over the random draws; gain = drop_salient - drop_random
    (higher: the salient windows carry more of what the model uses).
    """

    p_orig: np.ndarray
    p_salient: np.ndarray
    p_random: np.ndarray
    drop_salient: np.ndarray
    drop_random: np.ndarray
    gain: np.ndarray


# ---------------------------------------------------------------- windows and fades


def _to_samples(spans: Sequence[tuple[float, float]], sr: int, n: int) -> list[tuple[int, int]]:
    out = []
    for a, b in merge_spans(spans):
        lo, hi = max(0, int(round(a * sr))), min(n, int(round(b * sr)))
        if hi > lo:
            out.append((lo, hi))
    return out


def crossfade_weight(n: int, spans: Sequence[tuple[int, int]], fade: int) -> np.ndarray:
    """(n,) weight: 1 inside the sample spans, 0 outside, linear ramps of `fade` samples
    inside each span's edges (so nothing outside a span is touched)."""
    w = np.zeros(n, dtype=np.float64)
    for lo, hi in spans:
        seg = np.ones(hi - lo)
        k = min(fade, (hi - lo) // 2)
        if k > 0:
            ramp = np.linspace(0.0, 1.0, k + 2)[1:-1]
            seg[:k] = ramp
            seg[hi - lo - k:] = ramp[::-1]
        w[lo:hi] = np.maximum(w[lo:hi], seg)
    return w


def random_windows(lengths: Sequence[int], region: tuple[int, int],
                   avoid: Sequence[tuple[int, int]], rng: np.random.Generator,
                   tries: int = 200) -> list[tuple[int, int]]:
    """Place windows of the given sample lengths inside `region`, not overlapping each other
    and, where room allows, not the `avoid` spans. Longest first, uniform start positions."""
    lo, hi = region
    placed: list[tuple[int, int]] = []

    def free(a: int, b: int, blockers: Sequence[tuple[int, int]]) -> bool:
        return all(b <= c or a >= d for c, d in blockers)

    for length in sorted(lengths, reverse=True):
        length = min(length, hi - lo)
        if length <= 0:
            continue
        spot = None
        for blockers in (list(avoid) + placed, placed, []):
            for _ in range(tries):
                a = int(rng.integers(lo, hi - length + 1))
                if free(a, a + length, blockers):
                    spot = (a, a + length)
                    break
            if spot is not None:
                break
        placed.append(spot if spot is not None else (lo, lo + length))
    return placed


# ---------------------------------------------------------------- cue neutralisers


def frame_rms(y: np.ndarray, sr: int) -> np.ndarray:
    """RMS of 25 ms frames every 10 ms (no padding)."""
    size, hop = int(RMS_FRAME_S * sr), int(RMS_HOP_S * sr)
    if len(y) < size:
        return np.array([np.sqrt(np.mean(y.astype(np.float64) ** 2))])
    idx = np.arange(0, len(y) - size + 1, hop)[:, None] + np.arange(size)[None]
    return np.sqrt(np.mean(y.astype(np.float64)[idx] ** 2, axis=1))


def median_active_rms(y: np.ndarray, sr: int) -> float:
    """Median RMS of the frames within ACTIVE_DB of the loudest: the clip's typical level."""
    rms = frame_rms(y, sr)
    if rms.max() <= 0:
        return 0.0
    active = rms[rms >= rms.max() * 10 ** (-ACTIVE_DB / 20)]
    return float(np.median(active))


def neutralise_loudness(y: np.ndarray, sr: int, spans: Sequence[tuple[int, int]],
                        target_rms: float) -> np.ndarray:
    """Scale each span to `target_rms` (gain capped at MAX_GAIN), with cross-fades."""
    gain = np.ones(len(y))
    fade = int(FADE_S * sr)
    for lo, hi in spans:
        rms = float(np.sqrt(np.mean(y[lo:hi].astype(np.float64) ** 2)))
        g = min(target_rms / rms, MAX_GAIN) if rms > 0 else 1.0
        w = crossfade_weight(len(y), [(lo, hi)], fade)
        gain += w * (g - 1.0)
    return (y * gain).astype(np.float32)


def _median_f0(snd: object) -> float:
    pitch = snd.to_pitch(time_step=0.01, pitch_floor=PITCH_FLOOR,  # type: ignore[attr-defined]
                         pitch_ceiling=PITCH_CEILING)
    f0 = pitch.selected_array["frequency"]
    f0 = f0[f0 > 0]
    return float(np.median(f0)) if f0.size else float("nan")


def neutralise_pitch(y: np.ndarray, sr: int, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """Flatten F0 inside the spans to the clip's median F0 (Praat PSOLA), splice back."""
    import parselmouth
    from parselmouth.praat import call

    if not spans:
        return y.copy()
    snd = parselmouth.Sound(y.astype(np.float64), float(sr))
    median = _median_f0(snd)
    if not np.isfinite(median):
        return y.copy()  # unvoiced clip: no pitch to flatten
    manip = call(snd, "To Manipulation", 0.01, PITCH_FLOOR, PITCH_CEILING)
    tier = call(manip, "Extract pitch tier")
    n = int(call(tier, "Get number of points"))
    times = np.array([call(tier, "Get time from index", i) for i in range(1, n + 1)])
    for lo, hi in spans:
        a, b = lo / sr, hi / sr
        inside = times[(times >= a) & (times <= b)]
        if inside.size == 0:
            continue
        call(tier, "Remove points between", a, b)
        for t in inside:
            call(tier, "Add point", float(t), median)
    call([manip, tier], "Replace pitch tier")
    resynth = call(manip, "Get resynthesis (overlap-add)").values[0]
    out = np.zeros(len(y))
    out[: min(len(y), len(resynth))] = resynth[: len(y)]
    w = crossfade_weight(len(y), spans, int(FADE_S * sr))
    return ((1.0 - w) * y + w * out).astype(np.float32)


def neutralise_noise(y: np.ndarray, sr: int, spans: Sequence[tuple[int, int]],
                     target_rms: float, rng: np.random.Generator) -> np.ndarray:
    """Replace the spans by white noise at `target_rms`, with cross-fades."""
    noise = rng.standard_normal(len(y)) * target_rms
    w = crossfade_weight(len(y), spans, int(FADE_S * sr))
    return ((1.0 - w) * y + w * noise).astype(np.float32)


def ablate(y: np.ndarray, sr: int, spans: Sequence[tuple[int, int]], cue: str,
           rng: np.random.Generator, target_rms: float | None = None) -> np.ndarray:
    """The waveform with `cue` neutralised inside the sample spans."""
    if cue not in CUES:
        raise ValueError(f"cue must be one of {', '.join(CUES)}, not {cue!r}")
    if target_rms is None:
        target_rms = median_active_rms(y, sr)
    if cue == "loudness":
        return neutralise_loudness(y, sr, spans, target_rms)
    if cue == "pitch":
        return neutralise_pitch(y, sr, spans)
    return neutralise_noise(y, sr, spans, target_rms, rng)


# ---------------------------------------------------------------- the test


def _probs(model: nn.Module, entries: list[list[np.ndarray]], targets: np.ndarray,
           device: torch.device, batch_size: int, waveform_input: bool) -> np.ndarray:
    """Target probability of each entry (a clip's model input units): softmax of the mean
    of its units' logits, the utterance-level rule of docs/model-contract.md."""
    units = [u for e in entries for u in e]
    owner = np.repeat(np.arange(len(entries)), [len(e) for e in entries])
    logits: list[torch.Tensor | None] = [None] * len(units)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for j, u in enumerate(units):
        by_shape.setdefault(u.shape, []).append(j)
    with torch.no_grad():
        for idx in by_shape.values():
            for s in range(0, len(idx), batch_size):
                part = idx[s:s + batch_size]
                xb = torch.as_tensor(np.stack([units[j] for j in part]), device=device)
                out = model(xb if waveform_input else xb[:, None]).float()
                for j, row in zip(part, out, strict=True):
                    logits[j] = row
    out = np.empty(len(entries))
    for i in range(len(entries)):
        rows = [logits[j] for j in np.flatnonzero(owner == i)]
        p = torch.softmax(torch.stack(rows).mean(0), dim=-1).cpu().numpy()  # type: ignore[arg-type]
        out[i] = p[int(targets[i])]
    return out


def cue_ablation(
    model: nn.Module,
    prepared: Sequence[Prepared],
    windows: Sequence[Sequence[tuple[float, float]]],
    targets: np.ndarray,
    *,
    cue: str = "loudness",
    n_random: int = 3,
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
) -> AblationResult:
    """Drop of the target probability when `cue` is neutralised in the salient windows
    versus in random windows of equal total length.

    Args:
        model: eval-mode classifier on the front-end's units (log-mels or waveforms).
        prepared: what the model saw, one per clip (waveform, front-end).
        windows: salient windows per clip, in seconds on the MODEL timeline.
        targets: (B,) class whose probability is tracked.
    """
    if cue not in CUES:
        raise ValueError(f"cue must be one of {', '.join(CUES)}, not {cue!r}")
    if len(prepared) != len(windows) or len(prepared) != len(targets):
        raise ValueError("prepared, windows and targets must have one entry per clip")
    device = torch.device(device)
    targets = np.asarray(targets).astype(int)
    rng = np.random.default_rng(seed)
    n = len(prepared)
    mels: list[list[np.ndarray]] = []
    tgt: list[int] = []
    # layout per clip: [orig, salient, random_1..random_k] when it has windows, else [orig]
    slots: list[tuple[int, bool]] = []
    for i, (prep, spans) in enumerate(zip(prepared, windows, strict=True)):
        fe = prep.frontend
        sr = fe.sample_rate
        y = prep.waveform
        sal = _to_samples(spans, sr, len(y))
        mels.append(prep.units())
        tgt.append(int(targets[i]))
        if not sal:
            slots.append((i, False))
            continue
        level = median_active_rms(y, sr)
        mels.append(prep.units(ablate(y, sr, sal, cue, rng, level)))
        start = int(round(prep.pad_offset_s * sr))
        region = (start, min(len(y), start + int(round(prep.content_s * sr))))
        if region[1] - region[0] <= 0:
            region = (0, len(y))
        lengths = [hi - lo for lo, hi in sal]
        for _ in range(n_random):
            rnd = random_windows(lengths, region, sal, rng)
            mels.append(prep.units(ablate(y, sr, rnd, cue, rng, level)))
        tgt.extend([int(targets[i])] * (1 + n_random))
        slots.append((i, True))
    waveform_input = bool(prepared) and prepared[0].frontend.input == "waveform"
    p = _probs(model, mels, np.asarray(tgt), device, batch_size, waveform_input)

    p_orig, p_sal, p_rnd = (np.full(n, np.nan) for _ in range(3))
    k = 0
    for i, has in slots:
        p_orig[i] = p[k]
        k += 1
        if has:
            p_sal[i] = p[k]
            p_rnd[i] = p[k + 1:k + 1 + n_random].mean() if n_random else np.nan
            k += 1 + n_random
    drop_s, drop_r = p_orig - p_sal, p_orig - p_rnd
    return AblationResult(p_orig=p_orig, p_salient=p_sal, p_random=p_rnd,
                          drop_salient=drop_s, drop_random=drop_r, gain=drop_s - drop_r)

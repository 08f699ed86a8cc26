"""Cue ablation: bsx's own faithfulness test, in the waveform the model saw.

If an explanation's salient windows really carry the cue the model uses, neutralising that
cue inside them (and nowhere else) should lower the target probability more than the same
neutralisation in random windows of equal total length. Unlike pixel deletion on the
spectrogram (Samek et al. 2017), the edit is a plausible sound: the waveform is changed,
then the front-end's own log-mel is recomputed (bsx.audio.logmel), so the model never sees
an out-of-distribution patch of constant dB.

Cues:
- "loudness": each window is scaled to the clip's median active-frame RMS (flattening loud
  and quiet stretches toward the clip's typical level), with 10 ms linear cross-fades. A
  window's level is its active frames' RMS (within ACTIVE_DB of the clip's loudest); a window
  with no active frame is a pause, with no loudness to neutralise, and is left alone (it used
  to be amplified up to 20 dB: an edit far larger than any on speech).
- "pitch": F0 inside the windows is set to the clip's median F0 with Praat's PSOLA
  (Manipulation, "Replace pitch tier", "Get resynthesis (overlap-add)"; Moulines &
  Charpentier 1990); only the window segments are spliced back, with cross-fades, so the
  rest of the clip is bit-identical.
- "noise": the windows are replaced by white noise at the clip's median RMS (occlusion in
  the waveform; removes every cue at once).

A fair test compares like with like (the edits differ only in WHERE they are):
- Salient windows are clipped to the real content, as the random ones are drawn inside it: a
  window in the front-end's padding edits nothing, so it used to count as "no drop" against
  random windows that did edit speech (the cause of negative gains on padded front-ends).
  A clip whose windows lie wholly in padding gets NaN.
- An edit smaller than MIN_EDIT_SHARE of the input's own RMS (0.004 dB on a typical log-mel)
  is no edit: a window on a pause, or one already at the clip's level, changes nothing but
  rounding, and drop / edit of two rounding errors gave per-dB gains of +-0.35 (one whole
  EmoDB clip, its sign set by the BLAS thread count). Its gain_per_db is NaN.
- Random windows: `candidates` seeded draws of windows with the clipped salient lengths,
  inside the content, non-overlapping each other and, where room allows, the salient
  windows; of these, the `n_random` whose edit size is nearest the salient edit's are used
  (match="edit"; match="none" takes the first n_random draws). Edit size = RMS change of
  the model's input (dB over every log-mel bin; samples for waveform models), so a pause
  amplified or a window holding the clip's peak (ref=max shifts the whole log-mel) counts
  as the large edit it is. Both edit sizes are returned.
- One generator per clip, seeded by (seed, a hash of the clip's key: its id, else its
  waveform): a clip's random windows and noise do not depend on its batch.
- Drops are measured on the model's input (the padded model timeline, through the same
  front-end), so original and edited inputs differ only by the edit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

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
MIN_EDIT_SHARE = 1e-4     # an edit under 1e-4 of the input's RMS is no edit (per-dB: NaN)
PITCH_FLOOR, PITCH_CEILING = 75.0, 600.0


@dataclass(frozen=True)
class AblationResult:
    """Per-clip target probabilities and drops; NaN where a clip has no salient window.

    p_random is the mean over the random draws; gain = drop_salient - drop_random
    (higher: the salient windows carry more of what the model uses). edit_salient and
    edit_random: RMS change of the model input (dB per log-mel bin; waveform units for
    waveform models), the random one averaged over the draws used; salient_s: seconds of
    salient window inside the content (after clipping). gain_per_db: the same comparison per
    dB of input change, drop_salient / edit_salient minus the mean over the random draws of
    drop / edit (NaN where an edit is under MIN_EDIT_SHARE of the input's RMS): the fair
    gain when edit sizes cannot be matched.
    """

    p_orig: np.ndarray
    p_salient: np.ndarray
    p_random: np.ndarray
    drop_salient: np.ndarray
    drop_random: np.ndarray
    gain: np.ndarray
    edit_salient: np.ndarray | None = None
    edit_random: np.ndarray | None = None
    salient_s: np.ndarray | None = None
    gain_per_db: np.ndarray | None = None


# ---------------------------------------------------------------- windows and fades


def _to_samples(spans: Sequence[tuple[float, float]], sr: int, n: int,
                lo_limit: int = 0) -> list[tuple[int, int]]:
    """Seconds -> merged sample spans clipped to [lo_limit, n)."""
    out = []
    for a, b in merge_spans(spans):
        lo, hi = max(lo_limit, int(round(a * sr))), min(n, int(round(b * sr)))
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


def active_floor(y: np.ndarray, sr: int) -> float:
    """Frame RMS below which a frame is inactive (a pause): ACTIVE_DB under the loudest."""
    rms = frame_rms(y, sr)
    return float(rms.max() * 10 ** (-ACTIVE_DB / 20)) if rms.size else 0.0


def _span_level(y: np.ndarray, sr: int, lo: int, hi: int, floor: float) -> float:
    """RMS of a span over its active frames (frame RMS >= floor); 0 when none is active."""
    seg = y[lo:hi].astype(np.float64)
    if floor <= 0:
        return float(np.sqrt(np.mean(seg ** 2))) if seg.size else 0.0
    rms = frame_rms(seg, sr)
    act = rms[rms >= floor]
    return float(np.sqrt(np.mean(act ** 2))) if act.size else 0.0


def neutralise_loudness(y: np.ndarray, sr: int, spans: Sequence[tuple[int, int]],
                        target_rms: float, floor_rms: float = 0.0) -> np.ndarray:
    """Scale each span to `target_rms` (gain capped at MAX_GAIN), with cross-fades. With
    floor_rms > 0 a span's level is that of its active frames, and a span with none (a pause)
    is left as it is. Each span's weight is built over the span alone (it is 0 outside): a
    whole-clip weight per span made this quadratic in clip length (issue 25)."""
    gain = np.ones(len(y))
    fade = int(FADE_S * sr)
    for lo, hi in spans:
        rms = _span_level(y, sr, lo, hi, floor_rms)
        g = min(target_rms / rms, MAX_GAIN) if rms > 0 else 1.0
        gain[lo:hi] += crossfade_weight(hi - lo, [(0, hi - lo)], fade) * (g - 1.0)
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
           rng: np.random.Generator, target_rms: float | None = None,
           floor_rms: float = 0.0) -> np.ndarray:
    """The waveform with `cue` neutralised inside the sample spans (floor_rms: see
    neutralise_loudness)."""
    if cue not in CUES:
        raise ValueError(f"cue must be one of {', '.join(CUES)}, not {cue!r}")
    if target_rms is None:
        target_rms = median_active_rms(y, sr)
    if cue == "loudness":
        return neutralise_loudness(y, sr, spans, target_rms, floor_rms)
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


def clip_rng(seed: int, key: str | bytes) -> np.random.Generator:
    """A generator for one clip: seeded by (seed, a stable hash of the clip's key)."""
    raw = key.encode() if isinstance(key, str) else key
    h = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, h])


def edit_size(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """RMS difference of two inputs given as units (over every element of every unit)."""
    num = sum(float(np.sum((x.astype(np.float64) - y) ** 2)) for x, y in zip(a, b, strict=True))
    return float(np.sqrt(num / max(1, sum(x.size for x in a))))


def input_rms(units: Sequence[np.ndarray]) -> float:
    """RMS of an input given as units (over every element): the scale of its edits."""
    num = sum(float(np.sum(x.astype(np.float64) ** 2)) for x in units)
    return float(np.sqrt(num / max(1, sum(x.size for x in units))))


@dataclass(frozen=True)
class RandomDraws:
    """The random windows a salient edit is compared with: `n` of them, from `candidates`
    seeded draws; match "edit" keeps the n whose edit size is nearest the salient edit's,
    "none" the first n draws."""

    n: int = 3
    candidates: int = 12
    match: Literal["edit", "none"] = "edit"


@dataclass
class _ClipEdits:
    """One clip's model inputs (original, salient edit, the random edits used) and edit
    sizes; `salient` None: no salient window inside the content."""

    entries: list[list[np.ndarray]]
    salient: float = float("nan")
    floor: float = float("nan")
    salient_s: float = float("nan")
    random: list[float] = field(default_factory=list)


def cue_ablation(
    model: nn.Module,
    prepared: Sequence[Prepared],
    windows: Sequence[Sequence[tuple[float, float]]],
    targets: np.ndarray,
    *,
    cue: str = "loudness",
    seed: int = 0,
    device: torch.device | str = "cpu",
    batch_size: int = 32,
    keys: Sequence[str] | None = None,
    draws: RandomDraws | None = None,
) -> AblationResult:
    """Drop of the target probability when `cue` is neutralised in the salient windows
    versus in random windows of equal total length and matched edit size (module docstring).

    Args:
        model: eval-mode classifier on the front-end's units (log-mels or waveforms).
        prepared: what the model saw, one per clip (waveform, front-end).
        windows: salient windows per clip, in seconds on the MODEL timeline.
        targets: (B,) class whose probability is tracked.
        keys: one stable key per clip (its id) seeding its generator; None: its waveform.
        draws: the random windows compared with (RandomDraws; default 3 of 12, matched by
            edit size).
    """
    dr = draws or RandomDraws()
    if cue not in CUES:
        raise ValueError(f"cue must be one of {', '.join(CUES)}, not {cue!r}")
    if len(prepared) != len(windows) or len(prepared) != len(targets):
        raise ValueError("prepared, windows and targets must have one entry per clip")
    if keys is not None and len(keys) != len(prepared):
        raise ValueError("keys must have one entry per clip")
    if dr.match not in ("edit", "none"):
        raise ValueError(f"match must be 'edit' or 'none', not {dr.match!r}")
    targets = np.asarray(targets).astype(int)
    clips = [_clip_edits(prep, spans, cue, dr,
                         clip_rng(seed, keys[i] if keys is not None else prep.waveform.tobytes()))
             for i, (prep, spans) in enumerate(zip(prepared, windows, strict=True))]
    entries = [e for c in clips for e in c.entries]
    tgt = np.repeat(targets, [len(c.entries) for c in clips])
    waveform_input = bool(prepared) and prepared[0].frontend.input == "waveform"
    p = _probs(model, entries, tgt, torch.device(device), batch_size, waveform_input)
    return _result(clips, p, dr.n)


def _clip_edits(prep: Prepared, spans: Sequence[tuple[float, float]], cue: str,
                dr: RandomDraws, rng: np.random.Generator) -> _ClipEdits:
    """A clip's inputs: [orig, salient, random_1..random_n] when it has a salient window
    inside its content, else [orig]; random edits drawn and matched as `dr` says."""
    sr = prep.frontend.sample_rate
    y = prep.waveform
    start = int(round(prep.pad_offset_s * sr))
    stop = min(len(y), start + int(round(prep.content_s * sr)))
    if stop <= start:
        start, stop = 0, len(y)
    sal = _to_samples(spans, sr, stop, lo_limit=start)  # clipped to the content
    orig = prep.units()
    if not sal:
        return _ClipEdits(entries=[orig])
    content = y[start:stop]
    level, floor = median_active_rms(content, sr), active_floor(content, sr)
    edited = prep.units(ablate(y, sr, sal, cue, rng, level, floor))
    out = _ClipEdits(entries=[orig, edited], salient=edit_size(orig, edited),
                     floor=MIN_EDIT_SHARE * input_rms(orig),
                     salient_s=sum(hi - lo for lo, hi in sal) / sr)
    lengths = [hi - lo for lo, hi in sal]
    drawn = []
    for _ in range(max(dr.n, dr.candidates) if dr.match == "edit" else dr.n):
        rnd = random_windows(lengths, (start, stop), sal, rng)
        units = prep.units(ablate(y, sr, rnd, cue, rng, level, floor))
        size = edit_size(orig, units)
        drawn.append((abs(size - out.salient), size, units))
    if dr.match == "edit":
        drawn = sorted(drawn, key=lambda d: d[0])  # stable: ties keep draw order
    used = drawn[:dr.n]
    out.entries.extend(d[2] for d in used)
    out.random = [d[1] for d in used]
    return out


def _result(clips: list[_ClipEdits], p: np.ndarray, n_random: int) -> AblationResult:
    """Per-clip probabilities, drops and gains from the entries' target probabilities."""
    n = len(clips)
    p_orig, p_sal, p_rnd, per_db, edit_s, edit_r, sal_s = (np.full(n, np.nan) for _ in range(7))
    k = 0
    for i, c in enumerate(clips):
        p_orig[i] = p[k]
        k += 1
        if len(c.entries) == 1:
            continue
        edit_s[i], sal_s[i] = c.salient, c.salient_s
        edit_r[i] = float(np.mean(c.random)) if c.random else np.nan
        p_sal[i] = p[k]
        draws_p = p[k + 1:k + 1 + n_random]
        p_rnd[i] = draws_p.mean() if n_random else np.nan
        er = np.asarray(c.random, dtype=np.float64)
        if n_random and edit_s[i] > c.floor and np.all(er > c.floor):
            per_db[i] = ((p_orig[i] - p_sal[i]) / edit_s[i]
                         - float(np.mean((p_orig[i] - draws_p) / er)))
        k += 1 + n_random
    drop_s, drop_r = p_orig - p_sal, p_orig - p_rnd
    return AblationResult(p_orig=p_orig, p_salient=p_sal, p_random=p_rnd,
                          drop_salient=drop_s, drop_random=drop_r, gain=drop_s - drop_r,
                          edit_salient=edit_s, edit_random=edit_r, salient_s=sal_s,
                          gain_per_db=per_db)

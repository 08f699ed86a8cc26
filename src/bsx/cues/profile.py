"""Cue profiles: one clip's cues over salient windows, the rest of the clip, and the whole clip,
plus a neutral-speech baseline to z-score against.

Tracks are extracted once per clip and sliced here (the paper re-ran openSMILE per 150 ms
window). Which frames count is bsx.cues.speech's one policy: cues that exist only in voiced
frames (F0, jitter, shimmer, HNR) use voiced frames, every other cue (loudness, spectral
slope, ...) uses speech frames, so a pause in the rest of a clip or in a neutral clip is never
averaged in as quiet speech. A region with fewer than MIN_VOICED such frames gets NaN and a
reason instead of a number measured on one or two frames. `Pitch_var` is derived: the
standard deviation of Pitch_lvl inside a region (the theory's "F0 variability").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bsx.cues.base import CueTracks
from bsx.cues.speech import DERIVED, MIN_FRAMES, frame_kind, frames_for, speech_frames

MIN_VOICED = MIN_FRAMES
REGIONS: tuple[str, ...] = ("salient", "rest", "whole")


@dataclass(frozen=True)
class RegionStats:
    """A cue over one region: mean and std over the frames used, n frames with a value,
    n_voiced voiced frames in the region; reason says why mean is NaN."""

    mean: float
    std: float
    n: int
    n_voiced: int
    reason: str = ""


@dataclass(frozen=True)
class CueProfile:
    """stats[cue][region] for region in salient / rest / whole; windows and content in seconds
    on the tracks' timeline."""

    stats: dict[str, dict[str, RegionStats]]
    windows: tuple[tuple[float, float], ...]
    content: tuple[float, float]
    extractor: str = ""
    voiced_only: frozenset[str] = frozenset()

    @property
    def cues(self) -> tuple[str, ...]:
        return tuple(self.stats)

    def get(self, cue: str, region: str = "salient") -> RegionStats:
        return self.stats[cue][region]

    def rows(self) -> list[dict[str, object]]:
        """Flat rows (cue, region, mean, std, n, n_voiced, reason) for tables and JSON."""
        return [
            {"cue": c, "region": r, "mean": s.mean, "std": s.std, "n": s.n,
             "n_voiced": s.n_voiced, "reason": s.reason}
            for c, by in self.stats.items() for r, s in by.items()
        ]


def region_masks(
    tracks: CueTracks, windows: Sequence[tuple[float, float]],
    content: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """Boolean frame masks: salient (union of windows inside content), rest, whole (content)."""
    n = tracks.n_frames
    lo, hi = content if content is not None else (0.0, n * tracks.frame_s)
    whole = np.zeros(n, dtype=bool)
    whole[tracks.frames(lo, hi)] = True
    salient = np.zeros(n, dtype=bool)
    for a, b in windows:
        if b < a:
            raise ValueError(f"window ({a}, {b}) ends before it starts")
        salient[tracks.frames(max(a, lo), min(b, hi))] = True
    salient &= whole
    return {"salient": salient, "rest": whole & ~salient, "whole": whole}


def _region_stats(values: np.ndarray, use: np.ndarray, voiced: np.ndarray,
                  masks: dict[str, np.ndarray], kinds: Sequence[str], spread: np.ndarray
                  ) -> list[dict[str, RegionStats]]:
    """Every cue over every region at once: values and use are (C, N), one row per cue (use:
    the frames the cue is measured over, all with a finite value); spread[c] marks a derived
    cue whose region value is its frames' spread. Vectorised over cues and regions (a clip has
    ~25 cues x 3 regions, twice with the matched random windows: one small numpy call each
    used to be most of the main process's per-clip work)."""
    names = list(masks)
    region = np.stack([masks[r] for r in names])                    # (R, N)
    w = region[:, None, :] & use[None, :, :]                        # (R, C, N)
    n = w.sum(axis=2)                                               # (R, C)
    n_voiced = (region & voiced[None, :]).sum(axis=1)               # (R,)
    x = np.where(use, values, 0.0)[None, :, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(w, x, 0.0).sum(axis=2) / n
        dev = np.where(w, x - mean[:, :, None], 0.0)
        sd = np.sqrt((dev * dev).sum(axis=2) / (n - 1))
    any_frame: np.ndarray = np.asarray(region.any(axis=1))
    out: list[dict[str, RegionStats]] = []
    for c, kind in enumerate(kinds):
        need = MIN_VOICED if (kind == "voiced" or spread[c]) else 1
        by: dict[str, RegionStats] = {}
        for r, name in enumerate(names):
            k, nv = int(n[r, c]), int(n_voiced[r])
            if k < need:
                reason = f"too few {kind} frames ({k} < {need})" if any_frame[r] else \
                    "empty region"
                by[name] = RegionStats(math.nan, math.nan, k, nv, reason)
            elif spread[c]:  # derived: the region's spread is the value
                by[name] = RegionStats(float(sd[r, c]), math.nan, k, nv)
            else:
                by[name] = RegionStats(float(mean[r, c]), float(sd[r, c]) if k > 1 else math.nan,
                                       k, nv)
        out.append(by)
    return out


def cue_profile(
    tracks: CueTracks, windows: Sequence[tuple[float, float]], *,
    content: tuple[float, float] | None = None, voiced_only: Iterable[str] = (),
) -> CueProfile:
    """Profile one clip: each cue over salient windows, the rest of `content`, and `content`.

    Windows are seconds on the tracks' timeline (the original file for tracks extracted from
    it); `content` defaults to the whole clip. Frame i (centred at i*10 ms) belongs to a window
    [a, b) when floor(a/10ms) <= i < ceil(b/10ms). Voiced-only cues use voiced frames, the
    others speech frames (bsx.cues.speech); `voiced_only` names further cues to measure over
    voiced frames only (eGeMAPS reports spectral cues over voiced segments, say).
    """
    return cue_profiles(tracks, [windows], content=content, voiced_only=voiced_only)[0]


def cue_profiles(
    tracks: CueTracks, window_sets: Sequence[Sequence[tuple[float, float]]], *,
    content: tuple[float, float] | None = None, voiced_only: Iterable[str] = (),
) -> list[CueProfile]:
    """cue_profile for several window sets of one clip (its salient windows and their matched
    random ones, say): the speech frames and each cue's frames are found once for all."""
    extra = frozenset(voiced_only)
    speech = speech_frames(tracks)
    voiced = np.asarray(tracks.voiced, dtype=bool)
    names = list(tracks.values)
    sources = list(names)
    for derived, src in DERIVED.items():
        if src in tracks.values and derived not in names:
            names.append(derived)
            sources.append(src)
    n = tracks.n_frames
    values = np.empty((len(names), n))
    use = np.empty((len(names), n), dtype=bool)
    for i, (cue, src) in enumerate(zip(names, sources, strict=True)):
        values[i] = tracks.values[src]
        use[i] = frames_for(tracks, cue, speech=speech, extra_voiced=extra)
    spread = np.array([cue in DERIVED and cue not in tracks.values for cue in names])
    kinds = [frame_kind(tracks, cue, extra) for cue in names]
    voiced_cues = set(tracks.voiced_only) | (extra & set(names))
    voiced_cues |= {d for d, s in DERIVED.items() if s in names and s in voiced_cues}
    lo, hi = content if content is not None else (0.0, tracks.n_frames * tracks.frame_s)
    out = []
    for windows in window_sets:
        masks = region_masks(tracks, windows, content)
        stats = dict(zip(names, _region_stats(values, use, voiced, masks, kinds, spread),
                         strict=True))
        out.append(CueProfile(
            stats=stats, windows=tuple((float(a), float(b)) for a, b in windows),
            content=(float(lo), float(hi)), extractor=tracks.extractor,
            voiced_only=frozenset(voiced_cues)))
    return out


@dataclass(frozen=True)
class Norm:
    """A cue's neutral reference: mean and std, how many clips it pools, and its source."""

    mean: float
    std: float
    n_clips: int
    source: str  # "speaker" or "corpus"


@dataclass
class Baseline:
    """Neutral-speech reference per cue: per speaker and corpus-wide.

    For frame-level cues the std is the pooled frame-level std over all neutral clips (each
    clip's whole-content mean, std and frame count combined exactly); for a derived cue
    (Pitch_var, one number per region) it is the spread across neutral clips.
    """

    speakers: dict[str, dict[str, Norm]] = field(default_factory=dict)
    corpus: dict[str, Norm] = field(default_factory=dict)

    def norm(self, cue: str, speaker: str | None = None) -> Norm | None:
        """The same speaker's neutral norm when there is one, else the corpus's."""
        if speaker is not None:
            own = self.speakers.get(speaker, {}).get(cue)
            if own is not None and math.isfinite(own.std) and own.std > 0:
                return own
        return self.corpus.get(cue)


def _pool(stats: list[RegionStats], derived: bool, source: str) -> Norm | None:
    ok = [s for s in stats if math.isfinite(s.mean)]
    if not ok:
        return None
    if derived:
        x = np.array([s.mean for s in ok])
        sd = float(x.std(ddof=1)) if x.size > 1 else math.nan
        return Norm(float(x.mean()), sd, len(ok), source)
    n = np.array([s.n for s in ok], dtype=np.float64)
    m = np.array([s.mean for s in ok])
    s = np.array([0.0 if not math.isfinite(s.std) else s.std for s in ok])
    total = n.sum()
    mean = float((n * m).sum() / total)
    var = ((n - 1) * s**2 + n * (m - mean) ** 2).sum() / max(total - 1, 1.0)
    return Norm(mean, float(np.sqrt(var)), len(ok), source)


def neutral_baseline(
    profiles_or_tracks: Iterable[CueProfile | CueTracks], speakers: Iterable[str | None],
    *, region: str = "whole",
) -> Baseline:
    """A Baseline from neutral clips, per speaker and corpus-wide.

    region="whole" pools each neutral clip's whole content (theory's reference: neutral
    speech). region="salient" pools the neutral profiles' own windows instead, for corpora
    where a comparable region is known in every clip (the synth corpus' slot holds the word
    whose cues were planted relative to the same speaker's neutral word)."""
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    items = [p if isinstance(p, CueProfile) else cue_profile(p, []) for p in profiles_or_tracks]
    spk = list(speakers)
    if len(spk) != len(items):
        raise ValueError(f"{len(items)} neutral clips but {len(spk)} speakers")
    cues = sorted({c for p in items for c in p.cues})
    base = Baseline()
    for cue in cues:
        derived = cue in DERIVED
        whole = [p.stats[cue][region] for p in items if cue in p.stats]
        norm = _pool(whole, derived, "corpus")
        if norm is not None:
            base.corpus[cue] = norm
        for s in sorted({x for x in spk if x is not None}):
            own = [p.stats[cue][region] for p, x in zip(items, spk, strict=True)
                   if x == s and cue in p.stats]
            norm = _pool(own, derived, "speaker")
            if norm is not None:
                base.speakers.setdefault(s, {})[cue] = norm
    return base


def zscores(
    profile: CueProfile, baseline: Baseline, speaker: str | None = None,
) -> dict[str, dict[str, float]]:
    """Per cue and region: (region mean - neutral mean) / neutral std (NaN when unknown)."""
    out: dict[str, dict[str, float]] = {}
    for cue, by in profile.stats.items():
        norm = baseline.norm(cue, speaker)
        out[cue] = {}
        for region, s in by.items():
            if norm is None or not math.isfinite(norm.std) or norm.std <= 0:
                out[cue][region] = math.nan
            else:
                out[cue][region] = (s.mean - norm.mean) / norm.std
    return out


def profile_rows(profile: CueProfile) -> list[dict[str, object]]:
    """One wide row per cue: {region}_{mean,std,n,n_voiced,reason} for each region, for the
    results tables (salient_mean, rest_mean, whole_mean, ...)."""
    rows: list[dict[str, object]] = []
    for cue, by in profile.stats.items():
        row: dict[str, object] = {"cue": cue, "extractor": profile.extractor,
                                  "voiced_only": cue in profile.voiced_only}
        for region, s in by.items():
            row.update({f"{region}_mean": s.mean, f"{region}_std": s.std, f"{region}_n": s.n,
                        f"{region}_n_voiced": s.n_voiced, f"{region}_reason": s.reason})
        rows.append(row)
    return rows

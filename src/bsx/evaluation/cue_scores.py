"""Cue profiles and expert-cue masks: the salient windows measured against the cue tracks
(measured once per clip and extractor, shared by every method)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.evaluation.salient import content_windows
from bsx.scoring.scorers import ScoreRow

if TYPE_CHECKING:
    from bsx.audio import Prepared
    from bsx.cues.base import CueTracks
    from bsx.datasets.base import Clip
    from bsx.windows import Window


@dataclass(frozen=True)
class MethodProfiles:
    """One method's cue-profile rows for a batch, and the per-clip cue seconds as
    "time-cues" rows (one per clip and cue set)."""

    rows: tuple[dict[str, Any], ...]
    timings: tuple[ScoreRow, ...]


def cue_profile_rows(method: str, clips: Sequence[Clip], prepared: Sequence[Prepared],
                     wins: Sequence[Sequence[Window]], target_labels: Sequence[str],
                     tracks: dict[str, list[CueTracks]], cue_seconds: dict[str, float],
                     seed: int = 0) -> MethodProfiles:
    """Per cue set, the profile rows of every clip (salient / rest / whole, and matched random
    windows for claim (a), drawn per clip from `seed`). Agreement is scored from these rows
    after the run (bsx.report.posthoc), in one place."""
    from bsx.cues.profile import cue_profiles, profile_rows
    from bsx.scoring.claims import clip_seed, merge_random_rows, random_rows, random_windows

    rows: list[dict[str, Any]] = []
    timings: list[ScoreRow] = []
    for cname, ctracks in tracks.items():
        for i, (c, p) in enumerate(zip(clips, prepared, strict=True)):
            cwins = content_windows(list(wins[i]), p)
            matched = random_windows(cwins, p.content_s, clip_seed(seed, c.id))
            prof, rnd = cue_profiles(ctracks[i], [cwins, matched], content=(0.0, p.content_s))
            timings.append(ScoreRow(i, "time-cues", cue_seconds[cname], cues=cname,
                                    seconds=cue_seconds[cname]))
            rows += [{"clip_id": c.id, "method": method, "cues": cname, "label": c.label,
                      "target": target_labels[i], "speaker": c.speaker, **row}
                     for row in merge_random_rows(profile_rows(prof), random_rows(rnd))]
    return MethodProfiles(rows=tuple(rows), timings=tuple(timings))


def expert_union_masks(ctracks: Sequence[CueTracks], prepared: Sequence[Prepared],
                       target_labels: Sequence[str], expert: Any) -> list[np.ndarray]:
    """Per clip, the (F, T) union of the target emotion's expert-cue masks on the model grid:
    what localisation scores a map against (the same for every method)."""
    from bsx.scoring.cue_masks import expert_cue_masks

    masks = []
    for i, p in enumerate(prepared):
        fe = p.frontend
        cue_masks = expert_cue_masks(
            ctracks[i], target_labels[i], expert,
            to_model=functools.partial(np.add, p.pad_offset_s),
            frame_s=fe.frame_s, n_frames=p.n_frames, n_mels=fe.n_mels)
        union = np.zeros((fe.n_mels, p.n_frames), dtype=bool)
        for m in cue_masks.values():
            union |= m
        masks.append(union)
    return masks

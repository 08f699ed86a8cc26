"""Cue profiles and expert-cue masks: the salient windows measured against the cue tracks
(measured once per clip and extractor, shared by every method)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bsx.evaluation.records import Records
from bsx.evaluation.salient import content_windows


def write_profiles(rec: Records, method: str, clips: list[Any], prepared: list[Any],
                   wins: list[list[Any]], target_labels: list[str],
                   tracks: dict[str, list[Any]], cue_seconds: dict[str, float],
                   seed: int = 0) -> None:
    """Per cue set, the profile rows of every clip (salient / rest / whole, and matched random
    windows for claim (a), drawn per clip from `seed`). Agreement is scored from these rows
    after the run (bsx.report.posthoc), in one place."""
    from bsx.cues.profile import cue_profiles, profile_rows
    from bsx.scoring.claims import clip_seed, merge_random_rows, random_rows, random_windows

    for cname, ctracks in tracks.items():
        for i, (c, p) in enumerate(zip(clips, prepared, strict=True)):
            cwins = content_windows(wins[i], p)
            matched = random_windows(cwins, p.content_s, clip_seed(seed, c.id))
            prof, rnd = cue_profiles(ctracks[i], [cwins, matched], content=(0.0, p.content_s))
            rec.emit(i, method, cname, "time-cues", cue_seconds[cname], cue_seconds[cname])
            rows = merge_random_rows(profile_rows(prof), random_rows(rnd))
            for row in rows:
                rec.profiles.append({"clip_id": c.id, "method": method, "cues": cname,
                                     "label": c.label, "target": target_labels[i],
                                     "speaker": c.speaker, **row})


def expert_union_masks(ctracks: list[Any], prepared: list[Any], target_labels: list[str],
                       expert: Any) -> list[np.ndarray]:
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

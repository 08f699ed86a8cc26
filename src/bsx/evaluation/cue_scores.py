"""Cue profiles, expert-cue agreement and expert-cue masks: the salient windows measured
against the cue tracks (measured once per clip and extractor, shared by every method)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bsx.evaluation.groundtruth import localisation
from bsx.evaluation.records import Records
from bsx.evaluation.salient import content_windows


def score_cues(rec: Records, method: str, clips: list[Any], prepared: list[Any],
               maps: list[np.ndarray], wins: list[list[Any]], target_labels: list[str],
               tracks: dict[str, list[Any]], cue_seconds: dict[str, float], expert: Any,
               loc: list[str], seed: int = 0, *, sign: str | None = "positive") -> None:
    """Per cue set: the profile rows (salient / rest / whole, and matched random windows for
    claim (a), drawn per clip from `seed`), and localisation of the map against the union of
    the target emotion's expert-cue masks. Agreement is scored from the profile rows after
    the run (bsx.report.posthoc), in one place."""
    from bsx.cues.profile import cue_profile, profile_rows
    from bsx.scoring.claims import clip_seed, merge_random_rows, random_region_stats
    from bsx.scoring.cue_masks import expert_cue_masks

    for cname, ctracks in tracks.items():
        masks = []
        for i, (c, p) in enumerate(zip(clips, prepared, strict=True)):
            cwins = content_windows(wins[i], p)
            prof = cue_profile(ctracks[i], cwins, content=(0.0, p.content_s))
            emotion = target_labels[i]
            rec.emit(i, method, cname, "time-cues", cue_seconds[cname], cue_seconds[cname])
            rows = merge_random_rows(profile_rows(prof), random_region_stats(
                ctracks[i], cwins, p.content_s, clip_seed(seed, c.id),
                voiced_only=prof.voiced_only))
            for row in rows:
                rec.profiles.append({"clip_id": c.id, "method": method, "cues": cname,
                                     "label": c.label, "target": emotion,
                                     "speaker": c.speaker, **row})
            if loc:
                fe = p.frontend
                cue_masks = expert_cue_masks(
                    ctracks[i], emotion, expert,
                    to_model=functools.partial(np.add, p.pad_offset_s),
                    frame_s=fe.frame_s, n_frames=p.n_frames, n_mels=fe.n_mels)
                union = np.zeros((fe.n_mels, p.n_frames), dtype=bool)
                for m in cue_masks.values():
                    union |= m
                masks.append(union)
        if loc:
            localisation(rec, method, cname, maps, masks, loc, "expert-cues", sign=sign)

"""Honest runs: say when a result should not be trusted as it looks.

Checks the CLI and the engine run: a model evaluated outside its training corpus (the
packaged model learnt synthetic speech; on a recorded clip it still answers with confident
probabilities), a checkpoint that does not say which clips it was trained on (its clips may
be training data: docs/controls.md), and clips too short to explain (a 5 ms clip gets a
prediction, but no window of 150 ms fits in it). Each returns a sentence (or None) so the
caller decides whether it is a warning line or a skip reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIN_CONTENT_S = 0.25
"""Shortest content (after the front-end's trim) worth explaining: below it, fewer than two
of the paper's 150 ms windows fit and the cue statistics rest on a handful of frames."""


def training_corpus(meta: dict[str, Any]) -> str | None:
    """The corpus a checkpoint was trained on (its sidecar's "dataset"); None if unknown (a
    plain state dict such as the paper's files)."""
    name = str(meta.get("dataset") or "").strip()
    return name or None


def domain_warning(meta: dict[str, Any], evaluated: str | None, *, source: str = ""
                   ) -> str | None:
    """A sentence when the model's training corpus differs from what it is evaluated on.

    evaluated: the evaluated dataset's name, or None for a user's own file (`bsx explain`),
    which is out of domain for a model trained on the synthetic corpus. None when the
    training corpus is unknown or the same."""
    trained = training_corpus(meta)
    if trained is None:
        return None
    if evaluated is None:
        if trained.lower() != "synth":
            return None
        what = source or "this file"
        return (f"the model was trained on the synthetic corpus 'synth', not on recorded "
                f"speech; its prediction for {what} is out of domain, however confident the "
                "probabilities look")
    if trained.lower() == evaluated.lower():
        return None
    return (f"the model was trained on '{trained}' but is evaluated on '{evaluated}': "
            "scores measure transfer to another corpus, and wrong predictions are explained "
            "as if they were right")


TRAINING_DATA_WARNING = (
    "{what} carries no split information (no bsx sidecar naming its training speakers or "
    "clips), so the clips of '{dataset}' may include its training data: accuracy can be far "
    "above a held-out figure and misclassified clips are few; state the split with "
    "--trained-on-split (a JSON file of its training speakers, or 'none' if the model never "
    "saw this corpus)")


def knows_split(meta: dict[str, Any]) -> bool:
    """Whether the checkpoint's sidecar says which clips of `evaluated` it was trained on:
    a stored split, or a training corpus (another corpus: no clip can be training data; the
    same corpus without a stored split: bsx rebuilds the split from its seed)."""
    return training_corpus(meta) is not None


def training_data_warning(meta: dict[str, Any], evaluated: str, stated: Any = None, *,
                          source: str = "") -> str | None:
    """One sentence when a checkpoint without split information is evaluated on a corpus
    (the paper's plain state dicts: their clips were almost surely training data, accuracy
    0.94 on the corpus against far less held out); None when the sidecar or the user's
    `stated` split (--trained-on-split) says which clips it learnt from."""
    if stated is not None or knows_split(meta):
        return None
    what = f"the checkpoint {source}" if source else "the checkpoint"
    return TRAINING_DATA_WARNING.format(what=what, dataset=evaluated)


def too_short(content_s: float, *, source: str = "", min_s: float = MIN_CONTENT_S
              ) -> str | None:
    """A sentence when a clip's content (after trimming silence) is shorter than `min_s`."""
    if content_s >= min_s:
        return None
    who = f"{source}: " if source else ""
    return (f"{who}only {content_s * 1000:.0f} ms of sound after trimming silence (at least "
            f"{min_s * 1000:.0f} ms are needed to explain a clip)")


def drop_too_short(clips: Sequence[Any], prepared: Sequence[Any], *,
                   min_s: float = MIN_CONTENT_S
                   ) -> tuple[list[Any], list[Any], list[tuple[str, str]]]:
    """Split a prepared batch: (clips kept, their Prepared, [(clip id, reason)] skipped).

    The engine calls it right after the front-end, before the model sees the batch, and adds
    the skipped pairs to the run's skipped list (summary.json, report.html)."""
    kept_c: list[Any] = []
    kept_p: list[Any] = []
    skipped: list[tuple[str, str]] = []
    for c, p in zip(clips, prepared, strict=True):
        why = too_short(float(p.content_s), min_s=min_s)
        if why is None:
            kept_c.append(c)
            kept_p.append(p)
        else:
            skipped.append((str(c.id), why))
    return kept_c, kept_p, skipped

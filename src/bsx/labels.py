"""Label presets: the class order a checkpoint's output layer was trained with.

A plain state dict (like the paper's files) does not say which output means which emotion,
so loading one needs labels or a preset. `paper7` is the order of the paper's TESS and
CREMA-D checkpoints; `ravdess8` is RAVDESS emotion code minus one (its notebook's order).
"""

from __future__ import annotations

from collections.abc import Sequence

from bsx.errors import BsxError, UnknownName, did_you_mean

LABEL_PRESETS: dict[str, tuple[str, ...]] = {
    "paper7": ("fear", "neutral", "happy", "angry", "disgust", "surprise", "sad"),
    "ravdess8": ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise"),
}


def label_preset(name: str) -> tuple[str, ...]:
    """The labels of a preset by name (case-insensitive); UnknownName with a hint otherwise."""
    key = name.strip().lower()
    if key in LABEL_PRESETS:
        return LABEL_PRESETS[key]
    hint = did_you_mean(key, LABEL_PRESETS)
    raise UnknownName(f"no label preset '{name}'{hint}; available: {', '.join(LABEL_PRESETS)}")


def parse_labels(labels: str | Sequence[str]) -> tuple[str, ...]:
    """'a,b,c' or a sequence -> a tuple of stripped, lower-cased, unique, non-empty labels."""
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    out = tuple(str(x).strip().lower() for x in items)
    if not out or any(not x for x in out):
        raise BsxError(f"labels {labels!r}: give a comma-separated list of non-empty names")
    dup = sorted({x for x in out if out.count(x) > 1})
    if dup:
        raise BsxError(f"labels {labels!r}: names repeat ({', '.join(dup)})")
    return out


def resolve_labels(
    labels: str | Sequence[str] | None = None, preset: str | None = None
) -> tuple[str, ...] | None:
    """Explicit labels or a preset (not both); None when neither is given."""
    if labels is not None and preset is not None:
        raise BsxError("give either labels or a label preset, not both")
    if labels is not None:
        return parse_labels(labels)
    if preset is not None:
        return label_preset(preset)
    return None

"""Train/val/test splits: speaker-independent by default, the paper's random split on request.

The paper's notebooks split clips at random (and leaked: the test clips were also training
clips). A model that has heard the speaker scores higher than one that has not, so bsx
splits by speaker unless asked otherwise, and writes the split to a file that later runs
reuse, so every stage of one experiment sees the same split.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from bsx.datasets.base import Clip
from bsx.errors import BadDataset

SPLITS: tuple[str, str, str] = ("train", "val", "test")
Mode = Literal["speaker", "random"]


def _check(clips: Sequence[Clip], mode: str, fractions: tuple[float, float, float]) -> None:
    if mode not in ("speaker", "random"):
        raise BadDataset(f"no split mode '{mode}'; accepted: speaker, random")
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise BadDataset(
            f"split fractions {tuple(fractions)} must be three non-negative numbers summing to 1"
        )
    if not clips:
        raise BadDataset("cannot split an empty list of clips")
    seen: dict[str, Clip] = {}
    for c in clips:
        if c.id in seen:
            raise BadDataset(
                f"two clips share the id '{c.id}': {seen[c.id].path} and {c.path}"
            )
        seen[c.id] = c


def _random_split(
    clips: Sequence[Clip], seed: int, fractions: tuple[float, float, float]
) -> dict[str, str]:
    """Stratified by label: each label's clips are shuffled and cut 80/10/10."""
    rng = random.Random(seed)
    by_label: dict[str, list[Clip]] = defaultdict(list)
    for c in clips:
        by_label[c.label].append(c)
    out: dict[str, str] = {}
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda c: c.id)
        rng.shuffle(group)
        n = len(group)
        n_train = round(fractions[0] * n)
        n_val = round(fractions[1] * n)
        if n_train + n_val > n:
            n_val = n - n_train
        for i, c in enumerate(group):
            out[c.id] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return out


def _speaker_split(
    clips: Sequence[Clip], seed: int, fractions: tuple[float, float, float]
) -> dict[str, str]:
    """Whole speakers to splits, greedily keeping each split's label counts near target.

    Speakers are taken largest first (ties in a seeded random order); each goes to the split
    whose squared deviation from its per-label target (fraction x label total) grows least.
    Every split with a non-zero fraction gets at least one speaker.
    """
    by_speaker: dict[str, Counter[str]] = defaultdict(Counter)
    for c in clips:
        by_speaker[c.speaker][c.label] += 1
    speakers = sorted(by_speaker)
    wanted = [s for s, f in zip(SPLITS, fractions, strict=True) if f > 0]
    if len(speakers) < max(3, len(wanted)):
        raise BadDataset(
            f"a speaker-independent split needs at least 3 speakers, found {len(speakers)} "
            f"({', '.join(speakers)}); use split mode 'random'"
        )
    rng = random.Random(seed)
    rng.shuffle(speakers)
    speakers.sort(key=lambda s: -sum(by_speaker[s].values()))  # stable: ties stay shuffled
    totals: Counter[str] = Counter(c.label for c in clips)
    target = {s: {lab: f * n for lab, n in totals.items()} for s, f in zip(SPLITS, fractions,
                                                                           strict=True)}
    counts: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    members: dict[str, list[str]] = {s: [] for s in SPLITS}

    def cost(split: str, spk: str) -> float:
        return sum(
            (counts[split][lab] + n - target[split][lab]) ** 2
            - (counts[split][lab] - target[split][lab]) ** 2
            for lab, n in by_speaker[spk].items()
        )

    # Seed the smaller splits with one speaker each (the smallest speakers, so the large
    # training split keeps the bulk), then place the rest greedily.
    reserve = [s for s in wanted if s != "train"]
    for split, spk in zip(reserve, reversed(speakers), strict=False):
        members[split].append(spk)
        counts[split].update(by_speaker[spk])
    placed = {spk for m in members.values() for spk in m}
    for spk in speakers:
        if spk in placed:
            continue
        split = min(wanted, key=lambda s: (cost(s, spk), SPLITS.index(s)))
        members[split].append(spk)
        counts[split].update(by_speaker[spk])
    where = {spk: split for split, m in members.items() for spk in m}
    return {c.id: where[c.speaker] for c in clips}


def make_split(
    clips: list[Clip],
    *,
    mode: Mode = "speaker",
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> dict[str, list[Clip]]:
    """Split clips into {"train", "val", "test"} lists (input order kept within each).

    mode "speaker": no speaker in two splits, label-stratified as far as speakers allow;
    fewer than 3 speakers is a BadDataset suggesting mode "random". mode "random": the
    paper's stratified random 80/10/10 (stratified per label, seeded).
    """
    fractions = tuple(float(f) for f in fractions)  # type: ignore[assignment]
    _check(clips, mode, fractions)
    assign = (_speaker_split if mode == "speaker" else _random_split)(clips, seed, fractions)
    return _apply(clips, assign)


def _apply(clips: Sequence[Clip], assign: dict[str, str]) -> dict[str, list[Clip]]:
    out: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    for c in clips:
        out[assign[c.id]].append(c)
    return out


def load_or_make_split(
    clips: list[Clip],
    path: Path,
    *,
    mode: Mode = "speaker",
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> dict[str, list[Clip]]:
    """make_split, written to `path` as JSON and reused while it still fits.

    The file ({"mode", "seed", "fractions", "assignments": {clip.id: split}}) is reused when
    its mode, seed and fractions match and it assigns every given clip (clips dropped since,
    e.g. skipped as unreadable, are fine). Otherwise a fresh split is made and written.
    A file that is not valid JSON of that shape is a BadDataset naming it.
    """
    path = Path(path)
    fractions = tuple(float(f) for f in fractions)  # type: ignore[assignment]
    _check(clips, mode, fractions)
    if path.is_file():
        try:
            saved = json.loads(path.read_text())
            same = (
                saved["mode"] == mode
                and int(saved["seed"]) == seed
                and [float(f) for f in saved["fractions"]] == list(fractions)
            )
            assign = {str(k): str(v) for k, v in dict(saved["assignments"]).items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise BadDataset(
                f"{path}: not a bsx split file ({exc!s:.200}); delete it to "
                "make a fresh split"
            ) from None
        if same and all(assign.get(c.id) in SPLITS for c in clips):
            return _apply(clips, assign)
    split = make_split(clips, mode=mode, seed=seed, fractions=fractions)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "mode": mode,
        "seed": seed,
        "fractions": list(fractions),
        "assignments": {c.id: s for s, cs in split.items() for c in cs},
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(blob, indent=1, sort_keys=True))
    tmp.replace(path)
    return split


# ---------------------------------------------------------------- the split a model was trained on

# Dataset options that never change which clips (or speakers) a corpus holds.
_NEUTRAL_OPTIONS = ("data_root", "workers")


def split_record(
    split: dict[str, list[Clip]], *, mode: str, seed: int,
    fractions: Sequence[float] = (0.8, 0.1, 0.1), dataset_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a checkpoint's sidecar stores about its training split, so evaluation can use
    exactly that split later: mode, seed, fractions, the dataset options it was made on, and
    per part ("train", "val", "test") its speakers (sorted); a random split, whose parts share
    speakers, also stores its clip ids per part."""
    out: dict[str, Any] = {
        "mode": mode, "seed": int(seed), "fractions": [float(f) for f in fractions],
        "dataset_options": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in (dataset_options or {}).items()},
        "speakers": {s: sorted({c.speaker for c in split[s]}) for s in SPLITS},
    }
    if mode == "random":
        out["clips"] = {s: sorted(c.id for c in split[s]) for s in SPLITS}
    return out


def _comparable(options: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (options or {}).items()
            if k not in _NEUTRAL_OPTIONS and v is not None}


def select_split(
    clips: list[Clip], split: str, split_meta: dict[str, Any], *, dataset: str,
    dataset_options: dict[str, Any] | None = None, mode: str | None = None,
) -> list[Clip]:
    """The clips of one part of the split, for evaluating a model without leaking its
    training speakers into the test set.

    split_meta is the checkpoint sidecar's "split" (plus "dataset" and, for old sidecars,
    "dataset_options"). Rules, in order:
    - split "all": every clip; a warning counts the clips of the model's training speakers
      (training clips, for a random split) when the sidecar stores them.
    - the training dataset and a sidecar that stores the split (split_record): exactly its
      stored speakers of that part (speaker mode) or its stored clip ids (random mode),
      whatever the dataset options now give; clips of speakers the split does not know are
      left out with a warning; a --split-mode other than the stored one is refused.
    - the training dataset, no stored split (an older sidecar): the split is rebuilt from
      mode and seed, which the greedy speaker split makes depend on the corpus options, so
      options other than the training ones are refused (unknown ones: a warning).
    - another dataset: a fresh split (mode or "speaker", seed 42).
    Refusals are BadDataset (one sentence, exit 2 in the CLI).
    """

    if split != "all" and split not in SPLITS:
        raise BadDataset(f"no split '{split}'; accepted: train, val, test, all")
    if split_meta.get("mode") == "loso":  # a cross-validation fold: its speakers per part
        split_meta = {**split_meta, "mode": "speaker", "speakers": {
            part: list(split_meta.get(f"{part}_speakers") or []) for part in SPLITS}}
    same = str(split_meta.get("dataset", "")).lower() == dataset.lower()
    smode = str(split_meta.get("mode") or "speaker")
    speakers = split_meta.get("speakers") if same else None
    ids = split_meta.get("clips") if same else None
    stored = speakers if smode == "speaker" else ids
    if split == "all":
        _warn_training_clips(clips, stored, smode)
        return list(clips)
    if stored:
        if mode is not None and mode != smode:
            raise BadDataset(
                f"the model was trained on a stored {smode} split of '{dataset}'; --split-mode "
                f"{mode} would make another split that holds its training clips; leave "
                "--split-mode out or evaluate every clip with --split all")
        return _stored_part(clips, split, stored, smode,
                            (dataset, split_meta.get("dataset_options")))
    seed = int(split_meta.get("seed", 42)) if same else 42
    use_mode = mode or (smode if same else None) or "speaker"
    if same:
        _check_rebuild(split, split_meta, dataset, dataset_options)
    try:
        return make_split(clips, mode=use_mode, seed=seed)[split]  # type: ignore[arg-type]
    except BadDataset as exc:
        raise BadDataset(f"{exc}; or evaluate every clip with --split all") from None


def _warn_training_clips(clips: list[Clip], stored: dict[str, Any] | None, smode: str) -> None:
    """--split all: warn how many clips are the model's training speakers (or clips)."""
    import warnings

    if not stored:
        return
    train = set(stored.get("train", []))
    n = sum((c.speaker if smode == "speaker" else c.id) in train for c in clips)
    if n:
        what = "speakers" if smode == "speaker" else "clips"
        warnings.warn(f"--split all: {n} of {len(clips)} clips are the model's training "
                      f"{what}; --split test holds only its held-out ones", stacklevel=3)


def _stored_part(clips: list[Clip], split: str, stored: dict[str, Any], smode: str,
                 trained_on: tuple[str, dict[str, Any] | None]) -> list[Clip]:
    """The clips of a stored split's part: its speakers (speaker mode) or its clip ids.
    trained_on: the dataset and the options the split was made with (for the refusal)."""
    import warnings

    dataset, trained_options = trained_on
    known = {x for part in stored.values() for x in part}
    want = set(stored.get(split, []))
    key = (lambda c: c.speaker) if smode == "speaker" else (lambda c: c.id)
    picked = [c for c in clips if key(c) in want]
    unknown = [c for c in clips if key(c) not in known]
    if unknown:
        who = "speakers" if smode == "speaker" else "clip ids"
        warnings.warn(f"{len(unknown)} clips of {who} the model's split does not know are "
                      f"left out of --split {split} (e.g. {unknown[0].id})", stacklevel=3)
    if not picked:
        raise BadDataset(
            f"none of the {len(clips)} clips of '{dataset}' is in the model's stored "
            f"{split} split ({', '.join(sorted(want)[:5]) or 'empty'}); evaluate with its "
            f"training dataset options {_comparable(trained_options)} "
            "or with --split all")
    return picked


def _check_rebuild(split: str, split_meta: dict[str, Any], dataset: str,
                   dataset_options: dict[str, Any] | None) -> None:
    """An older sidecar without stored speakers: a rebuilt split is only the training one
    when the dataset options are the training ones (refused otherwise; unknown: a warning)."""
    import warnings

    trained = split_meta.get("dataset_options")
    if trained is None:
        warnings.warn(f"the model's sidecar stores neither its split's speakers nor its "
                      f"dataset options: the rebuilt {split} split of '{dataset}' may hold "
                      "training speakers", stacklevel=3)
    elif _comparable(trained) != _comparable(dataset_options):
        raise BadDataset(
            f"the model's sidecar stores no split speakers, and its split of '{dataset}' "
            f"was made with options {_comparable(trained)}, not "
            f"{_comparable(dataset_options)}: a rebuilt split would hold training "
            "speakers; use the training options or --split all")


def read_stated_split(path: Path, dataset: str) -> dict[str, Any]:
    """A user's statement of a checkpoint's split (--trained-on-split FILE): JSON in the
    sidecar's "split" shape, {"mode": "speaker", "speakers": {"train": [...], "val": [...],
    "test": [...]}} or {"mode": "random", "clips": {...}}; a bare {"train": [...], ...} is read
    as speakers. Returned as select_split's split_meta for `dataset`. BadDataset naming the
    file when it is missing or has no "train" list."""

    p = Path(path).expanduser()
    if not p.is_file():
        raise BadDataset(f"{p}: no such split file (--trained-on-split takes a JSON file or "
                         "'none')")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadDataset(f"{p}: not a readable JSON split file ({exc})") from None
    if isinstance(data, dict) and "train" in data and not {"speakers", "clips"} & set(data):
        data = {"mode": "speaker", "speakers": data}
    mode = data.get("mode", "speaker") if isinstance(data, dict) else None
    key = "speakers" if mode == "speaker" else "clips"
    parts = data.get(key) if isinstance(data, dict) else None
    if mode not in ("speaker", "random") or not isinstance(parts, dict) or not isinstance(
            parts.get("train"), list):
        raise BadDataset(f"{p}: a split file needs a \"train\" list of {key} (under "
                         f"\"{key}\", mode \"speaker\" or \"random\")")
    return {"mode": mode, key: {k: [str(x) for x in v] for k, v in parts.items()
                                if isinstance(v, list)}, "dataset": dataset}

"""Splits: speaker-independent, stratified, seeded, written and reused."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bsx.datasets.base import Clip
from bsx.datasets.splits import load_or_make_split, make_split
from bsx.errors import BadDataset

LABELS = ("angry", "disgust", "fear", "happy", "neutral", "sad")


def fake(n_speakers: int = 20, per_label: int = 5, corpus: str = "crema-d") -> list[Clip]:
    return [
        Clip(Path(f"/x/{1001 + s}_{lab}_{k}.wav"), lab, str(1001 + s), corpus)
        for s in range(n_speakers) for lab in LABELS for k in range(per_label)
    ]


def test_speaker_split_no_leakage_and_stratified() -> None:
    clips = fake()
    split = make_split(clips)
    assert set(split) == {"train", "val", "test"}
    ids = [c.id for part in split.values() for c in part]
    assert sorted(ids) == sorted(c.id for c in clips)  # every clip exactly once
    speakers = {k: {c.speaker for c in v} for k, v in split.items()}
    assert not speakers["train"] & speakers["val"]
    assert not speakers["train"] & speakers["test"]
    assert not speakers["val"] & speakers["test"]
    # 20 equal speakers at 80/10/10: 16 / 2 / 2 speakers, every label in every split
    assert [len(speakers[k]) for k in ("train", "val", "test")] == [16, 2, 2]
    for part in split.values():
        counts = Counter(c.label for c in part)
        assert set(counts) == set(LABELS) and len(set(counts.values())) == 1
    # input order is kept within a split
    order = {c.id: i for i, c in enumerate(clips)}
    assert all([order[c.id] for c in p] == sorted(order[c.id] for c in p) for p in split.values())


def test_speaker_split_seeded() -> None:
    clips = fake()
    a = make_split(clips, seed=1)
    b = make_split(list(clips), seed=1)
    c = make_split(clips, seed=2)
    ids = {k: [x.id for x in v] for k, v in a.items()}
    assert ids == {k: [x.id for x in v] for k, v in b.items()}
    held_out = [{x.speaker for x in split[k]} for split in (a, c) for k in ("val", "test")]
    assert held_out[:2] != held_out[2:]


def test_speaker_split_three_speakers_and_too_few() -> None:
    split = make_split(fake(n_speakers=3))
    assert sorted(len({c.speaker for c in v}) for v in split.values()) == [1, 1, 1]
    with pytest.raises(BadDataset, match=r"at least 3 speakers, found 2 .*use split mode 'random'"):
        make_split(fake(n_speakers=2))


def test_random_split_is_stratified_80_10_10() -> None:
    clips = fake(n_speakers=2, per_label=5)  # 10 clips per label, like TESS's 2 speakers
    split = make_split(clips, mode="random", seed=42)
    for name, want in (("train", 8), ("val", 1), ("test", 1)):
        assert Counter(c.label for c in split[name]) == dict.fromkeys(LABELS, want)
    again = make_split(clips, mode="random", seed=42)
    assert [c.id for c in again["test"]] == [c.id for c in split["test"]]


def test_bad_inputs() -> None:
    clips = fake(n_speakers=3, per_label=1)
    with pytest.raises(BadDataset, match="no split mode 'speakers'"):
        make_split(clips, mode="speakers")  # type: ignore[arg-type]
    with pytest.raises(BadDataset, match="summing to 1"):
        make_split(clips, fractions=(0.8, 0.1, 0.2))
    dup = clips + [Clip(Path("/other") / clips[0].path.name, "sad", "9", "crema-d")]
    with pytest.raises(BadDataset, match="two clips share the id"):
        make_split(dup, mode="random")
    with pytest.raises(BadDataset, match="empty"):
        make_split([])


def test_load_or_make_split_writes_and_reuses(tmp_path: Path) -> None:
    clips = fake(n_speakers=5, per_label=2)
    path = tmp_path / "splits" / "crema-d.json"
    first = load_or_make_split(clips, path, seed=7)
    blob = json.loads(path.read_text())
    assert blob["mode"] == "speaker" and blob["seed"] == 7 and blob["fractions"] == [0.8, 0.1, 0.1]
    assert blob["assignments"] == {c.id: k for k, v in first.items() for c in v}
    # Edit the file: a reused split follows the file, not a fresh computation.
    moved = first["train"][0].id
    blob["assignments"][moved] = "test"
    path.write_text(json.dumps(blob))
    again = load_or_make_split(clips, path, seed=7)
    assert moved in {c.id for c in again["test"]}
    # Fewer clips (one skipped as unreadable): still the same file.
    fewer = load_or_make_split(clips[1:], path, seed=7)
    assert {c.id for c in fewer["test"]} == {c.id for c in again["test"]} - {clips[0].id}
    # Another seed: a fresh split is made and written.
    load_or_make_split(clips, path, seed=8)
    assert json.loads(path.read_text())["seed"] == 8
    path.write_text("{not json")
    with pytest.raises(BadDataset, match=r"crema-d.json: not a bsx split file"):
        load_or_make_split(clips, path, seed=8)

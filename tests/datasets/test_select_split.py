"""The split a model was trained on travels in its sidecar, and evaluation uses exactly it.

The greedy speaker split moves with the corpus options (fewer clips per speaker reorders the
speakers), so rebuilding it on other options put training speakers into "test". A checkpoint
stores its split's speakers; select_split uses them, refuses what cannot apply and warns
where clips are left out or leak.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pydantic import BaseModel, ConfigDict

from bsx.audio import Frontend
from bsx.datasets.base import Clip
from bsx.datasets.splits import make_split, select_split, split_record
from bsx.errors import BadDataset
from bsx.plugins import Spec, get_registry

LABELS = ("pure", "rich", "noisy")
SMALL = Frontend(name="test-small", n_samples=9600, n_fft=512, win_length=400, hop_length=160,
                 n_mels=40)


def hand_clips(per_speaker: dict[str, int]) -> list[Clip]:
    return [Clip(path=Path(f"{s}_{lab}_{k}.wav"), label=lab, speaker=s, corpus="hand")
            for s, n in per_speaker.items() for lab in LABELS for k in range(n)]


TRAINED = {"s0": 3, "s1": 3, "s2": 3, "s3": 3, "s4": 2, "s5": 1}   # training options
OTHER = {"s0": 1, "s1": 3, "s2": 3, "s3": 2, "s4": 3, "s5": 3, "s6": 3}  # other options


def meta_of(split: dict[str, list[Clip]], mode: str = "speaker") -> dict:
    return {"dataset": "hand", **split_record(split, mode=mode, seed=42,
                                              dataset_options={"n": "trained"})}


def test_other_options_use_exactly_the_stored_test_speakers() -> None:
    trained = make_split(hand_clips(TRAINED), mode="speaker", seed=42)
    meta = meta_of(trained)
    test_speakers = {c.speaker for c in trained["test"]}
    train_speakers = {c.speaker for c in trained["train"]}
    other = hand_clips(OTHER)
    rebuilt = {c.speaker for c in make_split(other, mode="speaker", seed=42)["test"]}
    assert rebuilt & train_speakers  # the leak this guards against is real on these options
    with pytest.warns(UserWarning, match="9 clips of speakers the model's split does not"):
        got = select_split(other, "test", meta, dataset="hand", dataset_options={"n": 1})
    assert {c.speaker for c in got} == test_speakers
    assert [c.id for c in got] == [c.id for c in other if c.speaker in test_speakers]
    assert not {c.speaker for c in got} & train_speakers


def test_refusals_and_warnings() -> None:
    trained = make_split(hand_clips(TRAINED), mode="speaker", seed=42)
    meta = meta_of(trained)
    clips = hand_clips(TRAINED)
    with pytest.raises(BadDataset, match="stored speaker split of 'hand'; --split-mode random"):
        select_split(clips, "test", meta, dataset="hand", mode="random")
    n_train = len(trained["train"])
    with pytest.warns(UserWarning, match=f"{n_train} of {len(clips)} clips are the model's "
                                         "training speakers"):
        assert len(select_split(clips, "all", meta, dataset="hand")) == len(clips)
    only_train = [c for c in clips if c in trained["train"]]
    with pytest.raises(BadDataset, match="none of the .* is in the model's stored test split"):
        select_split(only_train, "test", meta, dataset="hand")
    # an older sidecar (no speakers): rebuilt only on the training options
    old = {"dataset": "hand", "mode": "speaker", "seed": 42, "dataset_options": {"n": 3}}
    with pytest.raises(BadDataset, match="stores no split speakers.*'n': 3.*'n': 1"):
        select_split(clips, "test", old, dataset="hand", dataset_options={"n": 1})
    same = select_split(clips, "test", old, dataset="hand", dataset_options={"n": 3,
                                                                            "data_root": "x"})
    assert same == trained["test"]
    # another dataset: a fresh split of it, nothing stored applies
    assert select_split(clips, "test", meta, dataset="other") == trained["test"]


def test_random_split_uses_the_stored_clip_ids() -> None:
    clips = hand_clips(TRAINED)
    trained = make_split(clips, mode="random", seed=7)
    meta = meta_of(trained, mode="random")
    assert "clips" in meta and "speakers" in meta
    got = select_split(list(reversed(clips)), "test", meta, dataset="hand")
    assert sorted(c.id for c in got) == sorted(c.id for c in trained["test"])


# ---------------------------------------------------------------- end to end


class TonesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layout: str = "trained"


def _sound(label: str, f0: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(9600) / 16000
    if label == "pure":
        y = np.sin(2 * np.pi * f0 * t)
    elif label == "rich":
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    else:
        y = rng.standard_normal(t.size)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


class Tones:
    def __init__(self, root: Path, layout: str) -> None:
        self.name, self.labels, self.root = "tones-split", LABELS, root
        self.layout = TRAINED if layout == "trained" else OTHER

    def clips(self) -> list[Clip]:
        rng = np.random.default_rng(0)
        out = []
        for spk, n in self.layout.items():
            for lab in LABELS:
                for k in range(n):
                    path = self.root / f"{spk}_{lab}_{k}.wav"
                    if not path.exists():
                        sf.write(path, _sound(lab, 150.0 * (1 + 0.2 * int(spk[1:])), rng), 16000)
                    out.append(Clip(path=path, label=lab, speaker=spk, corpus="tones-split"))
        return out


@pytest.fixture
def tones(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("tones-split")
    reg = get_registry()
    reg.add(Spec(name="tones-split", kind="dataset", description="test tones",
                 factory=lambda options: Tones(root, options.layout), options=TonesOptions))
    yield "tones-split"
    reg.specs["dataset"].pop("tones-split")


def test_trained_checkpoint_evaluated_with_other_options(tones: str, tmp_path: Path) -> None:
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.plan import select_clips, split_meta
    from bsx.models.checkpoint import load_model
    from bsx.models.recipe import TrainConfig
    from bsx.models.train import Corpus, train_dataset
    from bsx.plugins import build

    cfg = TrainConfig(epochs=1, batch_size=8, frontend=SMALL, device="cpu")
    corpus = Corpus(tones, workers=1, cache=tmp_path / "cache")
    run = train_dataset(corpus, cfg, out=tmp_path / "run", progress=False)
    side = json.loads(run.checkpoint.with_suffix(".json").read_text())
    stored = side["split"]["speakers"]
    assert set(stored) == {"train", "val", "test"} and side["split"]["dataset_options"] == {}
    loaded = load_model(run.checkpoint)
    cfg = EvalConfig(dataset=tones, dataset_options={"layout": "other"}, split="test")
    other = build("dataset", tones, options={"layout": "other"}).clips()
    with pytest.warns(UserWarning, match="does not know"):  # s6 is new
        got = select_clips(other, cfg, loaded.labels, split_meta(loaded.meta))
    assert sorted({c.speaker for c in got}) == stored["test"]


def test_packaged_default_model_stores_its_split() -> None:
    """Derived with make_split(mode speaker, seed 42) on the synth corpus's default options,
    and checked against the stored counts (489 / 74 / 37) and test / val accuracies."""
    from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path

    split = json.loads(sidecar_path(DEFAULT_MODEL_FILE).read_text())["split"]
    assert split["speakers"]["test"] == ["s16"] and split["speakers"]["val"] == ["s12", "s14"]
    assert len(split["speakers"]["train"]) == 13 and split["dataset_options"] == {}
    everyone = [s for part in split["speakers"].values() for s in part]
    assert len(everyone) == len(set(everyone)) == 16


def test_a_loso_fold_selects_its_own_test_speaker() -> None:
    from bsx.datasets.splits import select_split

    clips = [Clip(path=Path(f"{s}a0{i}Wa.wav"), label="angry", speaker=s, corpus="emodb")
             for s in ("03", "08", "09") for i in range(2)]
    meta = {"dataset": "emodb", "mode": "loso", "test_speakers": ["08"],
            "val_speakers": ["09"], "train_speakers": ["03"]}
    picked = select_split(clips, "test", meta, dataset="emodb")
    assert {c.speaker for c in picked} == {"08"} and len(picked) == 2
    assert {c.speaker for c in select_split(clips, "train", meta, dataset="emodb")} == {"03"}

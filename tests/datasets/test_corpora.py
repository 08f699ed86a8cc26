"""Corpus plugins on tiny fake trees named with each corpus's real convention."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bsx.datasets.base import EMOTIONS
from bsx.errors import BadDataset, BadOptions
from bsx.plugins import build, lookup

SR = 16000


def tone(path: Path, freq: float = 220.0, seconds: float = 0.05) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(SR * seconds)) / SR
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def tree(root: Path, names: list[str]) -> Path:
    for n in names:
        tone(root / n)
    return root


def corpus(name: str, root: Path, **opts: object):  # type: ignore[no-untyped-def]
    return build("dataset", name, options={"data_root": root, **opts})


def test_registered_with_labels_in_shared_vocabulary() -> None:
    from bsx.datasets import corpora

    for name, cls in [("tess", corpora.Tess), ("crema-d", corpora.CremaD),
                      ("ravdess", corpora.Ravdess), ("savee", corpora.Savee),
                      ("emodb", corpora.EmoDb)]:
        assert lookup("dataset", name).name == name
        assert set(cls.labels) <= set(EMOTIONS)
    assert "calm" in corpora.Ravdess.labels and "calm" not in corpora.Tess.labels


def test_tess(tmp_path: Path) -> None:
    root = tree(tmp_path / "TESS Toronto emotional speech set data", [
        "OAF_angry/OAF_back_angry.wav", "OAF_Pleasant_surprise/OAF_back_ps.wav",
        "YAF_sad/YAF_dog_sad.wav", "OAF_neutral/OA_bite_neutral.wav",
        "YAF_fear/YAF_bite_fear.wav",
    ])
    ds = corpus("tess", tmp_path)
    clips = ds.clips()
    got = [(c.path.name, c.label, c.speaker, c.meta["sentence"]) for c in clips]
    assert got == [  # sorted by path under the root: "OAF_P..." before "OAF_a..."
        ("OAF_back_ps.wav", "surprise", "OAF", "back"),
        ("OAF_back_angry.wav", "angry", "OAF", "back"),
        ("OA_bite_neutral.wav", "neutral", "OAF", "bite"),
        ("YAF_bite_fear.wav", "fear", "YAF", "bite"),
        ("YAF_dog_sad.wav", "sad", "YAF", "dog"),
    ]
    assert {c.meta["sex"] for c in clips} == {"F"} and root.is_dir()
    assert all(c.corpus == "tess" and c.id == f"tess:{c.path.name}" for c in clips)


def test_crema_d_with_demographics(tmp_path: Path) -> None:
    tree(tmp_path / "AudioWAV", [
        "1001_DFA_ANG_XX.wav", "1001_IEO_HAP_HI.wav", "1002_TIE_SAD_LO.wav", "1091_WSI_NEU_XX.wav",
    ])
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
    )
    clips = corpus("crema-d", tmp_path).clips()
    got = [(c.label, c.speaker, c.meta.get("sex"), c.meta["sentence"], c.meta["intensity"])
           for c in clips]
    assert got == [
        ("angry", "1001", "M", "DFA", "unspecified"),
        ("happy", "1001", "M", "IEO", "high"),
        ("sad", "1002", "F", "TIE", "low"),
        ("neutral", "1091", None, "WSI", "unspecified"),  # not in the CSV: sex left out
    ]


def test_ravdess_speech_only(tmp_path: Path) -> None:
    ds = corpus("ravdess", tree(tmp_path, [
        "Actor_01/03-01-05-01-02-01-01.wav",   # angry, normal, dogs, actor 1 (male)
        "Actor_12/03-01-02-02-01-02-12.wav",   # calm, strong, kids, actor 12 (female)
        "Actor_12/03-02-05-01-01-01-12.wav",   # song: ignored, not an error
    ]))
    clips = ds.clips()
    got = [(c.label, c.speaker, c.meta["sex"], c.meta["intensity"], c.meta["sentence"][:4])
           for c in clips]
    assert got == [("angry", "01", "M", "normal", "Dogs"), ("calm", "12", "F", "strong", "Kids")]
    assert ds.skipped == [] and len(ds.ignored) == 1


def test_savee_both_layouts_unique_ids(tmp_path: Path) -> None:
    tree(tmp_path / "AudioData", ["DC/a01.wav", "JE/a01.wav", "JK/sa03.wav", "KL/su15.wav"])
    tree(tmp_path / "ALL", ["DC_n30.wav"])
    clips = corpus("savee", tmp_path).clips()
    got = sorted((c.speaker, c.label, c.meta["sentence"]) for c in clips)
    assert got == [("DC", "angry", "a01"), ("DC", "neutral", "n30"), ("JE", "angry", "a01"),
                   ("JK", "sad", "sa03"), ("KL", "surprise", "su15")]
    assert len({c.id for c in clips}) == 5  # a01.wav twice, ids differ


def test_emodb_fake_tree_and_boredom(tmp_path: Path) -> None:
    ds = corpus("emodb", tree(tmp_path / "wav", ["03a01Fa.wav", "16b10Td.wav", "08a02La.wav"]))
    clips = ds.clips()
    assert [(c.label, c.speaker, c.meta["sex"], c.meta["sentence"]) for c in clips] == [
        ("happy", "03", "M", "a01"), ("boredom", "08", "F", "a02"), ("sad", "16", "F", "b10")]
    assert ds.ignored == []  # boredom is an EmoDB class (7 classes, as published)
    assert "boredom" in ds.labels and len(ds.labels) == 7


def test_emodb_real_clips() -> None:
    real = os.environ.get("BSX_REAL_SPEECH")
    if not real:
        pytest.skip("BSX_REAL_SPEECH is unset: no real EmoDB clips")
    clips = corpus("emodb", Path(real) / "emodb").clips()
    assert len(clips) == 12
    by_name = {c.path.name: c for c in clips}
    assert by_name["03a01Wa.wav"].label == "angry" and by_name["03a01Wa.wav"].meta["sex"] == "M"
    assert by_name["09b10Aa.wav"].label == "fear" and by_name["09b10Aa.wav"].speaker == "09"
    assert by_name["09a01Ea.wav"].label == "disgust" and by_name["09a01Ea.wav"].meta["sex"] == "F"
    assert {c.speaker for c in clips} == {"03", "09"}


def test_emotion_subset_and_unknown(tmp_path: Path) -> None:
    root = tree(tmp_path, ["03a01Fa.wav", "03a01Wa.wav", "03a02Ta.wav"])
    assert [c.label for c in corpus("emodb", root, emotions="sad, angry").clips()] == [
        "angry", "sad"]
    with pytest.raises(BadDataset, match="no emotion 'angri'.*did you mean 'angry'"):
        corpus("emodb", root, emotions=["angri"])
    with pytest.raises(BadDataset, match="no emotion 'calm'"):
        corpus("emodb", root, emotions=["calm"])


def test_missing_and_empty_root(tmp_path: Path) -> None:
    with pytest.raises(BadDataset, match=r"nope: no such folder \(data root of dataset tess\)"):
        corpus("tess", tmp_path / "nope").clips()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("hi")
    with pytest.raises(BadDataset, match="empty: no audio files found for dataset savee"):
        corpus("savee", tmp_path / "empty").clips()
    with pytest.raises(BadOptions, match="data_root"):
        build("dataset", "tess", options={})


def test_bad_names_skipped_and_listed(tmp_path: Path) -> None:
    root = tree(tmp_path, ["Actor_01/03-01-05-01-02-01-01.wav", "Actor_01/03-01-09-01-02-01-01.wav",
                           "Actor_01/take2.wav"])
    ds = corpus("ravdess", root)
    assert [c.path.name for c in ds.clips()] == ["03-01-05-01-02-01-01.wav"]
    reasons = dict((p.name, r) for p, r in ds.skipped)
    assert set(reasons) == {"03-01-09-01-02-01-01.wav", "take2.wav"}
    assert "unknown RAVDESS emotion code '09'" in reasons["03-01-09-01-02-01-01.wav"]
    assert str(root / "Actor_01" / "take2.wav") in reasons["take2.wav"]


def test_all_names_bad_is_one_clear_error(tmp_path: Path) -> None:
    root = tree(tmp_path, ["angry_1.wav", "sad_2.wav"])
    with pytest.raises(BadDataset, match=r"no file under .* follows the crema-d naming "
                                         r"convention: .*angry_1.wav.*\(and 1 more\)"):
        corpus("crema-d", root).clips()

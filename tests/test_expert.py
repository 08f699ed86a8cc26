"""The packaged expert table: every cell sourced, directions as /shared/expert-cues.md."""

from __future__ import annotations

import pytest

from bsx.expert import CUE_MAP, BadExpertTable, load_expert


def test_packaged_table_matches_the_theory() -> None:
    t = load_expert()
    assert set(t.emotions) == {"angry", "happy", "sad", "fear", "disgust", "surprise",
                               "boredom", "calm"}
    assert len(t.cells) == 8 * len(CUE_MAP)
    assert all(src for _, src, _ in t.cells.values())
    assert t.expected("anger", "Pitch_lvl").expected == 1          # alias of angry
    assert t.expected("sadness", "Loudness").expected == -1
    happy = {x.cue: x for x in t.expectations("happy")}
    assert happy["Freq_var"].expected == -1 and happy["Amp_var"].expected == -1
    assert not happy["Breathiness"].definite                        # weak-up
    assert t.expected("fear", "Loudness").direction == "mixed"
    eq = t.expected("disgust", "Pitch_var")
    assert eq.direction == "equal" and eq.definite and eq.expected == 0
    assert t.expectations("neutral") == []


def test_boredom_is_low_arousal_with_its_sources() -> None:
    """Banse & Scherer 1996, Scherer 2003: quieter, lower and flatter F0; HF energy only weakly
    lower; jitter/shimmer and HNR not reported (no evidence either way)."""
    t = load_expert()
    bored = {x.cue: x for x in t.expectations("bored")}             # alias of boredom
    assert {c: bored[c].expected for c in ("Loudness", "Pitch_lvl", "Pitch_var")} == {
        "Loudness": -1, "Pitch_lvl": -1, "Pitch_var": -1}
    assert all(bored[c].definite for c in ("Loudness", "Pitch_lvl", "Pitch_var"))
    assert not any(bored[c].definite for c in ("Shrillness", "Freq_var", "Amp_var",
                                               "Breathiness"))
    assert all("Banse & Scherer 1996" in x.source or "Scherer 2003" in x.source
               for x in bored.values())


def test_calm_is_low_arousal_after_tenderness_with_its_sources() -> None:
    """Juslin & Laukka 2003 Table 11, tenderness (the low-arousal positive state standing in
    for calm): quieter, lower and flatter F0, less HF energy; microstructural regularity is
    weak evidence and HNR not reported, so neither counts."""
    t = load_expert()
    calm = {x.cue: x for x in t.expectations("calm")}
    down = ("Loudness", "Pitch_lvl", "Pitch_var", "Shrillness")
    assert {c: (calm[c].expected, calm[c].definite) for c in down} == dict.fromkeys(
        down, (-1, True))
    assert not any(calm[c].definite for c in ("Freq_var", "Amp_var", "Breathiness"))
    assert all("Juslin & Laukka 2003" in x.source and "tenderness" in x.source
               for x in calm.values())
    assert all(t.cells[("calm", cue)][2] for cue in CUE_MAP)  # every cell says why


def test_every_builtin_corpus_class_has_expert_rows() -> None:
    """Each class of every built-in corpus but the neutral reference has a row per theory
    cue, and falls in one arousal group or is named as left out (disgust)."""
    from bsx.datasets.corpora import CremaD, EmoDb, Ravdess, Savee, Tess
    from bsx.datasets.synth_options import SYNTH_EMOTIONS
    from bsx.scoring.claims import AROUSAL

    t = load_expert()
    grouped = {e for g in AROUSAL.values() for e in g}
    for labels in (Tess.labels, CremaD.labels, Ravdess.labels, Savee.labels, EmoDb.labels,
                   SYNTH_EMOTIONS):
        for emo in labels:
            if emo == "neutral":
                continue
            assert all((emo, cue) in t.cells for cue in CUE_MAP), emo
            assert emo in grouped or emo == "disgust", emo


def test_user_table_overrides(tmp_path) -> None:
    f = tmp_path / "mine.csv"
    f.write_text("emotion,theory_cue,direction,source\nsad,loudness,up,my corpus\n")
    t = load_expert(f)
    assert t.expected("sad", "Loudness").expected == 1 and t.emotions == ("sad",)


@pytest.mark.parametrize("text, match", [
    ("emotion,direction,source\nsad,up,x\n", "lacks column"),
    ("emotion,theory_cue,direction,source\nsad,loudness,louder,x\n", "unknown direction"),
    ("emotion,theory_cue,direction,source\nsad,volume,up,x\n", "unknown theory_cue"),
])
def test_bad_tables_name_the_problem(tmp_path, text: str, match: str) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(BadExpertTable, match=match):
        load_expert(f)
    with pytest.raises(BadExpertTable, match="no such"):
        load_expert(tmp_path / "missing.csv")

"""The three claims against synthetic cue tracks with a planted cue of known size and place."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bsx.cues.base import CueTracks
from bsx.cues.profile import cue_profile, profile_rows
from bsx.expert import load_expert
from bsx.report.posthoc import agreement_tables
from bsx.scoring.claims import (
    AROUSAL,
    claims_summary,
    clip_scores,
    clip_seed,
    merge_random_rows,
    paired_random_effect,
    random_region_stats,
    random_windows,
)

DUR = 2.0
SPAN = (0.8, 1.1)       # the planted span, seconds
INSIDE = [SPAN]         # windows exactly on it
OUTSIDE = [(0.1, 0.4)]  # windows of the same length elsewhere


def tracks(shift: float, seed: int, span: tuple[float, float] = SPAN) -> CueTracks:
    """Loudness ~ N(0, 1) per 10 ms frame, plus `shift` inside `span`: Cohen's d of the span
    against the rest is ~shift."""
    rng = np.random.default_rng(seed)
    n = int(DUR / 0.01) + 1
    loud = rng.normal(0.0, 1.0, n)
    loud[int(span[0] / 0.01):int(span[1] / 0.01)] += shift
    return CueTracks(values={"Loudness": loud}, voiced=np.ones(n, bool), extractor="toy")


def test_random_windows_match_count_and_lengths_inside_the_content() -> None:
    wins = [(0.1, 0.25), (0.5, 0.6), (1.7, 2.3)]  # the last one runs past the content
    for seed in range(50):
        rnd = random_windows(wins, 2.0, seed)
        assert sorted(round(b - a, 9) for a, b in rnd) == sorted([0.15, 0.1, 0.3])
        assert all(0.0 <= a < b <= 2.0 for a, b in rnd)
        assert all(b1 <= a2 + 1e-12 for (_, b1), (a2, _) in zip(rnd, rnd[1:], strict=False))
    assert random_windows(wins, 2.0, 7) == random_windows(wins, 2.0, 7)
    assert random_windows(wins, 2.0, 7) != random_windows(wins, 2.0, 8)
    # one window of 0.2 s in 1 s of content: its start is uniform on [0, 0.8]
    starts = np.array([random_windows([(0.0, 0.2)], 1.0, s)[0][0] for s in range(2000)])
    assert starts.min() >= 0 and starts.max() <= 0.8
    assert starts.mean() == pytest.approx(0.4, abs=0.02)
    assert np.histogram(starts, bins=4, range=(0, 0.8))[0].min() > 400
    assert clip_seed(0, "a") == clip_seed(0, "a") != clip_seed(1, "a")


def test_paired_effect_planted_cue_inside_versus_outside_the_windows() -> None:
    expert = load_expert()
    inside, outside = [], []
    for seed in range(20):
        t = tracks(1.5, seed)
        inside.append(paired_random_effect(t, INSIDE, DUR, "angry", expert, seed))
        outside.append(paired_random_effect(t, OUTSIDE, DUR, "angry", expert, seed))
    sal_in, rnd_in = np.array(inside).T
    sal_out, rnd_out = np.array(outside).T
    assert sal_in.mean() == pytest.approx(1.5, abs=0.25)   # the planted d, angry = louder
    assert sal_out.mean() < -0.1                            # the loud span is in the rest
    assert abs(rnd_in.mean()) < 0.4 and np.allclose(rnd_in, rnd_out)  # same lengths, seeds
    # sad expects quieter: the same loud span counts against it
    t = tracks(1.5, 0)
    assert paired_random_effect(t, INSIDE, DUR, "sad", expert, 0)[0] < -1.0


def run_tables(spec: dict[str, tuple[list[tuple[float, float]], float]], n_speakers: int = 6,
               per: int = 4, emotions: tuple[str, ...] = ("angry",),
               correct: dict[str, bool] | None = None,
               shift_of: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """profiles / clips tables as an evaluate run writes them, random region included.

    spec: method -> (windows, planted shift); shift_of overrides the shift per emotion."""
    prof_rows, clip_rows = [], []
    for s in range(n_speakers):
        for j in range(per):
            emo = emotions[j % len(emotions)]
            cid = f"s{s}-c{j}"
            ok = (correct or {}).get(emo, True)
            clip_rows.append({"clip_id": cid, "path": cid, "label": emo, "speaker": f"s{s}",
                              "pred": emo if ok else "x", "target": emo, "correct": ok})
            for method, (wins, shift) in spec.items():
                t = tracks((shift_of or {}).get(emo, shift), 100 * s + j)
                rows = merge_random_rows(
                    profile_rows(cue_profile(t, wins, content=(0.0, DUR))),
                    random_region_stats(t, wins, DUR, clip_seed(0, cid)))
                prof_rows += [{"clip_id": cid, "method": method, "cues": "toy", "label": emo,
                               "target": emo, "speaker": f"s{s}", **r} for r in rows]
    return pd.DataFrame(prof_rows), pd.DataFrame(clip_rows)


def claim(rows: list[dict], letter: str, method: str) -> dict:
    return next(r for r in rows if r["claim"] == letter and r["method"] == method)


def test_claim_a_salient_versus_matched_random_windows() -> None:
    profiles, clips = run_tables({"inside": (INSIDE, 1.5), "outside": (OUTSIDE, 1.5)})
    agree, _ = agreement_tables(profiles, clips, load_expert())
    # the table route gives the same paired values as the direct one
    scores = clip_scores(agree).set_index(["clip_id", "method"])
    t = tracks(1.5, 100 * 2 + 1)
    direct = paired_random_effect(t, INSIDE, DUR, "angry", load_expert(), clip_seed(0, "s2-c1"))
    got = scores.loc[("s2-c1", "inside"), ["score", "score_random"]].to_numpy(dtype=float)
    assert got == pytest.approx(direct)
    rows = claims_summary(agree)
    a_in, a_out = claim(rows, "a", "inside"), claim(rows, "a", "outside")
    assert set(a_in) == {"claim", "title", "method", "cues", "effect", "effect_name", "ci_low",
                         "ci_high", "p", "p_fdr", "n", "n_clusters", "status", "reason",
                         "verdict"}
    assert (a_in["n"], a_in["n_clusters"]) == (24, 6)
    assert 1.0 < a_in["effect"] < 1.7 and a_in["ci_low"] > 0.8
    assert a_in["p"] == pytest.approx(2 / 2**6)  # every speaker positive: the exact minimum
    assert a_in["p_fdr"] < 0.05 and a_in["verdict"].startswith("inside: beats random")
    assert a_in["status"] == "better" and a_in["reason"] == ""
    assert a_out["effect"] < 0 and a_out["status"] in ("worse", "not shown")
    assert "beats random" not in a_out["verdict"]


def test_claim_a_without_a_random_region_is_not_testable() -> None:
    profiles, clips = run_tables({"inside": (INSIDE, 1.5)})
    profiles = profiles.drop(columns=[c for c in profiles if c.startswith("random")])
    agree, _ = agreement_tables(profiles, clips, load_expert())
    a = claim(claims_summary(agree), "a", "inside")
    assert math.isnan(a["effect"]) and "no random-window region" in a["verdict"]


def test_claim_b_high_versus_low_arousal() -> None:
    assert "angry" in AROUSAL["high"] and "sad" in AROUSAL["low"]
    # angry clips: loudness +1.5 SD in the windows; sad clips: -0.5 SD (the expected way, but
    # weaker): signed effects 1.5 vs 0.5, a difference of ~1
    profiles, clips = run_tables({"m": (INSIDE, 0.0)}, emotions=("angry", "sad"),
                                 shift_of={"angry": 1.5, "sad": -0.5})
    agree, _ = agreement_tables(profiles, clips, load_expert())
    b = claim(claims_summary(agree), "b", "m")
    assert b["effect"] == pytest.approx(1.0, abs=0.3) and b["n_clusters"] == 6
    assert b["p_fdr"] < 0.05 and "supported" in b["verdict"]
    # equal planted strength: no difference
    profiles, clips = run_tables({"m": (INSIDE, 0.0)}, emotions=("angry", "sad"),
                                 shift_of={"angry": 1.0, "sad": -1.0})
    agree, _ = agreement_tables(profiles, clips, load_expert())
    b = claim(claims_summary(agree), "b", "m")
    assert abs(b["effect"]) < 0.3 and b["ci_low"] < 0 < b["ci_high"]
    assert "not shown" in b["verdict"]


def test_claim_c_correct_versus_wrong() -> None:
    # correct (angry) clips carry the cue in their windows; wrong (happy) ones do not
    profiles, clips = run_tables({"m": (INSIDE, 0.0)}, emotions=("angry", "happy"),
                                 correct={"happy": False},
                                 shift_of={"angry": 1.5, "happy": 0.0})
    agree, _ = agreement_tables(profiles, clips, load_expert())
    c = claim(claims_summary(agree), "c", "m")
    assert c["effect"] == pytest.approx(1.5, abs=0.3)
    assert c["p_fdr"] < 0.05 and "supported" in c["verdict"]
    # all correct: not testable
    profiles, clips = run_tables({"m": (INSIDE, 1.0)})
    agree, _ = agreement_tables(profiles, clips, load_expert())
    c = claim(claims_summary(agree), "c", "m")
    assert math.isnan(c["effect"]) and c["status"] == "untestable"
    assert "cannot be tested here (needs clips of both groups; 24 correct and 0" in c["verdict"]


def test_too_few_speakers_are_named_in_the_verdict() -> None:
    profiles, clips = run_tables({"inside": (INSIDE, 1.5)}, n_speakers=3, per=6)
    agree, _ = agreement_tables(profiles, clips, load_expert())
    a = claim(claims_summary(agree), "a", "inside")
    assert a["p"] == pytest.approx(2 / 2**3) and a["ci_low"] > 0.5
    # 3 speakers cannot reach p < 0.05: untestable, never "does not beat random"
    assert a["status"] == "untestable" and "beat" not in a["verdict"]
    assert ("cannot be tested here (3 speaker(s); a test across speakers needs at least 6"
            in a["verdict"])
    assert f"within these speakers the effect is {a['effect']:+.3f} SD" in a["verdict"]


@pytest.mark.slow
def test_claim_a_on_synth_speech_planted_word_versus_windows_outside_it() -> None:
    """Real eGeMAPS tracks of the synth corpus: windows on the word whose cues were planted
    beat matched random windows; windows of the same length before the planted slot do not."""
    from bsx.audio import load_audio
    from bsx.plugins import build

    clips = [c for c in build("dataset", "synth", options={"per_class": 6}).clips()
             if c.label != "neutral"]
    ext = build("cue", "egemaps")
    prof_rows, clip_rows = [], []
    for c in clips:
        t = ext.extract(load_audio(c.path, 16000)[0], 16000)
        dur = t.n_frames * t.frame_s
        a, b = (float(x) for x in c.meta["word_span"])
        slot = float(c.meta["spans"][0][0])
        assert 0.05 + (b - a) <= slot  # room for an outside window before the slot
        clip_rows.append({"clip_id": c.id, "path": str(c.path), "label": c.label,
                          "speaker": c.speaker, "pred": c.label, "target": c.label,
                          "correct": True})
        for method, wins in (("planted", [(a, b)]), ("outside", [(0.05, 0.05 + b - a)])):
            prof = cue_profile(t, wins, content=(0.0, dur))
            rows = merge_random_rows(profile_rows(prof), random_region_stats(
                t, wins, dur, clip_seed(0, c.id), voiced_only=prof.voiced_only))
            prof_rows += [{"clip_id": c.id, "method": method, "cues": "egemaps", **r}
                          for r in rows]
    agree, _ = agreement_tables(pd.DataFrame(prof_rows), pd.DataFrame(clip_rows),
                                load_expert())
    rows = claims_summary(agree)
    planted, outside = claim(rows, "a", "planted"), claim(rows, "a", "outside")
    assert planted["n_clusters"] >= 10
    assert planted["effect"] > 0.2 and planted["p_fdr"] < 0.05, planted
    assert planted["verdict"].startswith("planted: beats random")
    assert outside["effect"] < 0 and "beats random" not in outside["verdict"]


def test_one_clip_gives_rows_not_an_error() -> None:
    profiles, clips = run_tables({"m": (INSIDE, 1.0)}, n_speakers=1, per=1)
    agree, _ = agreement_tables(profiles, clips, load_expert())
    rows = claims_summary(agree)
    assert [r["claim"] for r in rows] == ["a", "b", "c"]
    assert all(isinstance(r["verdict"], str) for r in rows)


def test_claim_b_names_speakers_without_both_groups() -> None:
    # both arousal groups are present, but every speaker holds one group only
    profiles, clips = run_tables({"m": (INSIDE, 0.0)}, emotions=("angry",),
                                 shift_of={"angry": 1.5})
    sad_p, sad_c = run_tables({"m": (INSIDE, 0.0)}, emotions=("sad",), shift_of={"sad": -0.5})
    rename = {f"s{s}": f"t{s}" for s in range(6)}
    for df in (sad_p, sad_c):
        df["speaker"] = df["speaker"].map(rename)
        df["clip_id"] = "sad-" + df["clip_id"]
    agree, _ = agreement_tables(pd.concat([profiles, sad_p]), pd.concat([clips, sad_c]),
                                load_expert())
    b = claim(claims_summary(agree), "b", "m")
    assert b["status"] == "untestable" and b["n_clusters"] == 0
    assert "no speaker has clips of both groups" in b["verdict"]


def test_arousal_groups_count_clips_per_group_on_a_corpus() -> None:
    """RAVDESS-like labels: calm now joins sad in the low group; neutral and disgust are in no
    group, each with its reason; n by true label and by explained (predicted) emotion."""
    from bsx.scoring.claims import arousal_groups, arousal_line

    labels = ["angry"] * 3 + ["calm"] * 2 + ["sad"] + ["neutral"] * 2 + ["disgust"]
    explained = ["angry"] * 2 + ["calm"] * 4 + ["neutral"] * 3
    g = arousal_groups("ravdess", labels, explained)
    assert g["corpus"] == "ravdess"
    assert g["groups"]["high"] == {"emotions": ["angry"], "n": 3, "n_explained": 2}
    assert g["groups"]["low"] == {"emotions": ["sad", "calm"], "n": 3, "n_explained": 4}
    assert g["groups"]["ungrouped"]["emotions"] == ["disgust", "neutral"]
    assert g["groups"]["ungrouped"]["n"] == 3
    assert "reference" in g["groups"]["ungrouped"]["why"]["neutral"]
    assert arousal_line(g) == ("arousal groups on ravdess: high angry (n=3); low sad, calm "
                               "(n=3); ungrouped disgust, neutral (n=3)")

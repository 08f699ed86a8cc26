"""Agreement on a hand-built profile, and dataset statistics against known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bsx.cues.profile import Baseline, CueProfile, Norm, RegionStats
from bsx.expert import load_expert
from bsx.scoring.agreement import (
    aggregate_agreement,
    agreement,
    agreement_records,
    dataset_agreement,
)
from bsx.scoring.stats import bootstrap_ci, sign_flip_test

NAN = math.nan


def rs(mean: float, std: float, n: int) -> RegionStats:
    return RegionStats(mean, std, n, n)


def profile() -> CueProfile:
    return CueProfile(
        stats={
            "Loudness": {"salient": rs(3.0, 1.0, 10), "rest": rs(1.0, 1.0, 30),
                         "whole": rs(1.5, 1.2, 40)},
            "Pitch_lvl": {"salient": rs(30.0, 2.0, 10), "rest": rs(32.0, 2.0, 30),
                          "whole": rs(31.5, 2.0, 40)},
            "Breathiness": {"salient": rs(5.0, 1.0, 10), "rest": rs(8.0, 1.0, 30),
                            "whole": rs(7.0, 1.0, 40)},
            "Freq_var": {"salient": RegionStats(NAN, NAN, 1, 1, "too few"),
                         "rest": rs(0.01, 0.001, 30), "whole": rs(0.01, 0.001, 31)},
        },
        windows=((0.0, 0.1),), content=(0.0, 0.4),
    )


def test_agreement_hand_built_angry() -> None:
    base = Baseline(corpus={"Loudness": Norm(2.0, 0.5, 4, "corpus"),
                            "Pitch_lvl": Norm(28.0, 1.0, 4, "corpus")})
    rows = {r.cue: r for r in agreement(profile(), "angry", load_expert(), base, "s1")}
    assert set(rows) == {"Loudness", "Pitch_lvl", "Breathiness", "Freq_var"}
    loud = rows["Loudness"]
    assert loud.effect_vs_rest == pytest.approx(2.0)        # (3 - 1) / 1
    assert loud.effect_vs_neutral == pytest.approx(2.0)     # (3 - 2) / 0.5
    assert loud.agrees_vs_rest is True and loud.agrees_vs_neutral is True
    pitch = rows["Pitch_lvl"]
    assert pitch.effect_vs_rest == pytest.approx(-1.0)
    assert pitch.agrees_vs_rest is False and pitch.agrees_vs_neutral is True  # (30-28)/1
    assert rows["Breathiness"].agrees_vs_rest is None       # weak-down: no evidence
    assert rows["Freq_var"].agrees_vs_rest is None          # NaN: no evidence
    assert math.isnan(rows["Breathiness"].effect_vs_neutral)  # no neutral norm
    assert aggregate_agreement(rows.values()) == pytest.approx(0.5)
    assert aggregate_agreement(rows.values(), "neutral") == pytest.approx(1.0)


def test_sad_expects_lower_loudness() -> None:
    rows = {r.cue: r for r in agreement(profile(), "sad", load_expert())}
    assert rows["Loudness"].expected == -1 and rows["Loudness"].agrees_vs_rest is False
    assert rows["Pitch_lvl"].agrees_vs_rest is True
    assert rows["Loudness"].agrees_vs_neutral is None       # no baseline given


def test_paired_test_and_bootstrap_known_answers() -> None:
    p, n, k = sign_flip_test(np.ones(6))
    assert (n, k) == (6, 6) and p == pytest.approx(2 / 64)   # exact: all 6 positive
    assert sign_flip_test(np.zeros(3))[0] == 1.0
    lo, hi = bootstrap_ci(np.array([2.0] * 10))
    assert lo == hi == 2.0
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 1.0, 400)
    lo, hi = bootstrap_ci(x)
    assert lo < 5.0 < hi and hi - lo == pytest.approx(2 * 1.96 / 20, rel=0.25)


def test_dataset_agreement_per_emotion_and_cue() -> None:
    recs = []
    for i in range(8):
        p = profile()
        rows = agreement(p, "angry", load_expert())
        recs += agreement_records(rows, p, "angry", clip=f"c{i}")
    table = dataset_agreement(pd.DataFrame(recs)).set_index("cue")
    loud = table.loc["Loudness"]
    assert loud["n"] == 8 and loud["agreement_vs_rest"] == 1.0
    assert loud["mean_effect_vs_rest"] == pytest.approx(2.0)
    assert loud["ci_low_vs_rest"] == pytest.approx(2.0) and loud["n_pairs"] == 8
    assert loud["p_value"] == pytest.approx(2 / 2**8)  # 8 positive differences, exact test
    assert table.loc["Pitch_lvl", "agreement_vs_rest"] == 0.0
    assert math.isnan(table.loc["Breathiness", "agreement_vs_rest"])


@pytest.mark.slow
def test_synth_planted_spans_agree_more_than_random_windows() -> None:
    """On the synth corpus the planted word is where theory's cues were put: agreement there
    beats random windows of equal length, which beat windows outside the word."""
    from bsx.audio import load_audio
    from bsx.cues.profile import cue_profile, neutral_baseline
    from bsx.plugins import build

    clips = build("dataset", "synth", options={"per_class": 10}).clips()
    ext = build("cue", "egemaps")
    expert, rng = load_expert(), np.random.default_rng(0)
    tracks = [ext.extract(load_audio(c.path, 16000)[0], 16000) for c in clips]
    neutral = [(t, c.speaker) for t, c in zip(tracks, clips, strict=True) if c.label == "neutral"]
    base = neutral_baseline([t for t, _ in neutral], [s for _, s in neutral])
    scores: dict[str, list[float]] = {"planted": [], "random": [], "outside": []}
    pitch: dict[str, list[bool | None]] = {}
    for t, c in zip(tracks, clips, strict=True):
        if c.label == "neutral":
            continue
        a, b = (float(x) for x in c.meta["word_span"])
        dur, length = t.n_frames * t.frame_s, b - a
        rand = [(r, r + length) for r in rng.uniform(0, dur - length, 5)]
        outs = [(o, o + length) for o in rng.uniform(0, dur - length, 200)
                if o + length <= a or o >= b][:5]
        for kind, wins in (("planted", [(a, b)]), ("random", rand), ("outside", outs)):
            for win in wins:  # one window per profile; several random draws per clip
                rows = agreement(cue_profile(t, [win]), c.label, expert, base, c.speaker)
                scores[kind].append(aggregate_agreement(rows))
                if kind == "planted":
                    pitch.setdefault(c.label, []).append(
                        next(x.agrees_vs_rest for x in rows if x.cue == "Pitch_lvl"))
    mean = {k: float(np.nanmean(v)) for k, v in scores.items()}
    assert mean["planted"] >= 0.6 and mean["planted"] >= mean["random"] + 0.08, mean
    assert mean["outside"] <= 0.5 and mean["random"] > mean["outside"], mean
    # the strongest planted cue, F0 level, agrees in the planted word for every emotion
    counted = {e: [v for v in votes if v is not None] for e, votes in pitch.items()}
    assert np.mean([v for vs in counted.values() for v in vs]) >= 0.8, counted
    assert all(np.mean(v) >= 0.6 for v in counted.values()), counted

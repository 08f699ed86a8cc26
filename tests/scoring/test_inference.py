"""The one inference rule: verdicts with known answers for 1, 3 and 12 speakers, and verdicts
that never contradict the interval printed beside them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.scoring.inference import Verdict, judge, min_units, sentence
from bsx.scoring.stats import Estimate, paired_difference


def test_min_units_is_the_smallest_count_whose_sign_flip_p_can_pass() -> None:
    assert min_units(0.05) == 6          # 2/2^5 = 0.0625, 2/2^6 = 0.031
    assert min_units(0.01) == 8          # 2/2^7 = 0.0156, 2/2^8 = 0.0078
    for alpha in (0.05, 0.01, 0.1):
        k = min_units(alpha)
        assert 2 / 2**k < alpha <= 2 / 2 ** (k - 1)


def planted(n_speakers: int, effect: float, per: int = 5, seed: int = 0) -> Estimate:
    """A paired comparison with a planted per-clip effect of `effect` (+ N(0, 0.3) noise)."""
    rng = np.random.default_rng(seed)
    n = n_speakers * per
    a = effect + rng.normal(0, 0.3, n)
    spk = np.repeat(np.arange(n_speakers), per)
    return paired_difference(a, np.zeros(n), spk)


@pytest.mark.parametrize("k", [1, 3])
def test_few_speakers_cannot_be_tested_whatever_the_effect(k: int) -> None:
    e = planted(k, 1.0)
    assert e.n_clusters == k and e.ci_low > 0  # a clear effect within these speakers
    v = judge(e, e.p)
    assert v.status == "untestable" and f"{k} speaker(s)" in v.reason
    text = sentence("crp", v, e, e.p, better="beats random", worse="is worse than random")
    assert "cannot be tested" in text and "beats" not in text and "not shown" not in text
    assert f"{e.effect:+.3f}" in text and f"[{e.ci_low:+.3f}, {e.ci_high:+.3f}]" in text


def test_twelve_speakers_decide_both_ways_and_null_is_not_shown() -> None:
    up, down, null = planted(12, 0.8), planted(12, -0.8), planted(12, 0.0, seed=3)
    assert judge(up, up.p).status == "better"
    assert judge(down, down.p).status == "worse"
    v = judge(null, null.p)
    assert v.status == "not shown" and null.ci_low < 0 < null.ci_high
    assert v.reason == "the 95% CI includes 0"


def test_test_and_interval_that_disagree_are_not_shown_and_say_which() -> None:
    # p passes but the CI covers 0; and the CI excludes 0 but p does not pass
    a = Estimate(0.2, -0.05, 0.4, 0.01, 60, 12)
    b = Estimate(0.2, 0.05, 0.4, 0.2, 60, 12)
    assert judge(a, a.p) == Verdict("not shown", "p_FDR < 0.05 but the 95% CI includes 0")
    vb = judge(b, b.p)
    assert vb.status == "not shown" and "excludes 0 but p_FDR >= 0.05 across 12" in vb.reason


def test_clips_without_speakers_are_the_units_and_missing_effect_is_untestable() -> None:
    e = Estimate(0.5, 0.3, 0.7, 0.001, 40, 40)  # every clip its own cluster
    assert judge(e, e.p).status == "better"
    few = Estimate(0.5, 0.3, 0.7, 0.06, 4, 4)
    assert "4 clip(s); a test across clips needs at least 6" in judge(few, few.p).reason
    nan = Estimate(math.nan, math.nan, math.nan, math.nan, 0, 0)
    assert judge(nan, math.nan, missing="no random baseline") == Verdict(
        "untestable", "no random baseline")


def test_a_caller_that_knows_its_units_names_them() -> None:
    # 16 clips paired over two methods: 32 values in 16 clusters that are clips, not speakers
    e = Estimate(0.07, 0.01, 0.13, 0.2, 32, 16)
    assert "across 16 clips" in judge(e, e.p, unit="clip").reason
    assert "across 16 speakers" in judge(e, e.p).reason

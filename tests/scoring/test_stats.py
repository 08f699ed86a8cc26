"""Clustered bootstrap, sign-flip test, paired and group differences, FDR: known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bsx.scoring.stats import (
    bootstrap_ci,
    cluster_codes,
    fdr,
    group_difference,
    paired_difference,
    sign_flip_test,
)


def clustered(n_speakers: int, per: int, between: float, within: float, seed: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Values = speaker offset ~ N(0, between) + clip noise ~ N(0, within); true mean 0."""
    rng = np.random.default_rng(seed)
    spk = np.repeat(np.arange(n_speakers), per)
    x = rng.normal(0, between, n_speakers)[spk] + rng.normal(0, within, spk.size)
    return x, spk


def test_missing_speakers_are_clusters_of_their_own() -> None:
    codes = cluster_codes(["a", None, "a", float("nan"), "", "b", "None"], 7)
    assert codes[0] == codes[2]
    assert len(set(codes.tolist())) == 6  # a, b and four singletons
    assert cluster_codes(None, 3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="3 cluster labels for 2 values"):
        cluster_codes(["a", "b", "c"], 2)


def test_clustered_ci_is_wider_than_naive_when_speakers_cluster() -> None:
    x, spk = clustered(10, 20, between=1.0, within=0.1, seed=0)
    naive = np.subtract(*bootstrap_ci(x)[::-1])
    lo, hi = bootstrap_ci(x, clusters=spk)
    # the mean of 10 speaker means: its standard error is sd(speaker means) / sqrt(10)
    means = np.array([x[spk == s].mean() for s in range(10)])
    expected = 2 * 1.96 * means.std(ddof=1) / math.sqrt(10)
    assert hi - lo > 3 * naive
    assert hi - lo == pytest.approx(expected, rel=0.3)
    assert lo < x.mean() < hi
    # no clustering in the data: clustered and naive agree
    y, spk2 = clustered(10, 20, between=0.0, within=1.0, seed=1)
    w_naive = np.subtract(*bootstrap_ci(y)[::-1])
    w_clust = np.subtract(*bootstrap_ci(y, clusters=spk2)[::-1])
    assert w_clust == pytest.approx(w_naive, rel=0.25)


def test_clustered_ci_covers_the_true_mean_where_the_naive_one_fails() -> None:
    hits = {"naive": 0, "clustered": 0}
    sims = 120
    for s in range(sims):
        x, spk = clustered(12, 10, between=1.0, within=0.5, seed=100 + s)
        lo, hi = bootstrap_ci(x, n_boot=400, seed=s)
        hits["naive"] += lo <= 0.0 <= hi
        lo, hi = bootstrap_ci(x, clusters=spk, n_boot=400, seed=s)
        hits["clustered"] += lo <= 0.0 <= hi
    assert hits["clustered"] / sims >= 0.82, hits
    assert hits["naive"] / sims <= 0.6, hits


def test_sign_flip_test_hand_computed() -> None:
    # |sum| = 2.5; of the 8 sign patterns |+-1 +-2 +-0.5| >= 2.5 for +++, ++-, --+, ---
    p, n, k = sign_flip_test(np.array([1.0, 2.0, -0.5]))
    assert (p, n, k) == (0.5, 3, 3)
    # six positive differences: 2/64 as six independent clips, but two speakers of three
    # clips each can only give 2/4
    assert sign_flip_test(np.ones(6))[0] == pytest.approx(2 / 64)
    p, n, k = sign_flip_test(np.ones(6), ["s1"] * 3 + ["s2"] * 3)
    assert (p, n, k) == (0.5, 6, 2)
    assert sign_flip_test(np.ones(3), ["s"] * 3)[0] == 1.0  # one speaker cannot reject
    assert math.isnan(sign_flip_test(np.array([np.nan]))[0])
    # 20 speakers, all positive: only the all-plus and all-minus patterns reach |20|
    p, _, k = sign_flip_test(np.ones(20))
    assert k == 20 and p == 2 / 2**20
    # more speakers than the exact limit: Monte Carlo, (1 + 0 hits) / (1 + n_perm)
    p, _, k = sign_flip_test(np.ones(30), n_perm=5000)
    assert k == 30 and p == pytest.approx(1 / 5001)


def test_exact_sign_flip_counts_every_pattern() -> None:
    # independent truth: enumerate all 2^K sign patterns by brute force, ties included
    rng = np.random.default_rng(3)
    for trial in range(60):
        k = int(rng.integers(1, 12))
        sums = rng.integers(-3, 4, k).astype(float) if trial % 2 else rng.normal(size=k)
        if not sums.any():
            continue
        signs = 2.0 * ((np.arange(2**k)[:, None] >> np.arange(k)) & 1) - 1.0
        brute = float(np.mean(np.abs(signs @ sums) >= abs(sums.sum()) - 1e-9))
        p, _, kk = sign_flip_test(sums, list(range(k)))
        assert kk == k and p == pytest.approx(brute, abs=1e-12), (sums, p, brute)


def test_paired_difference_removes_clip_variation() -> None:
    rng = np.random.default_rng(3)
    spk = np.repeat(np.arange(8), 3)
    b = rng.normal(0, 5.0, spk.size)      # clips differ a lot ...
    a = b + 0.3                          # ... the method adds exactly 0.3 to each
    e = paired_difference(a, b, spk)
    assert e.effect == pytest.approx(0.3)
    assert e.ci_low == pytest.approx(0.3) and e.ci_high == pytest.approx(0.3)
    assert e.p == pytest.approx(2 / 2**8) and (e.n, e.n_clusters) == (24, 8)
    # unpaired, the two means' CIs overlap completely
    lo_a, hi_a = bootstrap_ci(a, clusters=spk)
    lo_b, hi_b = bootstrap_ci(b, clusters=spk)
    assert lo_a < hi_b and lo_b < hi_a
    # noisy differences: the CI holds the true 0.3; NaN pairs are dropped
    a2 = b + 0.3 + rng.normal(0, 0.2, b.size)
    a2[0] = np.nan
    e2 = paired_difference(a2, b, spk)
    assert e2.n == 23 and e2.ci_low < 0.3 < e2.ci_high and e2.p < 0.05


def test_group_difference_per_speaker_test() -> None:
    rng = np.random.default_rng(4)
    spk = np.repeat(np.arange(6), 4)
    high = np.tile([True, True, False, False], 6)
    offset = rng.normal(0, 3.0, 6)[spk]          # speakers differ far more than groups
    v = offset + np.where(high, 1.0, 0.0) + rng.normal(0, 0.01, spk.size)
    e = group_difference(v, high, spk)
    assert e.effect == pytest.approx(1.0, abs=0.02)
    assert e.p == pytest.approx(2 / 2**6) and e.n_clusters == 6
    assert e.ci_low < 1.0 < e.ci_high
    # no speaker ids: a two-sample permutation test over clips
    e2 = group_difference(np.r_[np.ones(10), np.zeros(10)], np.r_[[True] * 10, [False] * 10])
    assert e2.effect == 1.0 and e2.p < 0.001 and e2.n_clusters == 20
    # one group empty: no estimate
    assert math.isnan(group_difference(v, np.ones(v.size, bool), spk).effect)


def test_fdr_matches_hand_computed_benjamini_hochberg() -> None:
    # sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.06, 0.0533, 0.2 -> running min from the top
    q = fdr([0.01, 0.04, 0.03, np.nan, 0.2])
    assert q[0] == pytest.approx(0.04)
    assert q[1] == pytest.approx(0.16 / 3) and q[2] == pytest.approx(0.16 / 3)
    assert math.isnan(q[3]) and q[4] == pytest.approx(0.2)


def test_edge_cases_give_nan_or_a_number_never_an_error() -> None:
    # one clip in a group, no speaker ids: a permutation p over 20 clips; the one outlier is
    # the most extreme of 20 labelings, so p is about 1/20
    v = np.r_[5.0, np.zeros(19)]
    e = group_difference(v, np.r_[True, [False] * 19])
    assert e.effect == 5.0 and e.p == pytest.approx(1 / 20, abs=0.01)
    # one speaker with both groups: the sign-flip over one speaker gives p = 1
    e = group_difference(np.array([1.0, 0.0]), np.array([True, False]), ["s", "s"])
    assert e.p == 1.0 and e.n_clusters == 1
    e = paired_difference(np.array([1.0]), np.array([0.0]))
    assert e.effect == 1.0 and math.isnan(e.ci_low) and e.p == 1.0
    assert paired_difference(np.array([np.nan]), np.array([0.0])).n == 0
    assert math.isnan(bootstrap_ci(np.array([np.inf, 1.0]))[0])


def test_resamples_drawn_in_chunks_give_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    # memory is bounded by drawing resamples in chunks; the random stream, and so every
    # interval, must be the one of drawing them all at once
    from bsx.scoring import stats

    rng = np.random.default_rng(5)
    v, spk = rng.normal(size=300), rng.integers(0, 12, 300)
    group = rng.random(300) < 0.4
    whole = (bootstrap_ci(v, clusters=spk, n_boot=500, seed=1),
             group_difference(v, group, spk, n_boot=500, seed=1))
    monkeypatch.setattr(stats, "RESAMPLE_ITEMS", 1000)  # 3 resamples per chunk
    chunked = (bootstrap_ci(v, clusters=spk, n_boot=500, seed=1),
               group_difference(v, group, spk, n_boot=500, seed=1))
    assert chunked == whole

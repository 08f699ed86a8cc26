"""Quantus localisation on planted masks: a map on the mask scores high, a random map at
chance, and empty or full masks are dropped and counted before Quantus sees them."""

from __future__ import annotations

import numpy as np
import pytest

from bsx.errors import UnknownName
from bsx.scoring.localisation import LOCALISATION_METRICS, localisation_scores

B, T = 6, 40
SPAN = (10, 16)  # frames holding the planted cue


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    masks = np.zeros((B, 128, T), dtype=bool)
    masks[:, :, SPAN[0]:SPAN[1]] = True
    on = rng.random((B, 128, T)) * 0.01
    on[:, :, SPAN[0]:SPAN[1]] += 1.0
    noise = rng.random((B, 128, T))
    return masks, on, noise


def test_map_on_the_mask_scores_perfectly_random_map_at_chance(planted) -> None:
    masks, on, noise = planted
    good, n_good = localisation_scores(on, masks, list(LOCALISATION_METRICS))
    rand, n_rand = localisation_scores(noise, masks, list(LOCALISATION_METRICS))
    assert n_good == n_rand == 0
    share = (SPAN[1] - SPAN[0]) / T  # chance level for mass and rank accuracy
    for name in LOCALISATION_METRICS:
        assert good[name].shape == (B,)
        assert np.all(good[name] > 0.95), name
    assert np.all(np.abs(rand["relevance-mass-accuracy"] - share) < 0.03)
    assert np.all(np.abs(rand["relevance-rank-accuracy"] - share) < 0.05)
    assert np.all(np.abs(rand["auc"] - 0.5) < 0.05)
    assert np.all(rand["top-k-intersection"] < 0.3)


def test_relevance_mass_accuracy_by_hand() -> None:
    # one clip: 3 units of relevance inside the mask, 1 outside -> 0.75
    m = np.zeros((1, 128, 8), dtype=bool)
    m[0, :, 2] = True
    a = np.zeros((1, 128, 8))
    a[0, 0, 2] = 3.0
    a[0, 5, 6] = 1.0
    a[0, 7, 7] = -5.0  # negative evidence is not counted
    s, n = localisation_scores(a, m, ["relevance-mass-accuracy", "pointing-game"])
    assert n == 0
    assert s["relevance-mass-accuracy"][0] == pytest.approx(0.75)
    assert s["pointing-game"][0] == 1.0


def test_empty_and_full_masks_are_dropped_and_counted(planted) -> None:
    masks, on, _ = planted
    masks = masks.copy()
    masks[1] = False  # empty: Quantus' PointingGame would call this a hit
    masks[4] = True   # full: every map would be perfect
    scores, n = localisation_scores(on, masks, list(LOCALISATION_METRICS))
    assert n == 2
    for name in LOCALISATION_METRICS:
        assert np.isnan(scores[name][[1, 4]]).all()
        assert np.isfinite(scores[name][[0, 2, 3, 5]]).all()


def test_all_masks_empty_gives_nan_without_quantus() -> None:
    scores, n = localisation_scores(np.ones((2, 128, 4)), np.zeros((2, 128, 4), bool),
                                    ["pointing-game"])
    assert n == 2 and np.isnan(scores["pointing-game"]).all()


def test_bad_names_and_shapes() -> None:
    with pytest.raises(UnknownName, match="did you mean"):
        localisation_scores(np.ones((1, 128, 4)), np.ones((1, 128, 4), bool), ["auk"])
    with pytest.raises(ValueError, match="not a localisation metric"):
        localisation_scores(np.ones((1, 128, 4)), np.ones((1, 128, 4), bool), ["sparseness"])
    with pytest.raises(ValueError, match="must both be"):
        localisation_scores(np.ones((1, 128, 4)), np.ones((1, 128, 5), bool), ["auc"])

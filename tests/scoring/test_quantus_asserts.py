"""bsx's vectorised copy of Quantus' attribution check raises exactly when Quantus' own does,
with the same message, and the scores are the same with it or without it."""

from __future__ import annotations

import numpy as np
import pytest

from bsx.scoring.localisation import LOCALISATION_METRICS, localisation_scores
from bsx.scoring.quantus_asserts import assert_attributions, more_than_one_value, original


def outcome(fn, x: np.ndarray, a: np.ndarray) -> str | None:
    try:
        fn(x_batch=x, a_batch=a)
    except AssertionError as exc:
        return str(exc)
    return None


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = np.zeros((3, 1, 8, 10), np.float32)
    out = [(x, rng.random((3, 1, 8, 10)).astype(np.float32))]
    out += [(x, np.full((3, 1, 8, 10), v, np.float32)) for v in (0.0, 1.0, 0.5, -2.0)]
    nan = np.full((3, 1, 8, 10), 0.5, np.float32)
    nan[1, 0, 2, 3] = np.nan
    out.append((x, nan))
    out.append((x, np.full((3, 1, 8, 10), np.nan, np.float32)))
    signed = np.full((3, 1, 8, 10), 0.0, np.float32)
    signed[0, 0, 0, 0] = -0.0
    signed[2] = 0.3
    out.append((x, signed))
    out.append((x, -rng.random((3, 1, 8, 10)).astype(np.float32)))  # all negative
    out.append((x, rng.random((2, 1, 8, 10)).astype(np.float32)))  # batch sizes differ
    out.append((x, rng.random((3, 8, 10)).astype(np.float32)))  # ndim differs
    out.append((x, rng.random((3, 1, 5, 4)).astype(np.float32)))  # dims not in the input
    two = np.zeros((1, 1, 1, 2), np.float32)
    out.append((two, np.full((1, 1, 1, 2), 0.7, np.float32)))  # two equal bins
    return out


@pytest.mark.parametrize("case", range(len(batches())))
def test_same_outcome_and_message_as_quantus(case: int) -> None:
    x, a = batches()[case]
    assert outcome(assert_attributions, x, a) == outcome(original(), x, a)


def test_the_cases_cover_passing_and_each_failing_check() -> None:
    outcomes = [outcome(original(), x, a) for x, a in batches()]
    assert None in outcomes
    texts = " ".join(o for o in outcomes if o)
    for part in (
        "same number of samples",
        "same number of dimensions",
        "equal to zero",
        "equal to one",
        "uniformly distributed",
        "less than zero",
        "correspond in either",
    ):
        assert part in texts


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 1.0],
        [1.0, 2.0],
        [np.nan],
        [np.nan, np.nan],
        [1.0, np.nan],
        [0.0, -0.0],
        [3.0],
        [],
        [2, 2, 2, 5],
    ],
)
def test_more_than_one_value_is_the_set_test(values: list[float]) -> None:
    a = np.array(values, dtype=np.float64)
    assert more_than_one_value(a) == (len(set(a.flatten().tolist())) > 1)


def test_localisation_scores_equal_with_and_without(monkeypatch: pytest.MonkeyPatch) -> None:
    from quantus.helpers import asserts

    import bsx.scoring.quantus_asserts as fast_check

    rng = np.random.default_rng(1)
    maps = rng.normal(size=(4, 6, 12))
    masks = np.zeros((4, 6, 12), bool)
    masks[:, 1:3, 2:7] = True
    fast, n_fast = localisation_scores(maps, masks, list(LOCALISATION_METRICS))
    assert asserts.assert_attributions is assert_attributions
    monkeypatch.setattr(fast_check, "assert_attributions", original())  # Quantus' own check
    slow, n_slow = localisation_scores(maps, masks, list(LOCALISATION_METRICS))
    assert asserts.assert_attributions is original()
    assert n_fast == n_slow
    for name in LOCALISATION_METRICS:
        np.testing.assert_array_equal(fast[name], slow[name])
    monkeypatch.undo()
    localisation_scores(maps, masks, ["auc"])
    assert asserts.assert_attributions is assert_attributions

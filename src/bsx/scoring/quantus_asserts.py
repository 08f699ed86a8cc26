"""Quantus' attribution check, with its one slow line vectorised.

Every Quantus metric call runs `quantus.helpers.asserts.assert_attributions` on the whole
batch, and its last-but-one check, `len(set(a_batch.flatten().tolist())) > 1`, builds a
Python float and a set entry per bin: 0.30 CPU s for a 16-clip batch of 128 x 235 maps, once
per metric (8 calls a batch with the default metrics), about a quarter of the evaluate
process's own CPU on recorded speech. `assert_attributions` below is Quantus' function
(as of Quantus 0.6) with that line replaced by an equivalent vectorised test; it raises the same
AssertionError with the same message for the same input (tests/scoring/test_quantus_asserts.py
checks both on passing and failing batches). `install` puts it in Quantus' module, where the
metrics look it up at call time (localisation 1.67x less CPU on recorded speech,
docs/speed-recorded.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_ORIGINAL: Any = None


def more_than_one_value(a: np.ndarray) -> bool:
    """len(set(a.flatten().tolist())) > 1, without the set: two elements differ, or a NaN is
    among two or more (tolist() makes each NaN its own float object, and NaN != NaN, so a set
    keeps every one of them)."""
    flat = np.asarray(a).reshape(-1)
    if flat.size < 2:
        return False
    return not bool(np.all(flat == flat[0]))


def assert_attributions(x_batch: np.ndarray, a_batch: np.ndarray) -> None:
    """quantus.helpers.asserts.assert_attributions, same checks and messages."""
    assert (
        type(a_batch) == np.ndarray  # noqa: E721  (Quantus' own check, kept as is)
    ), "Attributions 'a_batch' should be of type np.ndarray."
    assert np.shape(x_batch)[0] == np.shape(a_batch)[0], (
        "The inputs 'x_batch' and attributions 'a_batch' should "
        "include the same number of samples."
        f"{np.shape(x_batch)[0]} != {np.shape(a_batch)[0]}"
    )
    assert np.ndim(x_batch) == np.ndim(a_batch), (
        "The inputs 'x_batch' and attributions 'a_batch' should "
        "have the same number of dimensions."
        f"{np.ndim(x_batch)} != {np.ndim(a_batch)}"
    )
    a_shape = [s for s in np.shape(a_batch)[1:] if s != 1]
    x_shape = [s for s in np.shape(x_batch)[1:]]
    assert a_shape[0] == x_shape[0] or a_shape[-1] == x_shape[-1], (
        "The dimensions of attribution and input per sample should correspond in either "
        "the first or last dimensions, but got shapes "
        f"{a_shape} and {x_shape}"
    )
    assert all([a in x_shape for a in a_shape]), (
        "All attribution dimensions should be included in the input dimensions, "
        f"but got shapes {a_shape} and {x_shape}"
    )
    assert all(
        [
            x_shape.index(a) > x_shape.index(a_shape[i])
            for a in a_shape
            for i in range(a_shape.index(a))
        ]
    ), (
        "The dimensions of the attribution must correspond to dimensions of the input in "
        f"the same order, but got shapes {a_shape} and {x_shape}"
    )
    assert not np.all(a_batch == 0), (
        "The elements in the attribution vector are all equal to zero, "
        "which may cause inconsistent results since many metrics rely on ordering. "
        "Recompute the explanations."
    )
    assert not np.all(a_batch == 1.0), (
        "The elements in the attribution vector are all equal to one, "
        "which may cause inconsistent results since many metrics rely on ordering. "
        "Recompute the explanations."
    )
    assert more_than_one_value(a_batch), (
        "The attributions are uniformly distributed, "
        "which may cause inconsistent results since many "
        "metrics rely on ordering."
        "Recompute the explanations."
    )
    assert not np.all(a_batch < 0.0), "Attributions should not all be less than zero."


def install() -> None:
    """Use assert_attributions in Quantus (idempotent)."""
    global _ORIGINAL
    from quantus.helpers import asserts

    if _ORIGINAL is None:
        _ORIGINAL = asserts.assert_attributions
    asserts.assert_attributions = assert_attributions


def original() -> Any:
    """Quantus' own assert_attributions (for tests and benchmarks)."""
    install()
    return _ORIGINAL

"""The out-of-memory back-off of attribution: a method that runs out of memory above a batch
size gives, split, the same maps as the unsplit run, and says that it split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import Tensor

from bsx.errors import BsxError
from bsx.evaluation.attribute import Backoff, Units, attribute, is_out_of_memory, unit_maps
from bsx.plugins import build
from bsx.testing import SpotNet, spot_batch


class Tight:
    """A real method (saliency on SpotNet) behind a fake memory limit: more than `fits`
    rows at once raise `error`; records the row counts it was called with."""

    def __init__(self, inner: Any, fits: int, error: BaseException) -> None:
        self.inner, self.fits, self.error = inner, fits, error
        self.calls: list[int] = []

    def attribute(self, x: Tensor, t: Tensor) -> Tensor:
        self.calls.append(len(x))
        if len(x) > self.fits:
            raise self.error
        return self.inner.attribute(x, t)  # type: ignore[no-any-return]


def batch(n: int) -> tuple[Units, np.ndarray]:
    x = spot_batch(n, seed=4)
    units = Units(clip_of=np.arange(n), groups=[(np.arange(n), x)], n_clips=n, kind="logmel",
                  hop_length=160)
    return units, np.array([i % 2 for i in range(n)])


def saliency() -> Any:
    return build("method", "saliency", SpotNet())


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to "
                                                          "allocate 2.00 GiB"),
                                   RuntimeError("DefaultCPUAllocator: not enough memory: "
                                                "you tried to allocate; out of memory")])
def test_split_maps_equal_the_unsplit_ones_and_the_split_is_said(error: BaseException) -> None:
    units, target = batch(7)
    want = unit_maps(saliency(), units, target)
    assert np.abs(np.stack(want)[:, :, 40:60]).sum() > 0  # a real map: relevance on the spot
    tight = Tight(saliency(), fits=2, error=error)
    backoff = Backoff(name="saliency")
    got = unit_maps(tight, units, target, backoff)
    assert len(got) == 7
    for a, b in zip(want, got, strict=True):
        np.testing.assert_array_equal(a, b)
    # 7 -> 4 (out of memory) -> 2: fits; then the rest in parts of at most 2
    assert tight.calls == [7, 4, 2, 2, 2, 1]
    assert backoff.cap == 2
    assert backoff.drain() == [
        "saliency: out of memory on 7 units at once; attributing at most 4 at a time from now on",
        "saliency: out of memory on 4 units at once; attributing at most 2 at a time from now on"]
    # the next batch starts at the cap: no out-of-memory attempt again, nothing said
    tight.calls.clear()
    unit_maps(tight, units, target, backoff)
    assert tight.calls == [2, 2, 2, 1] and backoff.drain() == []


def test_attribute_warns_with_the_split() -> None:
    units, target = batch(3)
    tight = Tight(saliency(), fits=1, error=torch.OutOfMemoryError("out of memory"))
    with pytest.warns(UserWarning) as said:
        got = attribute(tight, units, target, [_Prepared()] * 3, Backoff(name="gradcam"))
    assert [str(w.message) for w in said] == [
        "gradcam: out of memory on 3 units at once; attributing at most 2 at a time from now on",
        "gradcam: out of memory on 2 units at once; attributing at most 1 at a time from now on"]
    np.testing.assert_array_equal(np.stack(got.clips), np.stack(unit_maps(saliency(), units,
                                                                          target)))


class _Prepared:
    """Just what to_clip_maps reads of a one-unit clip of the log-mel front-end."""

    unit_starts = (0,)
    n_frames = 134

    class frontend:  # noqa: N801
        hop_length = 160
        features = "librosa"


def test_one_unit_out_of_memory_is_a_one_line_error() -> None:
    units, target = batch(3)
    tight = Tight(saliency(), fits=0, error=torch.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(BsxError, match=r"^saliency: out of memory on a single unit "
                       r"\(OutOfMemoryError\); use a device with more memory or --device cpu$"):
        unit_maps(tight, units, target, Backoff(name="saliency"))


def test_other_errors_are_not_retried() -> None:
    units, target = batch(4)
    tight = Tight(saliency(), fits=1, error=RuntimeError("shape mismatch"))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        unit_maps(tight, units, target)
    assert tight.calls == [4]
    assert not is_out_of_memory(ValueError("out of memory"))  # only torch's / RuntimeError


def test_a_run_that_runs_out_of_memory_writes_the_unsplit_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine: saliency that 'runs out of memory' above 2 units writes the tables
    of a run whose memory sufficed, and says so once (the cap holds for later batches)."""
    from bsx.evaluation import EvalConfig, run_evaluation
    from bsx.methods.gradients import Saliency

    def cfg() -> EvalConfig:
        return EvalConfig(dataset_options={"per_class": 2, "seed": 5}, split="all", limit=8,
                          methods=["saliency"], cues=["egemaps"], batch_size=4, workers=1,
                          device="cpu", metrics=["sparseness"])

    run_evaluation(cfg(), tmp_path / "roomy", resume=False, progress=False)
    real = Saliency.attribute

    def tight(self: Any, x: Tensor, t: Tensor) -> Tensor:
        if len(x) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return real(self, x, t)

    monkeypatch.setattr(Saliency, "attribute", tight)
    with pytest.warns(UserWarning) as said:
        run_evaluation(cfg(), tmp_path / "tight", resume=False, progress=False)
    assert [str(w.message) for w in said if "out of memory" in str(w.message)] == [
        "saliency: out of memory on 4 units at once; attributing at most 2 at a time from now on"]
    for name in ("results.csv", "windows.csv"):
        a, b = (pd.read_csv(tmp_path / d / name) for d in ("roomy", "tight"))
        if "metric" in a:
            a, b = (t[~t["metric"].str.startswith("time-")].reset_index(drop=True)
                    for t in (a, b))
        assert len(a) == 8 if name == "results.csv" else len(a) > 0
        drop = [c for c in a.columns if "seconds" in c]
        pd.testing.assert_frame_equal(a.drop(columns=drop), b.drop(columns=drop),
                                      check_exact=True)

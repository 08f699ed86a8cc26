"""The files people open: strict JSON, provenance, timings in their own table."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bsx.report.provenance import run_provenance
from bsx.report.strict_json import dumps, jsonable, write_json
from bsx.results import ResultWriter, split_timings, timings_table


def _reject(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def test_strict_json_writes_null_for_nan_and_infinity(tmp_path: Path) -> None:
    obj = {"a": float("nan"), "b": [np.float32("inf"), 1.5, np.int64(3)], "c": np.bool_(True),
           "d": np.array([1.0, np.nan]), "e": Path("/x"), "f": pd.NA}
    path = write_json(tmp_path / "s.json", obj)
    back = json.loads(path.read_text(), parse_constant=_reject)  # NaN/Infinity would raise
    assert back == {"a": None, "b": [None, 1.5, 3], "c": True, "d": [1.0, None], "e": "/x",
                    "f": None}
    assert "NaN" not in dumps(obj)


def test_strict_json_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="cannot write object"):
        jsonable(object())


def test_run_provenance_hashes_the_checkpoint_and_lists_packages(tmp_path: Path) -> None:
    ckpt = tmp_path / "m.pt"
    ckpt.write_bytes(b"weights" * 1000)
    (tmp_path / "m.json").write_text(json.dumps({"dataset": "ravdess"}))
    prov = run_provenance(ckpt)
    assert prov["checkpoint"]["sha256"] == hashlib.sha256(b"weights" * 1000).hexdigest()
    assert prov["checkpoint"]["trained_on"] == "ravdess"
    pk = prov["packages"]
    for name in ("torch", "captum", "zennit", "zennit-crp", "quantus", "opensmile",
                 "praat-parselmouth", "librosa", "numpy", "bsx"):
        assert name in pk
    import numpy

    assert pk["numpy"] == numpy.__version__
    assert json.loads(dumps(prov), parse_constant=_reject)["checkpoint"]["default"] is False


def test_run_provenance_of_the_packaged_model() -> None:
    from bsx.paths import DEFAULT_MODEL_FILE

    prov = run_provenance(None)
    assert prov["checkpoint"]["default"] is True
    assert prov["checkpoint"]["trained_on"] == "synth"
    assert prov["checkpoint"]["sha256"] == hashlib.sha256(
        DEFAULT_MODEL_FILE.read_bytes()).hexdigest()


def _rows() -> list[dict]:  # type: ignore[type-arg]
    rows = []
    for clip, sec in (("c1", 0.2), ("c2", 0.4)):
        base = {"clip_id": clip, "method": "m", "against": "", "direction": "higher",
                "category": "x"}
        rows.append({**base, "cues": "", "metric": "time-attribution", "value": sec,
                     "seconds": sec})
        rows.append({**base, "cues": "egemaps", "metric": "time-cues", "value": 1.0,
                     "seconds": 1.0})
        rows.append({**base, "cues": "", "metric": "auc", "value": 0.5, "seconds": 0.01})
    return rows


def test_timings_leave_the_results_for_their_own_table() -> None:
    results, stages = split_timings(pd.DataFrame(_rows()))
    assert set(results["metric"]) == {"auc"} and len(stages) == 4
    t = timings_table(results, stages).set_index(["kind", "step"])
    assert math.isclose(t.loc[("stage", "attribution"), "seconds_per_clip"], 0.3)
    assert math.isclose(t.loc[("stage", "attribution"), "total_s"], 0.6)
    assert t.loc[("stage", "cues"), "cues"] == "egemaps"
    assert t.loc[("metric", "auc"), "clips"] == 2
    assert list(t.reset_index()["kind"]) == ["stage", "stage", "metric"]


def test_finalize_writes_timings_csv_and_no_time_rows_in_results(tmp_path: Path) -> None:
    w = ResultWriter(tmp_path, resume=False)
    w.write_batch({"results": _rows(), "clips": [{"clip_id": "c1"}, {"clip_id": "c2"}]})
    tables = w.finalize()
    res = pd.read_csv(tmp_path / "results.csv")
    assert not res["metric"].str.startswith("time-").any()
    timings = pd.read_csv(tmp_path / "timings.csv")
    assert set(timings["step"]) == {"attribution", "cues", "auc"}
    assert not tables["timings"].empty

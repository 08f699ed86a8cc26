"""The results store: parts per batch, merged with the union of their columns."""

from __future__ import annotations

import math
from pathlib import Path

from bsx.results import ResultWriter


def test_parts_merge_with_missing_columns_as_nulls(tmp_path: Path) -> None:
    w = ResultWriter(tmp_path, resume=False)
    w.write_batch({"results": [{"clip_id": "a", "value": 1.0}, {"clip_id": "a"}],
                   "clips": [{"clip_id": "a"}]})
    w.write_batch({"results": [{"clip_id": "b", "value": 2, "against": "planted"}],
                   "clips": [{"clip_id": "b"}]})
    tables = w.finalize()
    res = tables["results"]
    assert list(res["clip_id"]) == ["a", "a", "b"]
    assert res["value"].iloc[0] == 1.0 and math.isnan(res["value"].iloc[1])
    assert res["value"].iloc[2] == 2.0
    assert res["against"].isna().tolist() == [True, True, False]
    assert ResultWriter(tmp_path, resume=True).done_clips() == {"a", "b"}
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == "clip_id,value,against"

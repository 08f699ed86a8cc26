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


def test_csvs_name_clips_relative_to_the_corpus_root_parquet_keeps_the_path(
        tmp_path: Path) -> None:
    import pandas as pd

    root = tmp_path / "cache" / "synth" / "3f2a"
    inside, outside = root / "spk1" / "a.wav", tmp_path / "elsewhere" / "b.wav"
    out = tmp_path / "run"
    w = ResultWriter(out, resume=False, corpus_root=root)
    w.write_batch({"results": [{"clip_id": "a", "path": str(inside), "value": 1.0},
                               {"clip_id": "b", "path": str(outside), "value": 2.0}],
                   "clips": [{"clip_id": "a", "path": str(inside)},
                             {"clip_id": "b", "path": str(outside)}]})
    w.finalize()
    csv = pd.read_csv(out / "results.csv")
    assert csv["path"].tolist() == ["spk1/a.wav", str(outside)]  # outside the root: kept
    assert pd.read_csv(out / "clips.csv")["path"].tolist() == ["spk1/a.wav", str(outside)]
    # the report reads the audio back from the Parquet file: absolute, and the file is there
    assert pd.read_parquet(out / "results.parquet")["path"].tolist() == [str(inside),
                                                                         str(outside)]


def test_window_and_clip_times_are_written_to_the_millisecond() -> None:
    from bsx.evaluation.salient import window_rows
    from bsx.windows import Window, file_seconds

    w = Window(0, 10, 17.099999999999998, 17.200000000000003, 1.0, 0.5)
    (row,) = window_rows(["c"], "m", [[w]], [[w]])
    assert (row["start_s"], row["end_s"]) == (17.1, 17.2)
    assert (row["model_start_s"], row["model_end_s"]) == (17.1, 17.2)
    assert repr(row["start_s"]) == "17.1"
    assert file_seconds(0.0104999) == 0.01 and file_seconds(1.23456) == 1.235

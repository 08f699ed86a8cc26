"""The prepared-spectrogram cache: computed once, reused, bad files skipped and listed."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import bsx.datasets.cache as cache_mod
from bsx.audio import PRESETS, prepare
from bsx.datasets.base import Clip
from bsx.datasets.cache import Skipped, prepare_many

SR = 16000
FE = PRESETS["paper"]


def tone(path: Path, freq: float, seconds: float = 0.5) -> Path:
    t = np.arange(int(SR * seconds)) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def clip(path: Path, label: str = "angry") -> Clip:
    return Clip(path=path, label=label, speaker="s1", corpus="t")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    out = {f"good{i}": tone(src / f"good{i}.wav", 200.0 + 150 * i) for i in range(4)}
    (src / "empty.wav").write_bytes(b"")
    (src / "text.wav").write_text("this is not audio")
    sf.write(src / "nan.wav", np.full(800, np.nan, dtype=np.float32), SR, subtype="FLOAT")
    sf.write(src / "silent.wav", np.zeros(8000, dtype=np.float32), SR)
    for name in ("empty", "text", "nan", "silent"):
        out[name] = src / f"{name}.wav"
    return out


def manifest(cache: Path) -> dict[str, dict[str, str]]:
    with (cache / "manifest.csv").open() as fh:
        return {Path(r["source"]).stem: r for r in csv.DictReader(fh)}


def test_prepare_many_pool_skips_bad_and_matches_prepare(
    files: dict[str, Path], tmp_path: Path
) -> None:
    clips = [clip(p) for p in files.values()]
    cache = tmp_path / "cache"
    results, skipped = prepare_many(clips, FE, workers=2, cache=cache, progress=False)
    names = list(files)
    ok = [n for n, r in zip(names, results, strict=True) if r is not None]
    assert ok == ["good0", "good1", "good2", "good3"]
    assert all(isinstance(s, Skipped) for s in skipped)
    why = {s.clip.path.stem: s.reason for s in skipped}
    assert set(why) == {"empty", "text", "nan", "silent"}
    assert why["empty"].startswith(str(files["empty"])) and "empty" in why["empty"]
    assert "not a readable audio file" in why["text"]
    assert "NaN" in why["nan"] and "silence" in why["silent"]
    for n, r in zip(names[:4], results[:4], strict=True):
        direct = prepare(files[n], FE)
        assert r is not None and r.logmel.shape == (128, 134)
        # workers run BLAS single-threaded: float32 sums may differ in the last bit
        np.testing.assert_allclose(r.logmel, direct.logmel, atol=1e-4)
        np.testing.assert_array_equal(r.waveform, direct.waveform)
        assert r.trim_offset_s == direct.trim_offset_s and r.source == str(files[n])
    rows = manifest(cache)
    assert {k: rows[k]["status"] for k in rows} == {
        **{f"good{i}": "ok" for i in range(4)},
        **dict.fromkeys(["empty", "text", "nan", "silent"], "skipped")}
    assert rows["good1"]["size"] == str(files["good1"].stat().st_size)
    assert len(rows["good1"]["sha256"]) == 64 and rows["nan"]["reason"] == why["nan"]
    entry = cache / rows["good2"]["entry"]
    with np.load(entry, allow_pickle=False) as z:  # plain arrays, no pickle
        np.testing.assert_array_equal(z["logmel"], results[2].logmel)  # type: ignore[union-attr]


def test_reused_without_recompute_and_edits_recomputed(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = [clip(p) for p in files.values()]
    cache = tmp_path / "cache"
    first, _ = prepare_many(clips, FE, workers=1, cache=cache, progress=False)
    calls: list[str] = []
    real_work = cache_mod._work

    def counting(source: str, fe_json: str, out: str):  # type: ignore[no-untyped-def]
        calls.append(Path(source).stem)
        return real_work(source, fe_json, out)

    monkeypatch.setattr(cache_mod, "_work", counting)
    again, skipped = prepare_many(clips, FE, workers=1, cache=cache, progress=False)
    assert calls == []  # everything, good and bad, came from the cache
    assert len(skipped) == 4
    for a, b in zip(first, again, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            np.testing.assert_array_equal(a.logmel, b.logmel)
    tone(files["good1"], 1000.0)  # the source changes: only it is recomputed
    edited, _ = prepare_many(clips, FE, workers=1, cache=cache, progress=False)
    assert calls == ["good1"]
    want = prepare(files["good1"], FE).logmel
    np.testing.assert_allclose(edited[1].logmel, want, atol=1e-4)  # type: ignore[union-attr]
    other = PRESETS["paper-tess-train"]  # another front-end: its own entries
    res, _ = prepare_many(clips[:1], other, workers=1, cache=cache, progress=False)
    assert res[0] is not None and res[0].logmel.shape == (128, 126)
    assert calls == ["good1", "good0"]


def test_interrupted_run_keeps_what_was_prepared(
    files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clips = [clip(files[f"good{i}"]) for i in range(4)]
    cache = tmp_path / "cache"
    real_work = cache_mod._work
    calls: list[str] = []

    def interrupted(source: str, fe_json: str, out: str):  # type: ignore[no-untyped-def]
        calls.append(Path(source).stem)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_work(source, fe_json, out)

    monkeypatch.setattr(cache_mod, "_work", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prepare_many(clips, FE, workers=1, cache=cache, progress=False)
    rows = manifest(cache)
    assert [rows[f"good{i}"]["status"] for i in range(4)] == ["ok", "ok", "", ""]
    calls.clear()

    def counting(source: str, fe_json: str, out: str):  # type: ignore[no-untyped-def]
        calls.append(Path(source).stem)
        return real_work(source, fe_json, out)

    monkeypatch.setattr(cache_mod, "_work", counting)
    (cache / rows["good0"]["entry"]).write_bytes(b"damaged")  # a damaged entry is recomputed
    res, skipped = prepare_many(clips, FE, workers=1, cache=cache, progress=False)
    assert calls == ["good0", "good2", "good3"] and skipped == []
    assert all(r is not None for r in res)


def test_default_cache_dir_keys_on_frontend(files: dict[str, Path]) -> None:
    import os

    res, _ = prepare_many([clip(files["good0"])], FE, workers=2, progress=False)
    where = Path(os.environ["BSX_CACHE_DIR"]) / "prepared" / FE.digest()
    assert res[0] is not None and (where / "manifest.csv").is_file()


def test_cli_data_list_and_prepare(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = tmp_path / "emodb" / "wav"
    root.mkdir(parents=True)
    tone(root / "03a01Wa.wav", 300.0)
    tone(root / "09a02Ta.wav", 500.0)
    (root / "notes.wav").write_bytes(b"")  # breaks the naming convention: listed, run goes on
    env = {**os.environ, "COLUMNS": "200"}

    def bsx(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bsx.cli", *args], capture_output=True,
                              text=True, env=env)

    res = bsx("data", "list")
    assert res.returncode == 0
    for name in ("tess", "crema-d", "ravdess", "savee", "emodb"):
        assert f" {name} " in res.stdout
    cache = tmp_path / "cache"
    res = bsx("data", "prepare", "--dataset", "emodb", "--data-root", str(tmp_path / "emodb"),
              "--cache", str(cache), "--workers", "2", "--emotions", "angry,sad")
    assert res.returncode == 0, res.stderr
    assert "notes.wav" in res.stderr and "skipped" in res.stderr
    assert manifest(cache)["03a01Wa"]["status"] == "ok"
    assert manifest(cache)["09a02Ta"]["status"] == "ok"
    res = bsx("data", "prepare", "--dataset", "emodb", "--data-root", str(tmp_path / "emodb"),
              "--emotions", "angri")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no emotion 'angri' (did you mean 'angry'?)" in res.stderr
    res = bsx("data", "prepare", "--dataset", "emodb", "--data-root", str(tmp_path / "none"))
    assert res.returncode == 2 and "none: no such folder" in res.stderr


def test_one_pool_serves_batch_after_batch(files: dict[str, Path], tmp_path: Path) -> None:
    from bsx import pool as pool_mod

    goods = [clip(files[f"good{i}"]) for i in range(4)]
    first, _ = prepare_many(goods[:2], FE, workers=2, cache=tmp_path / "c", progress=False)
    pool = pool_mod._POOLS[("prepare", 2)]
    second, _ = prepare_many(goods[2:], FE, workers=2, cache=tmp_path / "c", progress=False)
    assert pool_mod._POOLS[("prepare", 2)] is pool  # the second batch's misses: same workers
    assert all(p is not None for p in first + second)

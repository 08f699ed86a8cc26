"""Broken HF weights as they arrive from elsewhere: a truncated model.safetensors, a
pytorch_model.bin whose pickle would run code, sharded weights whose shard is missing. Each
is one sentence on stderr naming the file, exit 2, no traceback; the unsafe pickle never runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file

from bsx.errors import BadCheckpoint
from bsx.models.hf import build_config, load_hf, new_classifier, save_hf

SRC = Path(__file__).parents[2] / "src"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = build_config("wav2vec2", ["angry", "happy", "sad"])
    return save_hf(new_classifier(cfg, seed=3), tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    y = 0.2 * np.sin(2 * np.pi * 200 * np.arange(16000) / 16000)
    sf.write(path, y.astype(np.float32), 16000)
    return path


def _copy_json(good: Path, d: Path) -> Path:
    d.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy(good / name, d / name)
    return d


def _explain(wav: Path, d: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "MPLBACKEND": "Agg", "COLUMNS": "400"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bsx.cli",
            "explain",
            str(wav),
            "--checkpoint",
            str(d),
            "--method",
            "saliency",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _one_sentence(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


class RunsCode:
    """Pickles as a call of os.system: what a malicious pytorch_model.bin holds."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_a_truncated_safetensors_file_is_one_sentence(good, wav, tmp_path):
    d = _copy_json(good, tmp_path / "cut")
    data = (good / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    line = _one_sentence(_explain(wav, d, tmp_path / "out"))
    assert f"{d / 'model.safetensors'}: not a complete safetensors file" in line
    assert "truncated or corrupt" in line


def test_a_malicious_pickle_is_refused_for_safety_and_never_runs(good, wav, tmp_path):
    d = _copy_json(good, tmp_path / "evil")
    marker = tmp_path / "it-ran"
    state = load_file(good / "model.safetensors")
    state["payload"] = RunsCode(marker)  # type: ignore[assignment]
    torch.save(state, d / "pytorch_model.bin")
    assert not marker.exists()
    line = _one_sentence(_explain(wav, d, tmp_path / "out"))
    assert f"{d / 'pytorch_model.bin'}: refused for safety" in line
    assert "nothing in it was run" in line
    assert not marker.exists()  # the os.system call never happened
    with pytest.raises(BadCheckpoint, match="refused for safety"):
        load_hf(d)  # in this process too
    assert not marker.exists()


def test_a_truncated_pytorch_bin_is_one_sentence(good, wav, tmp_path):
    d = _copy_json(good, tmp_path / "cut-bin")
    torch.save(load_file(good / "model.safetensors"), d / "pytorch_model.bin")
    data = (d / "pytorch_model.bin").read_bytes()
    (d / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    line = _one_sentence(_explain(wav, d, tmp_path / "out"))
    assert f"{d / 'pytorch_model.bin'}: not a complete PyTorch weights file" in line


def _shard(good: Path, d: Path, suffix: str) -> list[str]:
    """Weights split in two shards with their index, as save_pretrained(max_shard_size) does."""
    state = load_file(good / "model.safetensors")
    keys = sorted(state)
    names = [
        f"{stem}-0000{i}-of-00002.{suffix}"
        for i, stem in (
            (1, "model" if suffix == "safetensors" else "pytorch_model"),
            (2, "model" if suffix == "safetensors" else "pytorch_model"),
        )
    ]
    parts = [keys[: len(keys) // 2], keys[len(keys) // 2 :]]
    for name, part in zip(names, parts, strict=True):
        if suffix == "safetensors":
            save_file({k: state[k] for k in part}, d / name, metadata={"format": "pt"})
        else:
            torch.save({k: state[k] for k in part}, d / name)
    index = {"metadata": {}, "weight_map": {k: names[i] for i, p in enumerate(parts) for k in p}}
    stem = "model.safetensors" if suffix == "safetensors" else "pytorch_model.bin"
    (d / f"{stem}.index.json").write_text(json.dumps(index))
    return names


@pytest.mark.parametrize("suffix", ["safetensors", "bin"])
def test_sharded_weights_load_and_a_missing_shard_is_named(good, wav, tmp_path, suffix):
    d = _copy_json(good, tmp_path / f"sharded-{suffix}")
    names = _shard(good, d, suffix)
    a, _, _ = load_hf(good)
    b, _, _ = load_hf(d)  # complete shards load, equal to the single file
    x = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))
    (d / names[1]).unlink()
    if suffix == "bin":
        with pytest.raises(BadCheckpoint, match=rf"names 1 shard\(s\) .*\({names[1]}\)"):
            load_hf(d)
        return
    line = _one_sentence(_explain(wav, d, tmp_path / "out"))
    assert (
        f"model.safetensors.index.json: names 1 shard(s) that are not in the directory "
        f"({names[1]})" in line
    )

"""`bsx train` plumbing end to end on a tiny tone corpus registered in the test.

The class is the sound's texture (a pure tone, a harmonic complex, noise), which a network
with global average pooling can see anywhere; four speakers, so the speaker split works.
A small front-end (40 mels, 0.6 s) keeps the CPU time low.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from bsx.audio import Frontend
from bsx.datasets.base import Clip
from bsx.models.checkpoint import load_model
from bsx.models.recipe import TrainConfig
from bsx.models.train import Corpus, train_dataset
from bsx.plugins import Spec, get_registry

LABELS = ("pure", "rich", "noisy")
SMALL = Frontend(name="test-small", n_samples=9600, n_fft=512, win_length=400, hop_length=160,
                 n_mels=40)


def sound(label: str, f0: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(16000 * 0.6)) / 16000
    if label == "pure":
        y = np.sin(2 * np.pi * f0 * t)
    elif label == "rich":
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))
    else:
        y = rng.standard_normal(t.size)
    y = 0.3 * y / np.abs(y).max() + 0.003 * rng.standard_normal(t.size)
    return y.astype(np.float32)


@dataclass
class Tones:
    name: str
    labels: tuple[str, ...]
    root: Path

    def clips(self) -> list[Clip]:
        out = []
        rng = np.random.default_rng(0)
        for spk in range(4):
            for lab in LABELS:
                for k in range(3):
                    path = self.root / f"s{spk}_{lab}_{k}.wav"
                    if not path.exists():
                        f0 = 150.0 * (1 + 0.3 * spk + 0.1 * k)
                        sf.write(path, sound(lab, f0, rng), 16000)
                    out.append(Clip(path=path, label=lab, speaker=f"s{spk}", corpus="tones"))
        return out


@pytest.fixture
def tones(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("tones")
    reg = get_registry()
    reg.add(Spec(name="tones", kind="dataset", description="test tones",
                 factory=lambda options: Tones("tones", ("pure", "rich", "calm", "noisy"), root)))
    yield "tones"
    reg.specs["dataset"].pop("tones")


def test_train_dataset_writes_report_and_loadable_checkpoint(tones: str, tmp_path: Path) -> None:
    cfg = TrainConfig(epochs=6, batch_size=6, lr=3e-3, frontend=SMALL, device="cpu")
    corpus = Corpus(tones, workers=1, cache=tmp_path / "cache")
    run = train_dataset(corpus, cfg, out=tmp_path / "run", progress=False)
    rep = json.loads((tmp_path / "run" / "report.json").read_text())
    assert rep["labels"] == ["pure", "rich", "noisy"]  # 'calm' has no clips: dropped
    assert sum(rep["split"]["counts"].values()) == 36 and rep["test"]["n"] == 9
    assert (tmp_path / "run" / "confusion.png").stat().st_size > 1000
    assert (tmp_path / "run" / "split.json").is_file()
    assert np.array(rep["test"]["confusion"]).sum() == 9
    assert rep["test"]["uar"] > 0.6  # texture is easy; chance is 1/3
    m = load_model(run.checkpoint)
    assert m.labels == ("pure", "rich", "noisy") and m.frontend == SMALL
    assert m.meta["dataset"] == "tones" and m.meta["split"]["mode"] == "speaker"
    assert m.meta["metrics"]["test"]["uar"] == pytest.approx(rep["test"]["uar"])
    assert TrainConfig.from_sidecar(m.meta) == cfg  # the sidecar holds the recipe
    assert m.meta["extra"]["train"]["recipe"] == cfg.canonical() == rep["train"]["recipe"]


def test_cli_train(tones: str, tmp_path: Path) -> None:
    from bsx.cli.main import app

    res = CliRunner().invoke(app, [
        "train", "--dataset", tones, "--model", "crnn", "--epochs", "1", "--batch-size", "8",
        "--device", "cpu", "--workers", "1", "--split-mode", "random", "--quiet",
        "--out", str(tmp_path / "cli"),
    ])
    assert res.exit_code == 0, res.output
    assert "UAR" in res.output and (tmp_path / "cli" / "model.json").is_file()
    assert json.loads((tmp_path / "cli" / "model.json").read_text())["model"]["name"] == "crnn"


def test_cli_bad_device_is_one_line_exit_2(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "train", "--device", "tpu", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no device 'tpu'" in res.stderr

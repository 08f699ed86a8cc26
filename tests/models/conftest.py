"""Tiny learnable data: the class is which third of the time axis holds a bright band."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def tone_span_data(n: int, seed: int, n_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1, 32, 48) log-mel-like arrays at -60 dB with a +40 dB band in span `label`."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    X = rng.normal(-60.0, 3.0, (n, 1, 32, 48)).astype(np.float32)
    width = 48 // n_classes
    for i, c in enumerate(y):
        X[i, 0, 8:20, c * width : (c + 1) * width] += 40.0
    return X, y.astype(np.int64)


@pytest.fixture(scope="session")
def tiny_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    Xt, yt = tone_span_data(48, 0)
    Xv, yv = tone_span_data(24, 1)
    return Xt, yt, Xv, yv


@pytest.fixture(scope="session")
def span_data():  # type: ignore[no-untyped-def]
    """tone_span_data itself, for tests that make their own sizes."""
    return tone_span_data


@pytest.fixture
def explain_json() -> Callable[..., dict[str, Any]]:
    """`bsx explain WAV --checkpoint DIR --method saliency --json --out OUT [extra]`, in
    process, as the parsed JSON it prints (asserting exit 0)."""
    from typer.testing import CliRunner

    from bsx.cli.main import app

    def run(wav: Path, d: Path, out: Path, *extra: str) -> dict[str, Any]:
        res = CliRunner().invoke(app, ["explain", str(wav), "--checkpoint", str(d), "--method",
                                       "saliency", "--json", "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout[res.stdout.index("{"):])

    return run


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2.5 s, 16 kHz file: 0.5 s silence, a 180 Hz tone with a 3 Hz wobble, 0.5 s silence."""
    import soundfile as sf

    sr = 16000
    t = np.arange(int(1.5 * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    y = np.concatenate([np.zeros(sr // 2), y, np.zeros(sr // 2)]).astype(np.float32)
    path = tmp_path_factory.mktemp("wav") / "clip.wav"
    sf.write(path, y, sr)
    return path

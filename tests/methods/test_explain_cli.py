"""`bsx explain`: windows on the original timeline, the listenable WAV, files, exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bsx.cli.common import parse_options
from bsx.errors import BsxError
from bsx.explanation import explain_file, parse_target
from bsx.models.checkpoint import load_model
from bsx.testing import saved_resnet

SR = 16000
LEAD_S = 0.6  # silence before the speech-like tone: the front-end trims it


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("explain")
    ckpt = saved_resnet(root / "model.pt")
    t = np.arange(int(1.2 * SR)) / SR
    tone = 0.4 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    y = np.concatenate([np.zeros(int(LEAD_S * SR)), tone, np.zeros(int(0.7 * SR))])
    wav = root / "clip.wav"
    sf.write(wav, y.astype(np.float32), SR)
    return ckpt, wav


def test_explain_writes_everything_on_the_original_timeline(files: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    ckpt, wav = files
    # integrated gradients from the dB floor is exactly 0 where the input IS the floor (the
    # end padding), so every window with positive weight lies in the real content
    e = explain_file(wav, "integrated-gradients", load_model(ckpt), out=tmp_path, k=3,
                     method_options={"n_steps": 8})
    assert len(e.probabilities) == 3 and abs(sum(e.probabilities) - 1) < 1e-5
    assert e.target == e.predicted == int(np.argmax(e.probabilities))
    assert len(e.windows_model) == 3
    for m, o in zip(e.windows_model, e.windows_original, strict=True):
        # the model's t=0 is the tone onset, LEAD_S into the file (end padding only)
        assert m.end_s <= 1.2 + 0.05
        assert o.start_s == pytest.approx(m.start_s + LEAD_S, abs=0.02)
        assert o.end_s == pytest.approx(min(m.end_s, 1.2) + LEAD_S, abs=0.03)
        assert (o.start_frame, o.end_frame) == (m.start_frame, m.end_frame)
    for key in ("attribution", "spectrogram", "waveform"):
        assert Path(e.files[key]).read_bytes()[:4] == b"\x89PNG"
    saved = json.loads(Path(e.files["json"]).read_text())
    assert saved["windows_original"] == [asdict(w) for w in e.windows_original]

    # the WAV: full level inside the windows, -20 dB (x0.1) well away from them
    y, sr = sf.read(wav, dtype="float32")
    z, zsr = sf.read(e.files["listen"], dtype="float32")
    assert zsr == sr and z.shape == y.shape
    inside = np.zeros(y.size, bool)
    for o in e.windows_original:
        inside[int(o.start_s * sr) + 100:int(o.end_s * sr) - 100] = True
    near = np.zeros(y.size, bool)
    for o in e.windows_original:
        near[max(int(o.start_s * sr) - 200, 0):int(o.end_s * sr) + 200] = True
    loud = np.abs(y) > 0.05
    np.testing.assert_allclose(z[inside & loud], y[inside & loud], atol=1e-4)
    far = ~near & loud
    assert far.any()
    np.testing.assert_allclose(z[far], 0.1 * y[far], atol=1e-4)


def test_target_by_label_and_index(files: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, wav = files
    e = explain_file(wav, "saliency", load_model(ckpt), out=tmp_path, target="SAD")
    assert e.target == 2
    labels = ("calm", "happy", "sad")
    assert parse_target("predicted", labels, 1) == 1 and parse_target("0", labels, 1) == 0
    with pytest.raises(BsxError, match="index out of range"):
        parse_target("3", labels, 0)
    with pytest.raises(BsxError, match="not a label of this model"):
        parse_target("angry", labels, 0)


def test_parse_options() -> None:
    assert parse_options(["layer=layer1.conv1", "channels=[35]", "top_n=3"]) == {
        "layer": "layer1.conv1", "channels": [35], "top_n": 3}
    with pytest.raises(BsxError, match="KEY=VALUE"):
        parse_options(["top_n"])


def test_bad_input_is_exit_2_one_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    ckpt, _ = files
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "explain", str(tmp_path / "missing.wav"),
         "--method", "gradcam", "--checkpoint", str(ckpt)],
        capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "missing.wav: no such audio file" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1

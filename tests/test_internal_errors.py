"""A bug reaching the CLI (issue 26.3): a short message, the traceback kept in a log file under
--out (else the bsx cache), a line saying where and how to report it, exit 1."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("stage exploded\non two lines")


def run_cli(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    from bsx.cli.main import run

    monkeypatch.setattr(sys, "argv", ["bsx", *argv])
    with pytest.raises(SystemExit) as exit_:
        run()
    return int(exit_.value.code or 0), capsys.readouterr().err


def logged_path(stderr: str) -> Path:
    line = next(x for x in stderr.splitlines() if "the traceback is kept in " in x)
    return Path(line.split("the traceback is kept in ", 1)[1].split("; ", 1)[0])


def test_an_internal_error_in_evaluate_is_kept_under_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bsx.evaluation

    monkeypatch.setattr(bsx.evaluation, "run_evaluation", _boom)
    out = tmp_path / "ev"
    code, stderr = run_cli(
        [
            "evaluate",
            "--method",
            "random",
            "--cues",
            "librosa",
            "--metrics",
            "gt-precision",
            "--limit",
            "2",
            "--out",
            str(out),
        ],
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert "bsx hit an internal error: RuntimeError: stage exploded on two lines" in stderr
    assert "Traceback" not in stderr and "error:" not in stderr.replace("internal error:", "")
    log = logged_path(stderr)
    assert log.parent == out and log.name.startswith("bsx-error-")
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "in _boom" in text and "RuntimeError: stage exploded" in text
    assert "command: bsx evaluate --method random" in text
    assert "please report it" in stderr


def test_an_internal_error_without_out_is_kept_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bsx.cues.profile

    cache = tmp_path / "cache"
    monkeypatch.setenv("BSX_CACHE_DIR", str(cache))
    monkeypatch.setattr(bsx.cues.profile, "cue_profile", _boom)
    wav = tmp_path / "tone.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32"), 16000)
    code, stderr = run_cli(["cues", str(wav), "--cues", "librosa"], monkeypatch, capsys)
    assert code == 1, stderr
    assert stderr.startswith("bsx hit an internal error: RuntimeError"), stderr
    log = logged_path(stderr)
    assert log.parent == cache / "logs"
    assert "in _boom" in log.read_text()


def test_bad_input_is_still_one_sentence_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BSX_CACHE_DIR", str(tmp_path / "cache"))
    code, stderr = run_cli(["cues", str(tmp_path / "missing.wav")], monkeypatch, capsys)
    assert code == 2 and stderr.startswith("error:"), stderr
    assert not (tmp_path / "cache" / "logs").exists() or not any(
        (tmp_path / "cache" / "logs").iterdir()
    )


def test_an_unwritable_out_falls_back_to_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bsx.crash import keep_traceback, out_folder

    monkeypatch.setenv("BSX_CACHE_DIR", str(tmp_path / "cache"))
    blocker = tmp_path / "file"
    blocker.write_text("a file where --out's folder would go")
    assert out_folder(["evaluate", "--out", str(blocker / "ev")]) == blocker / "ev"
    assert out_folder(["evaluate", f"--out={tmp_path}"]) == tmp_path
    assert out_folder(["evaluate"]) is None
    try:
        raise ValueError("x")
    except ValueError as exc:
        log = keep_traceback(exc, blocker / "ev", argv=["bsx"])
    assert log is not None and log.parent == tmp_path / "cache" / "logs"
    assert "ValueError: x" in log.read_text()

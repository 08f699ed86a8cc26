"""Fault injection (issue 26): every file a user brings loads or is one sentence (exit 2), a bug
is a short message with its traceback kept (exit 1), and a run killed, damaged or raced on its
--out loses nothing already written. Extends tests/test_faults.py (issue 17), whose helpers
it uses; the CLI runs in-process for file faults (fast) and in subprocesses for kills and races.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from test_faults import (
    EMODB_NAMES,
    TINY,
    _stat,
    bsx_cmd,
    descendants,
    fake_dist,
    one_sentence_exit_2,
    run_bsx,
    tone_wav,
    wait_for,
)
from test_internal_errors import logged_path, run_cli

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "src" / "bsx" / "data" / "default_model"

# The subprocesses run in tmp dirs: a relative PYTHONPATH (PYTHONPATH=src) would import another
# bsx there, so its entries are made absolute once.
os.environ["PYTHONPATH"] = os.pathsep.join(
    str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
)


def one_sentence(code: int, stderr: str, *needles: str) -> None:
    """In-process twin of one_sentence_exit_2: exit 2, one 'error:' line naming each needle."""
    assert code == 2, (code, stderr)
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert sum(line.startswith("error:") for line in stderr.splitlines()) == 1, stderr
    for n in needles:
        assert n in " ".join(stderr.split()), (n, stderr)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    wav = tmp_path / "clip.wav"
    tone_wav(wav, 220.0)
    return wav


# --- bsx .pt checkpoints and their sidecars -----------------------------------------------------


class Evil:
    """A pickle that would run a shell command when loaded (it touches a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def make_checkpoint(tmp_path: Path, case: str) -> Path:
    weights = (DEFAULT_MODEL / "model.pt").read_bytes()
    meta = json.loads((DEFAULT_MODEL / "model.json").read_text())
    path = tmp_path / f"{case}.pt"
    side = path.with_suffix(".json")
    if case == "truncated":
        path.write_bytes(weights[: len(weights) // 2])
        side.write_text(json.dumps(meta))
    elif case == "truncated-plain":
        path.write_bytes(weights[: len(weights) // 3])
    elif case == "not-a-zip":
        path.write_text("these are not weights")
    elif case == "unsafe-pickle":
        import torch

        torch.save({"fc.weight": Evil(tmp_path / "PWNED")}, path)
    else:
        path.write_bytes(weights)
        if case == "sidecar-not-json":
            side.write_text("{labels: [angry")
        elif case == "sidecar-no-labels":
            side.write_text(json.dumps({k: v for k, v in meta.items() if k != "labels"}))
        elif case == "sidecar-bad-frontend":
            meta["frontend"]["sample_rate"] = "fast"
            side.write_text(json.dumps(meta))
    return path


CHECKPOINTS = {
    "truncated": ["truncated.pt: not a readable PyTorch state dict", "or cut short"],
    "truncated-plain": ["truncated-plain.pt: not a readable PyTorch state dict"],
    "not-a-zip": ["not-a-zip.pt: not a readable PyTorch state dict"],
    "unsafe-pickle": ["unsafe-pickle.pt: refused for safety, nothing was run", "posix.system"],
    "sidecar-not-json": [
        "sidecar-not-json.json: the metadata beside sidecar-not-json.pt is "
        "not a bsx checkpoint sidecar"
    ],
    "sidecar-no-labels": ["sidecar-no-labels.json", "no 'labels' entry"],
    "sidecar-bad-frontend": [
        "sidecar-bad-frontend.json: its front-end config is not valid "
        "(sample_rate: Input should be a valid integer"
    ],
}


@pytest.mark.parametrize("case", list(CHECKPOINTS))
def test_a_broken_checkpoint_is_one_sentence(
    case: str,
    tmp_path: Path,
    clip: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ckpt = make_checkpoint(tmp_path, case)
    plain = [] if ckpt.with_suffix(".json").exists() else ["--label-preset", "paper7"]
    code, stderr = run_cli(
        [
            "explain",
            str(clip),
            "--method",
            "random",
            "--checkpoint",
            str(ckpt),
            *plain,
            "--out",
            str(tmp_path / "ex"),
        ],
        monkeypatch,
        capsys,
    )
    one_sentence(code, stderr, *CHECKPOINTS[case])
    assert not (tmp_path / "PWNED").exists()  # the pickle's command never ran
    assert not list((tmp_path / "ex").glob("*")) if (tmp_path / "ex").exists() else True


def test_the_unsafe_pickle_would_have_run(tmp_path: Path) -> None:
    """The control: the same file loaded without weights_only does run the command."""
    import torch

    ckpt = make_checkpoint(tmp_path, "unsafe-pickle")
    torch.load(ckpt, weights_only=False)
    assert (tmp_path / "PWNED").exists()


def test_a_plain_tensor_checkpoint_still_loads(tmp_path: Path) -> None:
    from bsx.models.torch_files import foreign_globals, load_tensors

    weights = tmp_path / "model.pt"
    shutil.copy(DEFAULT_MODEL / "model.pt", weights)
    assert foreign_globals(weights) == []
    assert len(load_tensors(weights)) > 10


def test_a_damaged_epoch_checkpoint_is_one_sentence(tmp_path: Path) -> None:
    from bsx.errors import BadCheckpoint
    from bsx.models.torch_files import load_tensors

    ckpt = make_checkpoint(tmp_path, "unsafe-pickle")
    with pytest.raises(BadCheckpoint, match="refused for safety, nothing was run"):
        load_tensors(ckpt, "bsx epoch checkpoint")
    assert not (tmp_path / "PWNED").exists()


# --- TOML leaderboard grids ---------------------------------------------------------------------

GRID_OK = """name = "x"
[grid]
methods = ["random"]
cues = ["librosa"]
metrics = ["gt-precision"]
limit = 2
[[datasets]]
name = "synth"
[[models]]
label = "default"
"""

GRIDS = {
    "syntax": (GRID_OK.replace("[grid]", "[grid"), "not valid TOML", "line 2"),
    "unknown-key": ('colour = "red"\n' + GRID_OK, "'colour': Extra inputs are not permitted"),
    "unknown-grid-key": (GRID_OK.replace("limit", "limt"), "'grid.limt': Extra inputs"),
    "wrong-type": (GRID_OK.replace("limit = 2", 'limit = "two"'), "grid.limit"),
}


@pytest.mark.parametrize("case", list(GRIDS))
def test_a_broken_grid_is_one_sentence(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text, *needles = GRIDS[case]
    grid = tmp_path / f"{case}.toml"
    grid.write_text(text)
    code, stderr = run_cli(
        ["leaderboard", "run", str(grid), "--out", str(tmp_path / "lb")], monkeypatch, capsys
    )
    one_sentence(code, stderr, f"{case}.toml", *needles)
    assert not (tmp_path / "lb" / "leaderboard.sqlite").exists()


# --- audio ---------------------------------------------------------------------------------------


def make_audio(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"{case}.wav"
    good = tmp_path / "good.wav"
    tone_wav(good, 200.0)
    data = good.read_bytes()
    if case == "empty":
        path.write_bytes(b"")
    elif case == "header-only":
        path.write_bytes(data[:44])
    elif case == "cut-in-header":
        path.write_bytes(data[:30])
    elif case == "cut-in-samples":
        path.write_bytes(data[: len(data) // 2])
    elif case == "not-audio":
        path.write_text("a text file named .wav")
    elif case == "nan":
        y = sf.read(good, dtype="float32")[0]
        y[500] = np.nan
        sf.write(path, y, 16000, subtype="FLOAT")
    elif case == "silent":
        sf.write(path, np.zeros(24000, dtype="float32"), 16000)
    return path


AUDIO = {
    "empty": "file is empty (0 bytes)",
    "header-only": "holds no audio samples",
    "cut-in-header": "not a readable audio file, or cut short",
    "not-audio": "not a readable audio file, or cut short",
    "nan": "holds NaN or infinite samples",
    "silent": "is digital silence",
}


@pytest.mark.parametrize("case", list(AUDIO))
def test_bad_audio_is_one_sentence_for_cues(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = make_audio(tmp_path, case)
    code, stderr = run_cli(["cues", str(wav), "--cues", "librosa"], monkeypatch, capsys)
    one_sentence(code, stderr, f"{case}.wav: {AUDIO[case]}")


@pytest.mark.parametrize("case", ["nan", "header-only"])
def test_bad_audio_is_one_sentence_for_explain(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = make_audio(tmp_path, case)
    code, stderr = run_cli(
        ["explain", str(wav), "--method", "random", "--out", str(tmp_path / "ex")],
        monkeypatch,
        capsys,
    )
    one_sentence(code, stderr, f"{case}.wav: {AUDIO[case]}")


def test_a_wav_cut_in_its_samples_loads_what_it_holds(tmp_path: Path) -> None:
    from bsx.audio import load_audio

    y, seconds = load_audio(make_audio(tmp_path, "cut-in-samples"), 16000)
    full, _ = load_audio(tmp_path / "good.wav", 16000)
    assert seconds == pytest.approx(0.75, abs=0.01)  # half of the 1.5 s tone
    np.testing.assert_allclose(y, full[: y.size], atol=1e-4)


def test_explain_of_a_clip_shorter_than_the_fade_warns_and_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 samples: was an internal error (a 5 ms fade longer than the clip)."""
    wav = tmp_path / "blip.wav"
    sf.write(wav, np.full(10, 0.1, dtype="float32"), 16000)
    code, stderr = run_cli(
        ["explain", str(wav), "--method", "random", "--out", str(tmp_path / "ex")],
        monkeypatch,
        capsys,
    )
    assert code == 0, stderr
    assert "not meaningful" in stderr
    assert sf.info(tmp_path / "ex" / "blip.random.listen.wav").frames == 10


@pytest.mark.slow
def test_bad_audio_in_a_dataset_is_skipped_with_its_reason(tmp_path: Path) -> None:
    """Five good clips and six bad ones: the run finishes with the five, each bad one listed."""
    root = tmp_path / "emodb"
    root.mkdir()
    good = EMODB_NAMES[:5]
    for i, name in enumerate(good):
        tone_wav(root / name, 150.0 + 20 * i)
    bad = dict(
        zip(["03a02Wa", "03a02Fa", "08a04Ta", "08a04Na", "11b02Wb", "11b02Fb"], AUDIO, strict=True)
    )
    for stem, case in bad.items():
        make_audio(tmp_path, case).rename(root / f"{stem}.wav")
    out = tmp_path / "ev"
    proc = run_bsx(
        "evaluate",
        *TINY,
        "--dataset",
        "emodb",
        "--data-root",
        str(root),
        "--split",
        "all",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    reasons = {s["clip_id"].split(":")[-1]: s["reason"] for s in summary["skipped"]}
    for stem, case in bad.items():
        assert AUDIO[case] in reasons[f"{stem}.wav"], (stem, reasons)
    assert summary["model"]["n"] == len(good)
    clips = pd.read_csv(out / "clips.csv")
    assert sorted(Path(p).name for p in clips["path"]) == sorted(good)


# --- plugins -------------------------------------------------------------------------------------

BOOM = """
    from bsx.hookspecs import hookimpl
    from bsx.plugins import Spec

    def make(*args, options=None):
        raise RuntimeError("the boom method blew up")

    @hookimpl
    def register_methods(register):
        register(Spec(name="boom", kind="method", description="raises", factory=make))
"""


def tagged(tag: str) -> list[int]:
    """Live processes whose environment holds BSX_FAULT_TAG=tag: a run's children, orphans
    included (they keep the environment after their parent is gone)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or _stat(int(d.name)) is None:
            continue
        try:
            env = (d / "environ").read_bytes()
        except OSError:
            continue
        if f"BSX_FAULT_TAG={tag}".encode() in env.split(b"\0"):
            found.append(int(d.name))
    return found


def plugin_env(site: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MPLBACKEND": "Agg",
        "COLUMNS": "250",
        "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }


@pytest.mark.slow
def test_a_plugin_bug_is_an_internal_error_with_its_traceback_kept(tmp_path: Path) -> None:
    fake_dist(tmp_path, "bsx-boom", "bsx_boom_mod", BOOM)
    out = tmp_path / "ev"
    proc = subprocess.run(
        bsx_cmd(
            "evaluate",
            "--method",
            "boom",
            "--cues",
            "librosa",
            "--metrics",
            "gt-precision",
            "--limit",
            "2",
            "--workers",
            "2",
            "--out",
            str(out),
        ),
        capture_output=True,
        text=True,
        env={**plugin_env(tmp_path), "BSX_FAULT_TAG": str(tmp_path)},
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert wait_for(lambda: not tagged(str(tmp_path)), 15), "its cue workers outlived it"
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "bsx hit an internal error: RuntimeError: the boom method blew up" in proc.stderr
    log = logged_path(proc.stderr)
    assert log.parent == out
    text = log.read_text()
    assert "bsx_boom_mod.py" in text and 'raise RuntimeError("the boom method blew up")' in text


@pytest.mark.slow
def test_a_broken_plugin_keeps_its_traceback_for_its_author(tmp_path: Path) -> None:
    fake_dist(tmp_path, "bsx-fancy", "bsx_fancy_mod", "import fancylib_that_is_not_installed\n")
    proc = subprocess.run(
        bsx_cmd("plugins", "list", "--traceback"),
        capture_output=True,
        text=True,
        env=plugin_env(tmp_path),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "broken plugin bsx-fancy" in proc.stdout
    assert "Traceback (most recent call last)" in proc.stdout
    assert "bsx_fancy_mod.py" in proc.stdout and "fancylib_that_is_not_installed" in proc.stdout
    plain = subprocess.run(
        bsx_cmd("plugins", "list"),
        capture_output=True,
        text=True,
        env=plugin_env(tmp_path),
        timeout=120,
    )
    assert "broken plugin bsx-fancy" in plain.stdout and "Traceback" not in plain.stdout


def test_a_leaderboard_cell_bug_keeps_its_traceback_in_the_cell(tmp_path: Path) -> None:
    from bsx.leaderboard.run import run_leaderboard

    grid = tmp_path / "lb.toml"
    grid.write_text(GRID_OK)
    rep = run_leaderboard(grid, tmp_path / "lb", workers=1, runner=_buggy_runner, progress=False)
    ((cell, msg),) = rep.failed
    assert msg.startswith("ZeroDivisionError: division by zero (internal error; traceback in ")
    log = Path(msg.split("traceback in ", 1)[1].rstrip(")"))
    assert log.parent == tmp_path / "lb" / "cells" / cell.hash
    assert "in _buggy_runner" in log.read_text()


def test_a_second_leaderboard_run_on_the_same_out_is_refused(tmp_path: Path) -> None:
    from bsx.errors import BsxError
    from bsx.leaderboard.run import run_leaderboard
    from bsx.locks import hold_folder

    grid = tmp_path / "lb.toml"
    grid.write_text(GRID_OK)
    (tmp_path / "lb").mkdir()
    with (
        hold_folder(tmp_path / "lb"),
        pytest.raises(BsxError, match="another bsx leaderboard run is writing there"),
    ):
        run_leaderboard(grid, tmp_path / "lb", workers=1, runner=_buggy_runner, progress=False)
    assert not (tmp_path / "lb" / "leaderboard.sqlite").exists()


def _buggy_runner(cfg: object, out: Path) -> dict[str, object]:
    return {"n": 1 / 0}


# --- kill -9, resume, damaged stores, concurrent runs -------------------------------------------

KILLABLE = [*TINY, "--limit", "10", "--batch-size", "2", "--workers", "2"]
KEY = ["clip_id", "method", "cues", "metric", "against"]


def scores(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "results.parquet").drop(columns=["seconds"])
    return df.sort_values(KEY).reset_index(drop=True)


def digests(parts: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in parts.glob("*.parquet")}


def popen_bsx(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bsx_cmd(*args),
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An uninterrupted run, raced by a second run on its --out (--overwrite: the one that
    would delete the first's parts) once the first has written its first batch."""
    tmp = tmp_path_factory.mktemp("reference")
    out = tmp / "ev"
    first = popen_bsx("evaluate", *KILLABLE, "--out", str(out), cwd=tmp)
    try:
        assert wait_for(lambda: any((out / "parts").glob("clips-*.parquet")), 240)
        second = run_bsx("evaluate", *KILLABLE, "--overwrite", "--out", str(out), cwd=tmp)
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert first.returncode == 0, stderr
    return {"out": out, "second": second, "pid": first.pid}


@pytest.mark.slow
def test_a_second_run_on_the_same_out_is_refused_and_the_first_is_whole(
    reference: dict[str, object],
) -> None:
    out = Path(str(reference["out"]))
    second = reference["second"]
    assert isinstance(second, subprocess.CompletedProcess)
    one_sentence_exit_2(
        second, f"{out}: another bsx evaluate run is writing there (pid {reference['pid']})"
    )
    clips = pd.read_csv(out / "clips.csv")
    assert len(clips) == 10 and clips["clip_id"].is_unique
    assert len(scores(out)) == 10  # one gt-precision row per clip, none lost or doubled


@pytest.mark.slow
@pytest.mark.parametrize("after_batches", [1, 3, 5])  # 5: all written, in the tail
def test_kill_9_then_resume_gives_the_uninterrupted_results(
    after_batches: int, reference: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    proc = popen_bsx("evaluate", *KILLABLE, "--out", str(out), cwd=tmp_path)
    try:
        assert wait_for(
            lambda: len(list((out / "parts").glob("clips-*.parquet"))) >= after_batches, 240
        ), "no batch was written"
        assert proc.poll() is None, "the run ended before it could be killed"
        workers = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(_stat(p) for p in workers), 15), "orphan workers"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    kept = {n: d for n, d in digests(out / "parts").items() if n.startswith("clips-")}
    done = sorted(kept)
    # what a kill mid-batch leaves: rows of a batch without its 'clips' part (numbered past any
    # batch the resumed run writes, so not simply overwritten), and a temp file
    last = int(done[-1].removesuffix(".parquet").rsplit("-", 1)[1])
    shutil.copy(
        out / "parts" / f"results-{last:06d}.parquet",
        out / "parts" / f"results-{last + 5:06d}.parquet",
    )
    (out / "parts" / f".results-{last + 2:06d}.parquet.99.tmp").write_bytes(b"half a part")
    resumed = run_bsx("evaluate", *KILLABLE, "--resume", "--out", str(out), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    after = digests(out / "parts")
    assert all(after[n] == d for n, d in kept.items()), "a finished batch was rewritten"
    pd.testing.assert_frame_equal(scores(out), scores(Path(str(reference["out"]))))
    assert not list((out / "parts").glob(".*.tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated-part", "not-parquet-part", "config-json"])
def test_a_damaged_results_store_is_one_sentence_and_loses_nothing(
    damage: str, reference: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    shutil.copytree(Path(str(reference["out"])), out)
    part = out / "parts" / "clips-000002.parquet"
    if damage == "truncated-part":
        part.write_bytes(part.read_bytes()[:100])
        needles = ["clips-000002.parquet: a damaged results part", "*-000002.parquet"]
    elif damage == "not-parquet-part":
        part.write_text("clip_id\nx\n")
        needles = ["clips-000002.parquet: a damaged results part"]
    else:
        (out / "config.json").write_text('{"config": {"methods": ["rand')
        needles = ["config.json: not readable JSON", "--overwrite"]
    before = digests(out / "parts")
    proc = run_bsx("evaluate", *KILLABLE, "--resume", "--out", str(out), cwd=tmp_path)
    one_sentence_exit_2(proc, *needles)
    assert digests(out / "parts") == before  # nothing deleted or rewritten


def test_the_lock_is_one_sentence_and_free_after_its_holder(tmp_path: Path) -> None:
    from bsx.errors import BsxError
    from bsx.locks import hold_folder

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1] / "src")!r})
        from bsx.locks import hold_folder
        with hold_folder(__import__('pathlib').Path({str(tmp_path)!r})):
            print('held', flush=True)
            time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(
                BsxError, match=f"another bsx run is writing there \\(pid {holder.pid}\\)"
            ),
            hold_folder(tmp_path),
        ):
            pass
        holder.send_signal(signal.SIGKILL)  # kill -9: the OS frees the lock
        holder.wait(timeout=10)
        with hold_folder(tmp_path):
            with pytest.raises(BsxError):  # and this process holds it now
                _held_elsewhere(tmp_path)
    finally:
        if holder.poll() is None:
            holder.kill()


def _held_elsewhere(folder: Path) -> None:
    """Try the lock from another open file description, as another process would."""
    from bsx.locks import hold_folder

    with hold_folder(folder):
        pass


def test_tagged_finds_a_tagged_process_and_not_after_it_ends(tmp_path: Path) -> None:
    """The orphan check itself can fail: it sees a live tagged process."""
    child = subprocess.Popen(["sleep", "30"], env={**os.environ, "BSX_FAULT_TAG": str(tmp_path)})
    try:
        assert wait_for(lambda: tagged(str(tmp_path)) == [child.pid], 5)
    finally:
        child.kill()
        child.wait()
    assert tagged(str(tmp_path)) == []

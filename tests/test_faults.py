"""Fault injection (issue 17): what a hostile user does, and what bsx must do then.

Each case runs the real CLI in a subprocess and checks the outcome: no process left behind
(checked by pid), one sentence and exit 2 or a listed skip, nothing already computed lost.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TINY = ["--method", "random", "--metrics", "gt-precision", "--cues", "librosa"]


def bsx_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "bsx.cli", *args]


def run_bsx(*args: str, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "200"}
    return subprocess.run(bsx_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when gone (a zombie counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else (fields[0], int(fields[1]))


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, their children...)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) is not None:
            parents[int(d.name)] = st[1]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def wait_for(cond, timeout: float, step: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def kill_9_leaves_nothing(cmd: list[str], min_workers: int, cwd: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(lambda: len(descendants(proc.pid)) >= min_workers, 120), (
            "the workers never started")
        time.sleep(1.0)  # let them get to work
        workers = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_for(lambda: not any(_stat(p) for p in workers), 15), (
            f"still alive after kill -9 of their parent: "
            f"{sorted(p for p in workers if _stat(p))}")
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in descendants(proc.pid):
            os.kill(p, signal.SIGKILL)


def test_kill_9_of_evaluate_leaves_no_worker(tmp_path: Path) -> None:
    # cue workers (spawned) and multiprocessing's resource tracker: 3 processes
    kill_9_leaves_nothing(bsx_cmd("evaluate", *TINY, "--limit", "40", "--workers", "2",
                                  "--out", str(tmp_path / "ev")), 3, tmp_path)


def test_kill_9_of_a_leaderboard_run_leaves_no_cell_worker(tmp_path: Path) -> None:
    toml = tmp_path / "lb.toml"
    toml.write_text(textwrap.dedent("""
        name = "faults"
        [grid]
        methods = ["random", "saliency"]
        cues = ["librosa"]
        metrics = ["gt-precision"]
        limit = 30
        workers = 2
        [[datasets]]
        name = "synth"
        [[models]]
        label = "default"
    """))
    kill_9_leaves_nothing(bsx_cmd("leaderboard", "run", str(toml), "--out", str(tmp_path / "lb"),
                                  "--workers", "2"), 3, tmp_path)


# --- issue 16.5 / 17.5: --limit and runs with no usable clip ---------------------------------

def one_sentence_exit_2(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, one 'error:' sentence on stderr naming each needle, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n in proc.stderr, (n, proc.stderr)


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_limit_below_one_is_one_sentence(limit: str, tmp_path: Path) -> None:
    proc = run_bsx("evaluate", *TINY, "--limit", limit, "--out", str(tmp_path / "ev"))
    one_sentence_exit_2(proc, f"--limit {limit}", "at least 1")
    assert not (tmp_path / "ev").exists()


EMODB_NAMES = ["03a01Wa.wav", "03a01Fa.wav", "08a02Ta.wav", "08a02Na.wav",
               "11b01Wb.wav", "11b01Fb.wav", "15a04Tc.wav", "15a04Nc.wav"]


def tone_wav(path: Path, f0: float, seconds: float = 1.5, sr: int = 16000) -> None:
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(f0))
    wave = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    sf.write(path, (wave + 0.01 * rng.standard_normal(t.size)).astype("float32"), sr)


def test_all_unreadable_clips_exit_2_and_say_why(tmp_path: Path) -> None:
    root = tmp_path / "emodb"
    root.mkdir()
    for name in EMODB_NAMES:
        (root / name).write_bytes(b"this is not audio at all" * 10)
    out = tmp_path / "ev"
    proc = run_bsx("evaluate", *TINY, "--dataset", "emodb", "--data-root", str(root),
                   "--split", "all", "--workers", "1", "--out", str(out))
    one_sentence_exit_2(proc, "no usable clips")
    assert "results.parquet" not in proc.stdout + proc.stderr
    assert not (out / "results.parquet").exists() and not (out / "results.csv").exists()


def test_evaluate_lists_wrongly_named_files_as_skipped(tmp_path: Path) -> None:
    import json

    root = tmp_path / "emodb"
    root.mkdir()
    for i, name in enumerate(EMODB_NAMES):
        tone_wav(root / name, 150.0 + 20 * i)
    tone_wav(root / "hello.wav", 200.0)
    out = tmp_path / "ev"
    proc = run_bsx("evaluate", *TINY, "--dataset", "emodb", "--data-root", str(root),
                   "--split", "all", "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    skipped = [s for s in summary["skipped"] if "hello.wav" in s["clip_id"]]
    assert len(skipped) == 1 and "expected names like" in skipped[0]["reason"], summary["skipped"]
    warned = [line for line in proc.stderr.splitlines() if "hello.wav" in line]
    assert len(warned) == 1, proc.stderr
    # the wrongly named file is the only skip: the eight good clips were all evaluated
    assert summary["model"]["n"] == len(EMODB_NAMES)


# --- 17.9 (more): a folder, a missing or an unreadable file given for any file option -------

def test_file_options_report_a_folder_as_a_folder(tmp_path: Path) -> None:
    """--checkpoint and --expert were "no such ... file" for a folder (models/, expert.py);
    the CLI now checks each named file before any work."""
    import numpy as np
    import soundfile as sf

    wav = tmp_path / "tone.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32"), 16000)
    folder = tmp_path / "ckpt.pt"
    folder.mkdir()
    cases = [
        ("explain", str(wav), "--method", "random", "--checkpoint", str(folder)),
        ("evaluate", *TINY, "--limit", "2", "--checkpoint", str(folder)),
        ("evaluate", *TINY, "--limit", "2", "--expert", str(folder)),
        ("cues", str(wav), "--cues", "librosa", "--emotion", "anger", "--windows", "0.1-0.3",
         "--expert", str(folder)),
    ]
    for args in cases:
        proc = run_bsx(*args, cwd=tmp_path)
        # a folder given as --checkpoint is read as a save_pretrained directory (--model hf)
        expected = ("save_pretrained directory" if "--checkpoint" in args
                    else f"{folder}: is a folder")
        one_sentence_exit_2(proc, expected)
        assert "no such" not in proc.stderr, proc.stderr
    proc = run_bsx("cues", str(wav), "--emotion", "anger", "--windows", "0.1-0.3",
                   "--expert", str(tmp_path / "missing.csv"), cwd=tmp_path)
    one_sentence_exit_2(proc, "missing.csv: no such expert-cue table")


def test_an_unreadable_file_option_is_one_sentence(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission denied, simulated (tests may run as root, who reads anything)."""
    from bsx.cli.common import require_file
    from bsx.errors import BsxError

    f = tmp_path / "model.pt"
    f.write_bytes(b"x")
    require_file(f, "checkpoint file (.pt)")  # readable: passes
    require_file(None, "checkpoint file (.pt)")  # option left out: passes
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(BsxError, match=f"^{re.escape(str(f))}: cannot be read"):
        require_file(f, "checkpoint file (.pt)")


# --- 17.3 / 17.8: broken leaderboard stores, killed runs ----------------------------------------

LB_TOML = """
name = "faults"
[grid]
methods = ["random"]
cues = ["librosa"]
metrics = ["gt-precision"]
limit = 4
[[datasets]]
name = "synth"
[[models]]
label = "default"
"""


def a_store_with_one_run(path: Path) -> str:
    from bsx.leaderboard.store import Store

    with Store(path) as store:
        run_id = store.start_run(name="x", config_hash="h")
        store.finish_run(run_id, "done")
    return run_id


def break_store(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "not-a-database":
        path.write_text("name,mean\nrandom,0.5\n")
    elif how == "truncated":
        a_store_with_one_run(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2 + 100])
    elif how == "folder":
        path.mkdir()


@pytest.mark.parametrize("how", ["empty", "not-a-database", "truncated", "folder"])
def test_a_broken_store_is_one_sentence_for_show_check_and_run(how: str, tmp_path: Path) -> None:
    lb = tmp_path / "lb"
    lb.mkdir()
    store = lb / "leaderboard.sqlite"
    break_store(store, how)
    (tmp_path / "lb.toml").write_text(LB_TOML)
    for args in (["show", "--store", str(store)],
                 ["check", "--store", str(store), "--baseline", str(store)]):
        proc = run_bsx("leaderboard", *args)
        one_sentence_exit_2(proc, "leaderboard.sqlite")
        if how == "empty":
            assert "no leaderboard run" in proc.stderr and "regress" not in proc.stdout
    if how != "empty":  # an empty file is a fresh store to `run`, as a missing one is
        proc = run_bsx("leaderboard", "run", str(tmp_path / "lb.toml"), "--out", str(lb))
        one_sentence_exit_2(proc, "leaderboard.sqlite")


def test_truncated_store_is_refused_by_store(tmp_path: Path) -> None:
    from bsx.errors import BsxError
    from bsx.leaderboard.store import Store

    path = tmp_path / "leaderboard.sqlite"
    break_store(path, "truncated")
    with pytest.raises(BsxError, match="not a readable leaderboard store"):
        Store(path)


def test_a_killed_run_is_marked_killed(tmp_path: Path) -> None:
    import sqlite3

    from bsx.leaderboard.store import Store

    path = tmp_path / "leaderboard.sqlite"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    with Store(path) as store:
        killed = store.start_run(name="x", config_hash="h")
        alive = store.start_run(name="y", config_hash="h")
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (int(dead.stdout), killed))
        con.execute("INSERT INTO cells (cell_hash, dataset, model, method, config_json, "
                    "status, run_id) VALUES ('c1', 'd', 'm', 'random', '{}', 'running', ?)",
                    (killed,))
    con.close()
    with Store(path) as store:
        runs = store.runs().set_index("run_id")["status"]
        cells = store.cells().set_index("cell_hash")["status"]
    assert runs[killed] == "killed" and runs[alive] == "running"  # this process is alive
    assert cells["c1"] == "failed"


def test_a_version_1_store_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    import sqlite3

    from bsx.leaderboard import store as store_mod

    path = tmp_path / "leaderboard.sqlite"
    v1 = store_mod._SCHEMA.replace(", 'killed')", ")").replace(",\n    pid INTEGER", "")
    con = sqlite3.connect(path)
    con.executescript(v1)
    con.execute("INSERT INTO runs (run_id, name, config_hash, bsx_version, started, status) "
                "VALUES ('r1', 'old', 'h', '0.0', '2026-01-01', 'done')")
    con.execute("INSERT INTO run_cells (run_id, cell_hash) VALUES ('r1', 'c1')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with store_mod.Store(path) as store:
        assert list(store.runs()["run_id"]) == ["r1"]
        new = store.start_run(name="new", config_hash="h")
        store.finish_run(new, "done")
        assert store.latest_run() == new
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert con.execute("PRAGMA foreign_key_check").fetchall() == [("run_cells", 1, "cells", 0)]
    con.close()


# --- 17.2 / 18.8: unreadable corpus entries, warnings of a leaderboard run ---------------------

def test_fingerprint_of_a_folder_with_unreadable_entries_warns_once(tmp_path: Path) -> None:
    from bsx.leaderboard.config import tree_digest

    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    with pytest.warns(UserWarning, match="cannot read gone.wav") as caught:
        first = tree_digest(tmp_path)
    assert len(caught) == 1
    (tmp_path / "gone.wav").unlink()
    assert tree_digest(tmp_path) != first  # the dangling entry is part of the listing


def test_fingerprint_of_etc_does_not_raise() -> None:
    import warnings

    from bsx.leaderboard.config import tree_digest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(tree_digest(Path("/etc"))) == 64


def test_leaderboard_run_on_a_folder_with_a_dangling_symlink_shows_real_warnings(
        tmp_path: Path) -> None:
    root = tmp_path / "emodb"
    root.mkdir()
    for i, name in enumerate([*EMODB_NAMES[:4], "03a05Ea.wav"]):  # E: disgust, unknown to
        tone_wav(root / name, 150.0 + 20 * i)                      # the default model
    (root / "08a05Wb.wav").symlink_to(root / "deleted.wav")
    (tmp_path / "lb.toml").write_text(LB_TOML.replace('name = "synth"', (
        f'name = "emodb"\ndata_root = "{root}"')).replace("limit = 4", 'limit = 4\nsplit = "all"'))
    proc = run_bsx("leaderboard", "run", str(tmp_path / "lb.toml"), "--out", str(tmp_path / "lb"),
                   "--workers", "1")
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    warned = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert sum("cannot read 08a05Wb.wav" in line for line in warned) == 1, text
    assert sum("labels the model does not know" in line for line in warned) == 1, text
    assert len(warned) == len(set(warned)), warned


# --- 17.6: Ctrl-C ------------------------------------------------------------------------------

def test_ctrl_c_of_evaluate_says_so_without_tracebacks_and_keeps_results(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole process group: workers included."""
    out = tmp_path / "ev"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(bsx_cmd("evaluate", *TINY, "--limit", "200", "--workers", "2",
                                    "--batch-size", "4", "--out", str(out)),
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_for(lambda: any((out / "parts").glob("results-*.parquet"))
                        if (out / "parts").is_dir() else False, 180), "no batch was written"
        workers = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "interrupted; results written so far are kept" in stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert wait_for(lambda: not any(_stat(p) for p in workers), 15)
    assert any((out / "parts").glob("results-*.parquet"))  # what was written is kept


# --- 17.7: plugin clashes and broken plugins ------------------------------------------------------

def fake_dist(site: Path, dist: str, module: str, source: str) -> None:
    """An installed distribution `dist` with a bsx entry point to `module` (on PYTHONPATH)."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[bsx]\nplug = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(source))


CLASHING = """
    from bsx.hookspecs import hookimpl
    from bsx.plugins import Spec

    @hookimpl
    def register_methods(register):
        register(Spec(name="random", kind="method", description="mine", factory=dict))
"""


def test_a_name_clash_does_not_stop_every_command(tmp_path: Path) -> None:
    fake_dist(tmp_path, "bsx-clash", "bsx_clash_mod", CLASHING)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "COLUMNS": "250"}

    def bsx(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(bsx_cmd(*args), capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)

    listed = bsx("plugins", "list")
    assert listed.returncode == 0, listed.stderr
    assert "name clash" in listed.stdout and "bsx-clash" in listed.stdout
    assert "BSX_LOAD_PLUGINS" in listed.stdout
    # the clashing name is refused in one sentence naming both and the way out...
    one_sentence_exit_2(bsx("evaluate", "--method", "random", "--out", "x"),
                        "bsx and bsx-clash", "BSX_LOAD_PLUGINS")
    # ...other names still work (the command gets as far as checking --limit)
    one_sentence_exit_2(bsx("evaluate", "--method", "saliency", "--limit", "0"), "--limit 0")
    # and loading only the plugins wanted ends the clash
    env["BSX_LOAD_PLUGINS"] = "nothing-else"
    one_sentence_exit_2(bsx("evaluate", "--method", "random", "--cues", "librosa",
                            "--limit", "0"), "--limit 0")


def test_a_broken_plugin_is_named_when_its_method_is_asked_for(tmp_path: Path) -> None:
    fake_dist(tmp_path, "bsx-fancy", "bsx_fancy_mod",
              'raise ImportError("needs fancylib, which is not installed")\n')
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    tone_wav(tmp_path / "clip.wav", 200.0)
    for cmd in (["evaluate", "--method", "fancy", "--out", "x"],
                ["explain", "clip.wav", "--method", "fancy"]):
        proc = subprocess.run(bsx_cmd(*cmd), capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
        one_sentence_exit_2(proc, "no method 'fancy'", "bsx-fancy", "needs fancylib")


# --- 17.9: messages ------------------------------------------------------------------------------

CLASS_NAMES = ("NoBackendError", "EOFError", "KeyError", "LibsndfileError", "Traceback")


def test_unreadable_audio_says_what_is_accepted_without_class_names(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("hello, not audio")
    (tmp_path / "noise.mp3").write_bytes(bytes(range(256)) * 40)
    for name in ("text.wav", "noise.mp3"):
        proc = run_bsx("cues", str(tmp_path / name), "--cues", "librosa")
        one_sentence_exit_2(proc, name, "accepted: WAV, FLAC")
        assert not any(c in proc.stderr for c in CLASS_NAMES), proc.stderr


def test_a_folder_is_reported_as_a_folder(tmp_path: Path) -> None:
    (tmp_path / "clips.wav").mkdir()
    proc = run_bsx("cues", str(tmp_path / "clips.wav"), "--cues", "librosa")
    one_sentence_exit_2(proc, "is a folder")
    assert "no such file" not in proc.stderr


def test_cues_rejects_digital_silence_like_explain(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    sf.write(tmp_path / "silence.wav", np.zeros(24000, dtype="float32"), 16000)
    for cmd in (["cues", str(tmp_path / "silence.wav"), "--cues", "librosa"],
                ["explain", str(tmp_path / "silence.wav"), "--method", "random"]):
        one_sentence_exit_2(run_bsx(*cmd, cwd=tmp_path), "is digital silence")


def test_library_warnings_stay_out_and_bsx_warnings_are_one_line() -> None:
    script = textwrap.dedent("""
        import warnings
        from bsx.errors import install_warning_lines
        install_warning_lines()
        warnings.warn_explicit("a library talks", DeprecationWarning,
                               "/site-packages/opensmile/core.py", 1)
        warnings.warn_explicit("a library talks", UserWarning, "/x/matplotlib/a.py", 1)
        for _ in range(3):
            warnings.warn_explicit("bsx says\\nthis", UserWarning, "/x/bsx/plan.py", 7)
    """)
    env = {k: v for k, v in os.environ.items() if k != "BSX_SHOW_WARNINGS"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env)
    assert proc.stderr == "warning: bsx says this\n", proc.stderr
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**env, "BSX_SHOW_WARNINGS": "1"})
    assert "warning: a library talks" in proc.stderr, proc.stderr


def test_a_folder_given_as_a_leaderboard_file_is_reported_as_a_folder(tmp_path: Path) -> None:
    for args in (["run", str(tmp_path)], ["show", "--store", str(tmp_path)]):
        proc = run_bsx("leaderboard", *args)
        one_sentence_exit_2(proc, "is a folder")
        assert "no such" not in proc.stderr


def test_not_a_file_says_why() -> None:
    from bsx.errors import not_a_file

    assert not_a_file(Path("/etc"), "config file") == "/etc: is a folder, not a config file"
    assert not_a_file(Path("/nowhere/x.toml"), "config file").endswith("no such config file")
    assert "not a regular file" in not_a_file(Path("/dev/null"), "config file")

"""Leaderboard TOML configs: grid expansion, content hashes, clear errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bsx.cli.main import app
from bsx.leaderboard.config import BadConfig, load_config

BASE = """
name = "demo"
[grid]
methods = ["gradcam", "random"]
cues = ["egemaps"]
metrics = ["pointing-game", "auc"]
limit = 8
seed = 1
[[datasets]]
name = "synth"
options = { per_class = 4 }
[[datasets]]
name = "emodb"
label = "emo"
data_root = "corpus"
[[models]]
label = "ckpt"
checkpoint = "weights/model.pt"
label_preset = "paper7"
[[models]]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "lb.toml"
    p.write_text(text)
    return p


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "03a01Fa.wav").write_bytes(b"RIFF0000")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.pt").write_bytes(b"weights-v1")
    return write(tmp_path, BASE)


def test_grid_expands_to_datasets_x_models_x_methods(files: Path, tmp_path: Path) -> None:
    board = load_config(files)
    assert board.name == "demo" and len(board.cells) == 2 * 2 * 2
    keys = [(c.dataset, c.model, c.method) for c in board.cells]
    assert keys[:4] == [("synth", "ckpt", "gradcam"), ("synth", "ckpt", "random"),
                        ("synth", "default", "gradcam"), ("synth", "default", "random")]
    c = board.cells[0].config
    assert c.methods == ["gradcam"] and c.limit == 8 and c.seed == 1
    assert c.metrics == ["pointing-game", "auc"] and c.dataset_options == {"per_class": 4}
    assert c.checkpoint == (tmp_path / "weights" / "model.pt").resolve()  # relative to file
    assert board.cells[4].config.data_root == (tmp_path / "corpus").resolve()
    assert len({c.hash for c in board.cells}) == 8


def test_hash_follows_content_not_file_location(files: Path, tmp_path: Path) -> None:
    before = [c.hash for c in load_config(files).cells]
    assert [c.hash for c in load_config(files).cells] == before  # stable
    (tmp_path / "weights" / "model.pt").write_bytes(b"weights-v2")  # retrained checkpoint
    after = [c.hash for c in load_config(files).cells]
    changed = [a != b for a, b in zip(before, after, strict=True)]
    # only the cells that use the checkpoint change: (synth, emo) x ckpt x 2 methods
    assert changed == [True, True, False, False, True, True, False, False]
    (tmp_path / "corpus" / "new.wav").write_bytes(b"RIFF")  # corpus grew
    again = [c.hash for c in load_config(files).cells]
    assert [a != b for a, b in zip(after, again, strict=True)] == [False] * 4 + [True] * 4


@pytest.mark.parametrize(("text", "match"), [
    ("[grid\nmethods=[", "not valid TOML"),
    ('[grid]\nmethods = ["gradcm"]\n[[datasets]]\nname = "synth"', "did you mean 'gradcam'"),
    ('[grid]\nmethods = ["gradcam"]\nmetrics = ["aucc"]\n[[datasets]]\nname = "synth"',
     "no metric 'aucc'"),
    ('[grid]\nmethods = ["gradcam"]\nlimt = 3\n[[datasets]]\nname = "synth"', "grid.limt"),
    ('[grid]\nmethods = []\n[[datasets]]\nname = "synth"', "grid.methods"),
    ('[grid]\nmethods = ["gradcam"]', "'datasets'"),
    ('[grid]\nmethods = ["gradcam", "gradcam"]\n[[datasets]]\nname = "synth"', "twice"),
])
def test_bad_configs_name_the_file_and_the_problem(tmp_path: Path, text: str,
                                                   match: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(BadConfig, match=match) as info:
        load_config(p)
    assert str(p) in str(info.value)


def test_cli_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    p = write(tmp_path, '[grid]\nmethods = ["gradcm"]\n[[datasets]]\nname = "synth"')
    proc = subprocess.run([sys.executable, "-m", "bsx.cli", "leaderboard", "run", str(p),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and str(p) in proc.stderr
    assert "gradcm" in proc.stderr
    assert CliRunner().invoke(app, ["leaderboard", "--help"]).exit_code == 0


def test_cell_hash_follows_the_code_that_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from bsx.evaluation import EvalConfig
    from bsx.leaderboard import config

    cfg = EvalConfig(methods=["gradient-x-input"], cues=["zcr"])
    fp = config.code_fingerprints(cfg)
    # third-party plugins are named with their distribution and version; built-ins are not
    assert fp["method:gradient-x-input"] == "bsx-example==0.1.0"
    assert fp["cue:zcr"] == "bsx-example==0.1.0"
    assert "dataset:synth" not in fp and len(fp["bsx"]) == 64
    # a plugin metric's package is part of the cell's code too; bsx's own metrics are not
    fp = config.code_fingerprints(cfg.model_copy(update={"metrics": ["content-share", "auc"]}))
    assert fp["metric:content-share"] == "bsx-example==0.1.0" and "metric:auc" not in fp
    before = config.cell_hash(cfg)
    monkeypatch.setattr(config, "bsx_code_digest", lambda: "edited")
    assert config.cell_hash(cfg) != before


def test_a_save_pretrained_directory_is_fingerprinted_by_its_files(tmp_path):
    from bsx.evaluation.config import EvalConfig
    from bsx.leaderboard.config import input_fingerprints

    d = tmp_path / "w2v"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"a")
    cfg = EvalConfig(model="hf", checkpoint=d)
    before = input_fingerprints(cfg)["checkpoint"]
    assert before != "missing"
    (d / "model.safetensors").write_bytes(b"b")
    assert input_fingerprints(cfg)["checkpoint"] != before

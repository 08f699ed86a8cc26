"""Seed reliability in evaluate and the leaderboard, against known answers.

The packaged default model explains tiny synth sets beside (a) an exact copy of itself: every
map and window is the same, so both scores are exactly 1; (b) a copy with perturbed weights:
the rank correlation must equal scipy's Spearman rho of the two models' Grad-CAM time
profiles computed here from the method API, outside the engine.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr
from typer.testing import CliRunner

from bsx.errors import BsxError
from bsx.evaluation import EvalConfig, run_evaluation
from bsx.evaluation.seeds import load_seed_models, seed_paths, with_seed_metrics
from bsx.paths import DEFAULT_MODEL_FILE, sidecar_path

TINY = {"per_class": 4, "seed": 3}
SEED_METRICS = ["seed-rank-correlation", "seed-window-iou"]
LABELS = ("angry", "fear", "happy", "neutral", "sad")  # the packaged model's


def cfg(**kw: object) -> EvalConfig:
    base = dict(dataset_options=TINY, split="all", limit=4, methods=["gradcam"],
                cues=["egemaps"], metrics=["gt-precision"], batch_size=4, workers=1,
                device="cpu")
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


def _copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULT_MODEL_FILE, dest / "model.pt")
    shutil.copy(sidecar_path(DEFAULT_MODEL_FILE), dest / "model.json")
    return dest / "model.pt"


def _perturbed(dest: Path) -> Path:
    """The default model with seeded noise (half of each tensor's SD) added to its weights,
    saved with the default's sidecar fields: a model of the same recipe that differs."""
    from bsx.audio import get_frontend
    from bsx.models.checkpoint import CheckpointInfo, load_model, save_checkpoint

    meta = json.loads(sidecar_path(DEFAULT_MODEL_FILE).read_text())
    net = load_model(DEFAULT_MODEL_FILE).net
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in net.parameters():
            if p.numel() > 1:
                p.add_(torch.randn(p.shape, generator=gen) * 0.5 * float(p.std()))
    return save_checkpoint(dest / "model.pt", net, CheckpointInfo(
        model_name=meta["model"]["name"], model_options=meta["model"]["options"],
        labels=meta["labels"], frontend=get_frontend(meta["frontend"]), dataset=meta["dataset"],
        split=meta["split"], metrics={}, epoch=0))


def _edited_sidecar(dest: Path, edit: object) -> Path:
    path = _copy(dest)
    meta = json.loads(sidecar_path(path).read_text())
    edit(meta)  # type: ignore[operator]
    sidecar_path(path).write_text(json.dumps(meta))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("seed-models")
    return {"copy": _copy(root / "copy"), "perturbed": _perturbed(root / "perturbed")}


def _seed_rows(out: Path) -> pd.DataFrame:
    res = pd.read_parquet(out / "results.parquet")
    return res[res["category"] == "reliability"]


# --- the config field, its selection and resolution --------------------------------------


def test_default_config_dumps_as_before_so_runs_resume_and_cells_keep_their_hashes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bsx
    from bsx.evaluation.plan import make_plan
    from bsx.leaderboard import config

    dumped = json.loads(EvalConfig().model_dump_json())
    assert "seed_checkpoints" not in dumped
    # the cell hash computed by the code before this field existed (fingerprints pinned)
    monkeypatch.setattr(config, "code_fingerprints", lambda c: {"bsx": "x"})
    monkeypatch.setattr(config, "input_fingerprints", lambda c: {})
    monkeypatch.setattr(bsx, "__version__", "0.1.0")
    assert config.cell_hash(EvalConfig(methods=["gradcam"], limit=4)) == "f6a0a2339d653374"
    # a run written before the field existed resumes; one with seeds does not take its place
    run = cfg()
    (tmp_path / "config.json").write_text(json.dumps({"config": dumped | json.loads(
        run.model_dump_json())}))
    make_plan(run, tmp_path, LABELS, None, {}, resume=True)
    seeded = run.model_copy(update={"seed_checkpoints": [Path("other.pt")]})
    with pytest.raises(BsxError, match="other settings"):
        make_plan(seeded, tmp_path, LABELS, None, {}, resume=True)
    assert EvalConfig.model_validate_json(seeded.model_dump_json()) == seeded


def test_seed_metrics_are_added_with_seed_checkpoints_and_refused_without() -> None:
    assert with_seed_metrics(cfg(), ["gt-precision"]) == ["gt-precision"]
    seeded = cfg(seed_checkpoints=[Path("x.pt")])
    assert with_seed_metrics(seeded, ["gt-precision"]) == ["gt-precision", *SEED_METRICS]
    with pytest.raises(BsxError, match="'seed-window-iou' compares models trained with other "
                                       "seeds; give them with --seed-checkpoints"):
        with_seed_metrics(cfg(), ["seed-window-iou"])


def test_a_train_seeds_folder_stands_for_its_seeds_but_the_main_one(tmp_path: Path) -> None:
    for s in (0, 2, 10):
        _copy(tmp_path / f"seed-{s}")
    (tmp_path / "seed-3").mkdir()  # no model.pt: not a seed
    main = tmp_path / "seed-0" / "model.pt"
    got = seed_paths(cfg(checkpoint=main, seed_checkpoints=[tmp_path]))
    assert got == [tmp_path / "seed-2" / "model.pt", tmp_path / "seed-10" / "model.pt"]
    # files given one by one: the main checkpoint among them is left out, repeats once
    files = [main, tmp_path / "seed-2" / "model.pt", tmp_path / "seed-2" / "model.pt"]
    assert seed_paths(cfg(checkpoint=main, seed_checkpoints=files)) == files[1:2]


def test_missing_and_main_only_seed_checkpoints_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BsxError, match=r"nowhere\.pt: no such checkpoint file or folder"):
        seed_paths(cfg(seed_checkpoints=[tmp_path / "nowhere.pt"]))
    with pytest.raises(BsxError, match="names only the main checkpoint"):
        seed_paths(cfg(seed_checkpoints=[DEFAULT_MODEL_FILE]))
    _copy(tmp_path / "seed-0")
    with pytest.raises(BsxError, match="names only the main checkpoint"):
        seed_paths(cfg(checkpoint=tmp_path / "seed-0" / "model.pt", seed_checkpoints=[tmp_path]))


def test_the_cli_says_why_in_one_line_and_exits_2(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "bsx.cli", "evaluate", "--method", "gradcam",
                          "--seed-checkpoints", str(tmp_path / "nowhere.pt"),
                          "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"})
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "nowhere.pt: no such checkpoint file or folder" in res.stderr.splitlines()[-1]


def _flip_labels(meta: dict) -> None:  # type: ignore[type-arg]
    meta["labels"] = meta["labels"][::-1]


def _other_frontend(meta: dict) -> None:  # type: ignore[type-arg]
    meta["frontend"]["trim_db"] = float(meta["frontend"]["trim_db"]) + 10


@pytest.mark.parametrize(("edit", "why"), [
    (_flip_labels, r"its labels \(sad, .*\) differ from the main model's \(angry, "),
    (_other_frontend, r"was trained through another front-end \(trim_db 24\.0 where the main "
                      r"model has 14\.0\)"),
])
def test_a_seed_model_of_other_labels_or_front_end_is_refused(
        tmp_path: Path, edit: object, why: str) -> None:
    from bsx.models.checkpoint import load_model

    path = _edited_sidecar(tmp_path / "bad", edit)
    with pytest.raises(BsxError, match=why):
        load_seed_models(cfg(seed_checkpoints=[path]), load_model(None), torch.device("cpu"))


def test_a_seed_model_of_another_input_kind_is_refused() -> None:
    from bsx.models.checkpoint import load_model

    waveform = DEFAULT_MODEL_FILE.parent.parent / "default_waveform_model"
    with pytest.raises(BsxError, match="consumes waveform input but the main model consumes "
                                       "logmel"):
        load_seed_models(cfg(seed_checkpoints=[waveform]), load_model(None),
                         torch.device("cpu"))


# --- known answers end to end --------------------------------------------------------------


@pytest.mark.slow
def test_the_main_model_as_its_own_seed_agrees_exactly(models: dict[str, Path],
                                                      tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = run_evaluation(cfg(methods=["gradcam", "random"],
                                 seed_checkpoints=[models["copy"]]), out, resume=False,
                             progress=False)
    rows = _seed_rows(out)
    grad = rows[rows["method"] == "gradcam"]
    assert len(grad) == 2 * 4 and set(grad["metric"]) == set(SEED_METRICS)
    assert (grad["value"] == 1.0).all()
    assert set(rows["direction"]) == {"higher"}
    # random draws its own noise on each model: independent uniform maps, rho ~ 0
    rand = rows[(rows["method"] == "random") & (rows["metric"] == "seed-rank-correlation")]
    assert abs(rand["value"].mean()) < 0.15
    by = {(r["method"], r["metric"]): r for r in summary["metrics"]}
    assert by["gradcam", "seed-rank-correlation"]["mean"] == 1.0
    assert by["gradcam", "seed-rank-correlation"]["category"] == "reliability"
    assert json.loads((out / "config.json").read_text())["config"]["seed_checkpoints"] == [
        str(models["copy"])]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")
def test_rank_correlation_is_spearman_of_the_two_models_gradcam_profiles(
        models: dict[str, Path], tmp_path: Path) -> None:
    from bsx.audio import prepare
    from bsx.models.checkpoint import load_model
    from bsx.plugins import build

    out = tmp_path / "run"
    run_evaluation(cfg(seed_checkpoints=[models["perturbed"]]), out, resume=False,
                   progress=False)
    rows = _seed_rows(out)
    rho = rows[rows["metric"] == "seed-rank-correlation"].set_index("clip_id")["value"]
    assert len(rho) == 4
    assert rho.max() < 0.99  # the perturbed model explains otherwise
    clips = pd.read_csv(out / "clips.csv").set_index("clip_id")
    main, other = load_model(None), load_model(models["perturbed"])
    checked = 0
    for clip_id, value in rho.items():
        root = Path(json.loads((out / "config.json").read_text())["corpus_root"])
        p = prepare(root / clips.loc[clip_id, "path"], main.frontend)
        x = torch.from_numpy(p.logmel)[None, None]
        target = torch.tensor([main.labels.index(clips.loc[clip_id, "target"])])
        lo, hi = p.content_frames()  # compared over content only, never the padding
        a, b = (build("method", "gradcam", m.net).attribute(x, target)[0].sum(0).numpy()[lo:hi]
                for m in (main, other))
        expected = spearmanr(a, b).statistic  # NaN where a profile is constant (no relevance)
        if math.isfinite(expected):
            assert value == pytest.approx(expected, abs=1e-6)
            checked += 1
        else:
            assert math.isnan(value)
    assert checked >= 1


@pytest.mark.slow
def test_leaderboard_cells_of_a_model_with_seeds_carry_the_seed_metrics(
        models: dict[str, Path], tmp_path: Path) -> None:
    from bsx.cli.main import app
    from bsx.leaderboard.config import load_config
    from bsx.leaderboard.run import run_leaderboard
    from bsx.leaderboard.store import Store

    shutil.copytree(models["copy"].parent, tmp_path / "seeds" / "copy")
    config = tmp_path / "lb.toml"
    config.write_text("""
name = "seeds"
[grid]
methods = ["gradcam"]
cues = ["egemaps"]
metrics = ["gt-precision", "seed-rank-correlation", "seed-window-iou"]
split = "all"
limit = 4
batch_size = 4
workers = 1
device = "cpu"
[[datasets]]
name = "synth"
options = { per_class = 4, seed = 3 }
[[models]]
label = "plain"
[[models]]
label = "seeded"
seed_checkpoints = ["seeds/copy/model.pt"]
""")
    board = load_config(config)
    by_model = {c.model: c.config for c in board.cells}
    assert by_model["plain"].seed_checkpoints is None
    assert by_model["plain"].metrics == ["gt-precision"]  # seed metrics only where seeds are
    assert by_model["seeded"].seed_checkpoints == [tmp_path / "seeds" / "copy" / "model.pt"]
    report = run_leaderboard(config, tmp_path / "out", workers=1, progress=False)
    assert report.ok, report.failed
    with Store(tmp_path / "out" / "leaderboard.sqlite") as st:
        res = st.results()
    seeded = res[(res["model"] == "seeded") & res["metric"].isin(SEED_METRICS)]
    assert sorted(seeded["metric"]) == SEED_METRICS and (seeded["mean"] == 1.0).all()
    assert not res[(res["model"] == "plain") & res["metric"].isin(SEED_METRICS)].size
    shown = CliRunner().invoke(app, ["leaderboard", "show", "--out", str(tmp_path / "out"),
                                     "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert "seed-rank-correlation" in shown.output and "seed-window-iou" in shown.output
    # the seed weights are an input of the cell: changing them changes its hash
    before = {c.model: c.hash for c in board.cells}
    _perturbed(tmp_path / "seeds" / "copy")
    after = {c.model: c.hash for c in load_config(config).cells}
    assert after["plain"] == before["plain"] and after["seeded"] != before["seeded"]

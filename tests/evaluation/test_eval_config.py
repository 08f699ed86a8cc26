"""EvalConfig's removal baseline: reachable from the CLI and the leaderboard grid, and invisible
in config.json and cell hashes while at its default (old runs resume, old cells stay cached)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bsx.evaluation.config import EvalConfig

# config.json's "config" keys as written before the baseline fields existed (a real run's)
BEFORE_BASELINE = ["dataset", "data_root", "dataset_options", "model", "checkpoint",
                   "label_preset", "labels", "frontend", "keep", "methods", "method_options",
                   "cues", "metrics", "split", "split_mode", "emotions", "limit", "seed",
                   "device", "batch_size", "workers", "target", "window_options",
                   "ablation_cue", "expert", "clip_ids"]


def test_the_default_baseline_leaves_config_json_as_it_was() -> None:
    cfg = EvalConfig(methods=["gradcam", "random"], limit=24)
    dumped = json.loads(cfg.model_dump_json())
    assert list(dumped) == BEFORE_BASELINE
    # what plan.make_plan compares on --resume: an old run's stored config still matches
    old = {**dumped}
    assert old == json.loads(EvalConfig.model_validate(old).model_dump_json())
    noisy = cfg.model_copy(update={"baseline": "noise", "baseline_snr_db": 10.0})
    stored = json.loads(noisy.model_dump_json())
    assert stored["baseline"] == "noise" and stored["baseline_snr_db"] == 10.0
    assert stored != old  # resuming a silence run with --baseline noise is refused
    assert EvalConfig.model_validate(stored) == noisy  # shards rebuild it from the JSON


def test_cell_hashes_of_existing_configs_do_not_move(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from bsx import __version__
    from bsx.leaderboard import config

    monkeypatch.setattr(config, "bsx_code_digest", lambda: "fixed")
    cfg = EvalConfig(methods=["gradcam"], limit=40)
    old_dump = {k: v for k, v in json.loads(cfg.model_dump_json()).items()
                if k in BEFORE_BASELINE}
    payload = {"config": old_dump, "bsx_version": __version__,
               "code": config.code_fingerprints(cfg), "inputs": config.input_fingerprints(cfg)}
    before = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    assert config.cell_hash(cfg) == before
    assert config.cell_hash(cfg.model_copy(update={"baseline": "noise"})) != before


def test_the_grid_passes_the_baseline_to_every_cell(tmp_path: Path) -> None:
    from bsx.leaderboard.config import load_config

    p = tmp_path / "lb.toml"
    p.write_text('[grid]\nmethods = ["gradcam", "random"]\nbaseline = "noise"\n'
                 'baseline_snr_db = 10.0\n[[datasets]]\nname = "synth"\n')
    cells = load_config(p).cells
    assert {(c.config.baseline, c.config.baseline_snr_db) for c in cells} == {("noise", 10.0)}
    p.write_text('[grid]\nmethods = ["gradcam"]\nbaseline = "pink"\n[[datasets]]\nname = "synth"\n')
    from bsx.leaderboard.config import BadConfig

    with pytest.raises(BadConfig, match="baseline"):
        load_config(p)


def test_a_bad_baseline_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bsx.cli", "evaluate", "--baseline", "pink",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--baseline 'pink'" in errors[0] and "silence, noise" in errors[0]

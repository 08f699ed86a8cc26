"""Honest runs: a model outside its training corpus, clips too short to explain."""

from __future__ import annotations

from types import SimpleNamespace

from bsx.honesty import MIN_CONTENT_S, domain_warning, drop_too_short, too_short


def test_domain_warning_when_the_corpora_differ() -> None:
    w = domain_warning({"dataset": "synth"}, "emodb")
    assert w is not None and "'synth'" in w and "'emodb'" in w
    assert domain_warning({"dataset": "synth"}, "SYNTH") is None
    assert domain_warning({}, "emodb") is None  # a plain state dict: nothing known


def test_domain_warning_for_a_users_file_only_from_the_synth_model() -> None:
    w = domain_warning({"dataset": "synth"}, None, source="anger.wav")
    assert w is not None and "anger.wav" in w and "out of domain" in w
    assert domain_warning({"dataset": "tess"}, None, source="x.wav") is None


def test_too_short_at_the_threshold() -> None:
    assert too_short(MIN_CONTENT_S) is None
    msg = too_short(0.005, source="tiny.wav")
    assert msg is not None and msg.startswith("tiny.wav: only 5 ms")


def test_drop_too_short_lists_the_skipped_clips_with_a_reason() -> None:
    clips = [SimpleNamespace(id=f"c{i}") for i in range(3)]
    prep = [SimpleNamespace(content_s=s) for s in (1.0, 0.1, 0.3)]
    kept_c, kept_p, skipped = drop_too_short(clips, prep)
    assert [c.id for c in kept_c] == ["c0", "c2"] and [p.content_s for p in kept_p] == [1.0, 0.3]
    assert [s[0] for s in skipped] == ["c1"] and "100 ms" in skipped[0][1]


def _tone(path, seconds: float, lead_s: float = 0.0):  # type: ignore[no-untyped-def]
    import numpy as np
    import soundfile as sf

    sr = 16000
    t = np.arange(int(seconds * sr)) / sr
    y = np.concatenate([np.zeros(int(lead_s * sr)), 0.4 * np.sin(2 * np.pi * 180 * t),
                        np.zeros(int(lead_s * sr))])
    sf.write(path, y.astype(np.float32), sr)
    return path


def test_evaluate_skips_and_lists_a_clip_too_short_to_explain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bsx.audio import get_frontend
    from bsx.datasets.base import Clip
    from bsx.evaluation.prepare import submit

    clips = [Clip(path=_tone(tmp_path / f"{name}.wav", s), label="angry", speaker="s",
                  corpus="t") for name, s in (("long", 1.0), ("tiny", 0.04))]
    batch = submit(get_frontend("paper"), clips, {}, workers=1)
    assert [c.id for c in batch.clips] == ["t:long.wav"]
    assert batch.size == 2 and len(batch.prepared) == 1
    assert [s[0] for s in batch.skipped] == ["t:tiny.wav"]
    assert "40 ms of sound" in batch.skipped[0][1]


def test_explain_warns_about_the_synth_model_and_a_tiny_clip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from bsx.cli.main import app

    wav = _tone(tmp_path / "tiny.wav", 0.04)
    res = CliRunner().invoke(app, ["explain", str(wav), "--method", "gradcam", "--device",
                                   "cpu", "--out", str(tmp_path / "out")],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "warning: the model was trained on the synthetic corpus 'synth'" in text
    assert "only 40 ms of sound after trimming silence" in text


def test_training_data_warning_only_without_split_information() -> None:
    from bsx.honesty import training_data_warning

    plain = {"format": "plain-state-dict", "source": "best_model_rav.pth"}
    w = training_data_warning(plain, "ravdess", source="'best_model_rav.pth'")
    assert w is not None and "'ravdess' may include its training data" in w
    assert "best_model_rav.pth" in w and "--trained-on-split" in w
    assert training_data_warning(plain, "ravdess", "none") is None  # the user stated it
    assert training_data_warning(plain, "ravdess", "split.json") is None
    assert training_data_warning({"dataset": "synth", "split": {}}, "synth") is None  # sidecar


def test_stated_split_file_is_read_or_refused_naming_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from bsx.datasets.splits import read_stated_split
    from bsx.errors import BadDataset

    f = tmp_path / "split.json"
    f.write_text('{"train": ["03"], "test": ["09"]}')
    assert read_stated_split(f, "emodb") == {
        "mode": "speaker", "speakers": {"train": ["03"], "test": ["09"]}, "dataset": "emodb"}
    f.write_text('{"mode": "random", "clips": {"test": ["a"]}}')
    with pytest.raises(BadDataset, match=r"split\.json: a split file needs a \"train\" list"):
        read_stated_split(f, "emodb")
    with pytest.raises(BadDataset, match="missing.json: no such split file"):
        read_stated_split(tmp_path / "missing.json", "emodb")


def test_claim_c_carries_the_training_caveat() -> None:
    from bsx.scoring.claims import TRAINING_CAVEAT, with_training_caveat

    rows = [{"claim": c, "verdict": f"v{c}."} for c in "abc"]
    out = with_training_caveat(rows)
    assert [r["verdict"] for r in out] == ["va.", "vb.", "vc." + TRAINING_CAVEAT]
    assert out[2]["may_include_training"] and "may_include_training" not in out[0]
    assert "may include its training data" in TRAINING_CAVEAT


def test_plain_checkpoint_on_a_corpus_warns_once_and_a_stated_split_silences_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The paper's TESS checkpoint (no sidecar) on real EmoDB clips: one warning line,
    recorded in summary.json; a stated split selects its held-out speaker and warns nothing."""
    import json
    import os
    import warnings
    from pathlib import Path

    from bsx.evaluation import EvalConfig, run_evaluation

    ckpt = Path(os.environ["BSX_PAPER_CHECKPOINTS"]) / "best_model_tess.pth"
    root = Path(os.environ["BSX_REAL_SPEECH"]) / "emodb"
    base = dict(dataset="emodb", data_root=root, checkpoint=ckpt, label_preset="paper7",
                methods=["random"], cues=[], metrics=["sparseness"], workers=1,
                device="cpu", batch_size=16)

    def run(out: Path, **kw: object) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            summary = run_evaluation(EvalConfig(**{**base, **kw}), out, resume=False,
                                     progress=False)
        return summary, [str(w.message) for w in caught if "training data" in str(w.message)]

    summary, lines = run(tmp_path / "plain", split="all")
    assert len(lines) == 1 and "'emodb' may include its training data" in lines[0]
    recorded = json.loads((tmp_path / "plain" / "summary.json").read_text())["training_data"]
    assert recorded == summary["training_data"]
    assert recorded["split_from"] == "unknown" and recorded["warning"] == lines[0]

    split = tmp_path / "split.json"
    split.write_text('{"train": ["03"], "val": [], "test": ["09"]}')
    summary, lines = run(tmp_path / "stated", split="test", trained_on_split=split)
    assert lines == [] and summary["training_data"]["split_from"] == "stated"
    clips = json.loads((tmp_path / "stated" / "config.json").read_text())
    assert clips["config"]["trained_on_split"] == str(split)
    import pandas as pd

    speakers = set(pd.read_csv(tmp_path / "stated" / "clips.csv", dtype=str)["speaker"])
    assert speakers == {"09"}


def test_cli_prints_the_training_data_warning_once_and_none_silences_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    from pathlib import Path

    from typer.testing import CliRunner

    from bsx.cli.main import app

    ckpt = Path(os.environ["BSX_PAPER_CHECKPOINTS"]) / "best_model_tess.pth"
    root = Path(os.environ["BSX_REAL_SPEECH"]) / "emodb"
    args = ["evaluate", "--dataset", "emodb", "--data-root", str(root), "--checkpoint",
            str(ckpt), "--label-preset", "paper7", "--split", "all", "--method", "random",
            "--cues", "", "--metrics", "sparseness", "--workers", "1", "--device", "cpu"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")],
                             env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert text.count("may include its training data") == 1
    assert "warning: the checkpoint" in text
    res = CliRunner().invoke(app, [*args, "--trained-on-split", "none", "--out",
                                   str(tmp_path / "b")], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    assert "training data" not in res.output
    res = CliRunner().invoke(app, [*args, "--trained-on-split", str(tmp_path / "no.json"),
                                   "--out", str(tmp_path / "c")], env={"COLUMNS": "400"})
    from bsx.errors import BadDataset  # the entry point prints it and exits 2

    assert isinstance(res.exception, BadDataset) and "no.json: no such split file" in str(
        res.exception)

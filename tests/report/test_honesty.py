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
    from bsx.evaluation.plan import Plan
    from bsx.evaluation.prepare import submit

    clips = [Clip(path=_tone(tmp_path / f"{name}.wav", s), label="angry", speaker="s",
                  corpus="t") for name, s in (("long", 1.0), ("tiny", 0.04))]
    plan = Plan(labels=("angry",), frontend=get_frontend("paper"), split_meta={},
                clips=clips, writer=None, todo=clips)
    submit(plan, clips, {}, workers=1)
    ok_clips, ok_prep, _, size = plan.pending[0]
    assert [c.id for c in ok_clips] == ["t:long.wav"] and size == 2 and len(ok_prep) == 1
    assert [s[0] for s in plan.skipped] == ["t:tiny.wav"]
    assert "40 ms of sound" in plan.skipped[0][1]


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

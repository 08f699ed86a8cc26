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

"""The shared "did you mean" hint for unknown names."""

from __future__ import annotations

from bsx.errors import did_you_mean


def test_close_typo_gets_a_suggestion() -> None:
    assert did_you_mean("angri", ["neutral", "angry", "sad"]) == " (did you mean 'angry'?)"


def test_case_is_ignored_and_known_spelling_kept() -> None:
    assert did_you_mean("PAPER8", ["paper7", "ravdess8"]) == " (did you mean 'paper7'?)"
    assert did_you_mean("gradcm", ["GradCam", "Saliency"]) == " (did you mean 'GradCam'?)"


def test_far_name_gets_nothing() -> None:
    assert did_you_mean("xyzzy", ["gradcam", "saliency", "lime"]) == ""
    assert did_you_mean("angry", []) == ""


def test_several_close_names_closest_first() -> None:
    known = ["gradcam-x", "saliency", "gradcam", "gradcam++x"]
    assert did_you_mean("gradcm", known, n=3) == (
        " (did you mean 'gradcam', 'gradcam-x' or 'gradcam++x'?)"
    )
    assert did_you_mean("gradcm", known, n=2) == " (did you mean 'gradcam' or 'gradcam-x'?)"
    assert did_you_mean("gradcm", known) == " (did you mean 'gradcam'?)"  # one by default


def test_cutoff() -> None:
    assert did_you_mean("gr", ["gradcam"]) == ""  # similarity 4/9
    assert did_you_mean("gr", ["gradcam"], cutoff=0.4) == " (did you mean 'gradcam'?)"

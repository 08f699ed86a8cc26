"""Label presets match the paper's class order; bad names are one clear error."""

from __future__ import annotations

import pytest

from bsx.errors import BsxError, UnknownName
from bsx.labels import label_preset, parse_labels, resolve_labels


def test_presets_follow_the_paper_order() -> None:
    # reference README: {0: fear, 1: neutral, 2: happy, 3: angry, 4: disgust, 5: surprise, 6: sad}
    assert label_preset("paper7").index("angry") == 3
    assert label_preset("PAPER7")[6] == "sad"
    # RAVDESS: emotion code minus 1 (01 neutral ... 08 surprised)
    rav = label_preset("ravdess8")
    assert rav[0] == "neutral" and rav[4] == "angry" and rav[7] == "surprise" and len(rav) == 8


def test_bad_names() -> None:
    with pytest.raises(UnknownName, match="did you mean 'paper7'"):
        label_preset("paper8")
    with pytest.raises(BsxError, match="names repeat"):
        parse_labels("a,b,a")
    with pytest.raises(BsxError, match="not both"):
        resolve_labels("a,b", "paper7")
    assert resolve_labels(None, None) is None
    assert parse_labels(" Happy,sad ") == ("happy", "sad")

"""One window sign rule per method: declared by the method, read by windows and localisation,
overridable by the user; a 0 dB occlusion map (arbitrary sign) is windowed by magnitude."""

from __future__ import annotations

import numpy as np
import pytest

from bsx.errors import BsxError
from bsx.methods.gradcam import GradCam
from bsx.methods.gradients import IntegratedGradients, Saliency
from bsx.methods.occlusion import Occlusion, TimeOcclusion
from bsx.methods.options import (
    IntegratedGradientsOptions,
    OcclusionOptions,
    SaliencyOptions,
    TimeOcclusionOptions,
)
from bsx.scoring.localisation import localisation_scores
from bsx.windows import WindowOptions, find_windows, for_method, method_sign

FRAME_S = 0.015


def test_methods_declare_their_sign() -> None:
    assert method_sign(Occlusion(None)) == "absolute"  # the paper's 0 dB baseline
    assert method_sign(Occlusion(None, OcclusionOptions(baseline="floor"))) == "positive"
    assert method_sign(TimeOcclusion(None)) == "positive"  # floor: a drop is evidence
    assert method_sign(TimeOcclusion(None, TimeOcclusionOptions(baseline=0.0))) == "absolute"
    assert method_sign(Saliency(None)) == "positive"
    assert method_sign(Saliency(None, SaliencyOptions(abs=False))) == "absolute"
    assert method_sign(IntegratedGradients(None)) == "positive"
    assert method_sign(IntegratedGradients(
        None, IntegratedGradientsOptions(baseline=0.0))) == "absolute"
    assert method_sign(GradCam.__new__(GradCam)) == "positive"

    class Plugin:  # declares nothing
        pass

    assert method_sign(Plugin()) == "positive"
    Plugin.sign = "both"  # type: ignore[attr-defined]
    with pytest.raises(BsxError, match="declares sign 'both'; accepted: positive, absolute"):
        method_sign(Plugin())


def test_windows_follow_the_method_unless_the_user_says_otherwise() -> None:
    # an occlusion map with a 0 dB baseline: the span the model needs shows as a large
    # NEGATIVE value (inserting energy there raised the logit), a minor span as positive
    rel = np.zeros((128, 134))
    rel[:, 10:20], rel[:, 50:60] = 1.0, -5.0
    occ = Occlusion(None)
    opts = for_method(WindowOptions(), occ)
    assert opts.sign == "absolute"
    assert [(w.start_frame, w.end_frame) for w in find_windows(rel, FRAME_S, opts)] == [
        (50, 60), (10, 20)]
    user = for_method(WindowOptions(sign="positive"), occ)  # --window-opt sign=positive
    assert [(w.start_frame, w.end_frame) for w in find_windows(rel, FRAME_S, user)] == [
        (10, 20)]
    assert for_method(WindowOptions(), TimeOcclusion(None)).sign == "positive"


def test_localisation_reads_the_sign() -> None:
    masks = np.zeros((2, 128, 40), dtype=bool)
    masks[:, :, 10:16] = True
    maps = np.full((2, 128, 40), 0.01)
    maps[:, :, 10:16] = -1.0  # all the evidence inside the mask, with a negative sign
    pos, _ = localisation_scores(maps, masks, ["relevance-mass-accuracy"])
    ab, _ = localisation_scores(maps, masks, ["relevance-mass-accuracy"], sign="absolute")
    assert pos["relevance-mass-accuracy"] == pytest.approx([0.0, 0.0])
    # |map|: 6 frames x 1.0 inside vs 34 frames x 0.01 outside
    assert ab["relevance-mass-accuracy"] == pytest.approx([6 / (6 + 0.34)] * 2, rel=1e-5)

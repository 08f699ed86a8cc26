"""Whole utterances: keep="whole", units, stitching onto the original timeline."""

import json

import numpy as np
import pytest
import torch

from bsx.audio import PRESETS, Frontend, canonical_json, prepare_waveform, with_keep
from bsx.evaluation.attribute import attribute, clip_logits, stack_units
from bsx.evaluation.salient import salient_windows
from bsx.windows import WindowOptions

SR = 16000


def tone(seconds: float, amp: float = 0.5, f0: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.float32)


def two_bursts() -> np.ndarray:
    """0.6 s silence, 0.7 s tone, 1.0 s silence, 1.5 s tone, 0.6 s silence (4.4 s): the
    silences are longer than the paper's 0.5 s minimum, so each one counts as a pause."""
    return np.concatenate([silence(0.6), tone(0.7), silence(1.0), tone(1.5), silence(0.6)])


def test_paper_presets_are_unchanged_by_the_new_fields() -> None:
    for name in ("paper", "paper-tess-train", "paper-crema-train", "paper-ravdess-train"):
        fe = PRESETS[name]
        assert fe.keep == "first-interval" and fe.input == "logmel"
        fields = json.loads(canonical_json(fe))
        assert not {"keep", "input", "chunk_hop"} & set(fields)
    whole = with_keep(PRESETS["paper"], "whole")
    assert whole.digest() != PRESETS["paper"].digest()


def test_first_interval_keeps_the_first_burst_and_reports_the_share() -> None:
    p = prepare_waveform(two_bursts(), PRESETS["paper"])
    assert p.trim_offset_s == pytest.approx(0.6, abs=0.02)
    assert p.content_s == pytest.approx(0.7, abs=0.02)
    assert p.speech_s == pytest.approx(3.2, abs=0.03)       # 0.6 .. 3.8 s
    assert p.kept_share == pytest.approx(0.7 / 3.2, abs=0.02)
    assert p.unit_starts == (0,) and p.logmel.shape == (128, 134)


def test_whole_keeps_both_bursts_in_overlapping_units() -> None:
    fe = with_keep(PRESETS["paper"], "whole")
    p = prepare_waveform(two_bursts(), fe)
    assert p.trim_offset_s == pytest.approx(0.6, abs=0.02)
    assert p.content_s == pytest.approx(3.2, abs=0.03)
    assert p.kept_share == 1.0
    # 3.2 s of content, units of 2 s every 0.99 s (half a unit in whole frames): 3 units
    hop = fe.unit_hop
    assert hop % fe.hop_length == 0 and hop == 15840
    assert p.unit_starts == (0, hop, 2 * hop)
    assert p.logmel.shape == (3, 128, 134)
    assert len(p.waveform) == 2 * hop + fe.n_samples      # the last unit is padded to 2 s
    units = p.units()
    assert len(units) == 3 and all(u.shape == (128, 134) for u in units)
    # the unit's log-mel is the front-end's own log-mel of that stretch of the timeline
    from bsx.audio import logmel

    np.testing.assert_allclose(units[1], logmel(p.waveform[hop:hop + fe.n_samples], fe))


def test_waveform_units_are_not_padded() -> None:
    fe = Frontend(name="wave", input="waveform", keep="whole", n_samples=2 * SR,
                  hop_length=320, n_mels=1)
    p = prepare_waveform(two_bursts(), fe)
    assert len(p.waveform) == pytest.approx(3.2 * SR, abs=0.03 * SR)
    units = p.units()
    assert p.unit_starts[0] == 0 and units[0].shape == (2 * SR,)
    assert p.unit_starts[-1] + len(units[-1]) == len(p.waveform)   # flush with the end
    assert n_frames_of(p) == 1 + len(p.waveform) // 320


def n_frames_of(p: object) -> int:
    return p.n_frames  # type: ignore[attr-defined]


class LevelNet(torch.nn.Module):
    """2 classes; class 1 = mean dB above the floor of the whole unit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = torch.relu(x + 80.0).mean(dim=(1, 2, 3))
        return torch.stack([-e, e], dim=1) / 10.0


class QuietMap:
    """Relevance = how far a cell lies below its unit's loudest level (beyond 20 dB): a gap in
    loud noise is relevant in every unit that holds it, and nothing else is."""

    def attribute(self, batch: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.relu(-batch[:, 0] - 20.0)


class SampleEnergy:
    """Per-sample relevance of a waveform model: the sample's energy."""

    def attribute(self, batch: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return batch ** 2


def overlap(w: object, a: float, b: float) -> float:
    return max(0.0, min(w.end_s, b) - max(w.start_s, a))  # type: ignore[attr-defined]


@pytest.mark.parametrize("at", [1.90, 2.45, 3.70])
def test_a_planted_span_near_a_unit_border_lands_where_it_was(at: float) -> None:
    # 5.96 s of loud noise (5 units of 2 s every 0.99 s, no padding) with a 0.15 s gap at
    # `at` s; 1.90 and 3.70 sit across unit borders; the gap must come back at `at`
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(32000 + 4 * 15840)).astype(np.float32)
    a = int(at * SR)
    y[a:a + int(0.15 * SR)] = 0.0
    fe = with_keep(PRESETS["paper"], "whole")
    p = prepare_waveform(y, fe)
    assert len(p.unit_starts) >= 4
    units = stack_units([p], torch.device("cpu"))
    assert clip_logits(LevelNet(), units).shape == (1, 2)
    attr = attribute(QuietMap(), units, np.array([1]), [p])
    assert attr.clips[0].shape == (128, p.n_frames)
    _, orig = salient_windows(attr.clips, [p], fe.frame_s, WindowOptions(k=1))
    assert overlap(orig[0][0], at, at + 0.15) >= 0.07


@pytest.mark.parametrize("at", [1.95, 4.10])
def test_a_waveform_model_span_lands_where_it_was(at: float) -> None:
    rng = np.random.default_rng(1)
    y = (0.02 * rng.standard_normal(int(7.1 * SR))).astype(np.float32)
    y[int(at * SR):int((at + 0.15) * SR)] += tone(0.15, amp=0.9, f0=500.0)
    fe = Frontend(name="wave", input="waveform", keep="whole", trim="none", n_samples=2 * SR,
                  hop_length=320, n_mels=1)
    p = prepare_waveform(y, fe)
    units = stack_units([p], torch.device("cpu"))
    assert len(units.groups) == 2          # full units and the shorter last one
    attr = attribute(SampleEnergy(), units, np.array([0]), [p])
    assert attr.clips[0].shape == (1, p.n_frames)
    _, orig = salient_windows(attr.clips, [p], fe.frame_s, WindowOptions(k=1, width=5, hop=5))
    assert overlap(orig[0][0], at, at + 0.15) >= 0.09


def test_clip_logits_are_the_mean_of_unit_logits() -> None:
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(5 * SR)).astype(np.float32)
    p = prepare_waveform(y, with_keep(PRESETS["paper"], "whole"))
    units = stack_units([p, p], torch.device("cpu"))
    net = LevelNet()
    per_unit = net(torch.from_numpy(np.stack(p.units()))[:, None])
    expected = per_unit.mean(0)
    got = clip_logits(net, units)
    torch.testing.assert_close(got[0], expected)
    torch.testing.assert_close(got[1], expected)

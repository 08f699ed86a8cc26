"""Salient windows: the paper's rule on hand-built maps, options, and the original timeline."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from bsx.audio import Frontend, prepare_waveform
from bsx.errors import BsxError
from bsx.windows import (
    Window,
    WindowOptions,
    find_windows,
    find_windows_batch,
    padding_share,
    to_original,
    window_mask,
)

FRAME_S = 240 / 16000


def spans(ws: list[Window]) -> list[tuple[int, int]]:
    return [(w.start_frame, w.end_frame) for w in ws]


def test_paper_rule_by_hand() -> None:
    # frames 20-29 hold 3, frames 70-79 hold 2, frames 100-104 hold 1, the rest 0.1
    rel = np.full((128, 134), 0.1)
    rel[:, 20:30], rel[:, 70:80], rel[:, 100:105] = 3.0, 2.0, 1.0
    ws = find_windows(rel, FRAME_S)
    # mean = 0.1 + (2.9*10 + 1.9*10 + 0.9*5)/134 = 0.4918...: the 0.1 background drops out
    assert spans(ws) == [(20, 30), (70, 80), (100, 110)]
    total = 128 * (30 + 20 + 5)
    assert [w.weight for w in ws] == pytest.approx([128 * 30, 128 * 20, 128 * 5])
    assert [w.share for w in ws] == pytest.approx([30 / 55, 20 / 55, 5 / 55])
    assert sum(w.weight for w in ws) == pytest.approx(total)
    assert ws[0].start_s == pytest.approx(0.3) and ws[0].end_s == pytest.approx(0.45)


def test_top_k_and_rank_order() -> None:
    rel = np.zeros((128, 134))
    for i, f in enumerate(range(0, 130, 10)):
        rel[:, f:f + 10] = i + 1  # later windows are stronger
    ws = find_windows(rel, FRAME_S, WindowOptions(threshold="none", k=3))
    assert spans(ws) == [(120, 130), (110, 120), (100, 110)]


def test_short_last_window_like_range_t_hop() -> None:
    rel = np.zeros((128, 134))
    rel[:, 131] = 1.0
    ws = find_windows(rel, FRAME_S)
    assert spans(ws) == [(130, 134)] and ws[0].end_s == pytest.approx(134 * FRAME_S)


def test_sign_positive_drops_negative_and_absolute_keeps_it() -> None:
    rel = np.zeros((128, 134))
    rel[:, 10:20], rel[:, 50:60] = 1.0, -5.0
    assert spans(find_windows(rel, FRAME_S)) == [(10, 20)]
    assert spans(find_windows(rel, FRAME_S, WindowOptions(sign="absolute"))) == [
        (50, 60), (10, 20)]


def test_threshold_rules() -> None:
    rel = np.tile(np.arange(134, dtype=float), (128, 1))  # relevance grows with time
    q = find_windows(rel, FRAME_S, WindowOptions(threshold="quantile", quantile=0.95, k=5))
    # the top 5% of values: frames >= 127 (quantile of 0..133 at .95 = 125.35 -> 126..133)
    assert spans(q) == [(130, 134), (120, 130)]
    med = find_windows(rel, FRAME_S, WindowOptions(threshold="median", k=10))
    assert min(w.start_frame for w in med) == 60  # frames below 66.5 are zeroed
    assert len(find_windows(rel, FRAME_S, WindowOptions(threshold="none", k=20))) == 14  # +tail


def test_overlapping_hop_stays_non_overlapping() -> None:
    rel = np.zeros((128, 134))
    rel[:, 33:43] = 1.0
    ws = find_windows(rel, FRAME_S, WindowOptions(hop=3, k=3))
    assert spans(ws)[0] == (33, 43)
    for a in ws:
        for b in ws:
            assert a is b or a.end_frame <= b.start_frame or b.end_frame <= a.start_frame


def test_batch_equals_one_by_one(rng: np.random.Generator) -> None:
    maps = rng.normal(size=(5, 128, 134))
    assert find_windows_batch(maps, FRAME_S) == [find_windows(m, FRAME_S) for m in maps]


def test_empty_map_gives_no_windows_and_bad_maps_error() -> None:
    assert find_windows(np.zeros((128, 134)), FRAME_S) == []
    with pytest.raises(BsxError, match="NaN"):
        find_windows(np.full((128, 134), np.nan), FRAME_S)
    with pytest.raises(BsxError, match="n_mels, T"):
        find_windows(np.zeros(134), FRAME_S)
    with pytest.raises(ValidationError):
        WindowOptions(widht=3)  # type: ignore[call-arg]


def test_to_original_removes_padding_and_adds_trim() -> None:
    fe = Frontend()  # 16 kHz, 2 s, pad at the end, relative-dBFS trim
    sr = 16000
    t = np.arange(int(0.8 * sr)) / sr
    tone = 0.5 * np.sin(2 * np.pi * 220 * t)
    y = np.concatenate([np.zeros(int(1.0 * sr)), tone, np.zeros(int(1.0 * sr))])
    prep = prepare_waveform(y.astype(np.float32), fe)
    # the tone starts 1.0 s into the file; trimming keeps it from t=0 of the model input
    assert prep.trim_offset_s == pytest.approx(1.0, abs=0.02)
    w = Window(start_frame=20, end_frame=30, start_s=20 * FRAME_S, end_s=30 * FRAME_S,
               weight=1.0, share=1.0)
    (o,) = to_original([w], prep)
    assert o.start_s == pytest.approx(prep.trim_offset_s + 0.3)
    assert o.end_s == pytest.approx(prep.trim_offset_s + 0.45)
    assert (o.start_frame, o.end_frame, o.weight) == (20, 30, 1.0)
    # a window in the end padding (model 1.8-1.95 s, content ends ~0.8 s) collapses
    pad = Window(120, 130, 120 * FRAME_S, 130 * FRAME_S, 0.5, 0.5)
    (p,) = to_original([pad], prep)
    assert p.start_s == p.end_s == pytest.approx(prep.trim_offset_s + prep.content_s)
    assert padding_share(pad, p) == 1.0 and padding_share(w, o) == pytest.approx(0.0)
    # a window straddling the content's end (~0.8 s): the part past it is padding
    edge = Window(50, 60, 50 * FRAME_S, 60 * FRAME_S, 0.5, 0.5)
    (e,) = to_original([edge], prep)
    inside = prep.content_s - 50 * FRAME_S
    assert padding_share(edge, e) == pytest.approx(1 - inside / (10 * FRAME_S), abs=1e-6)


def test_window_mask() -> None:
    ws = [Window(10, 20, 0.0, 0.0, 1.0, 0.5), Window(130, 134, 0.0, 0.0, 1.0, 0.5)]
    m = window_mask(ws, 134, n_mels=4)
    assert m.shape == (4, 134) and m.dtype == bool
    assert m[:, 10:20].all() and m[:, 130:].all() and m.sum() == 4 * 14

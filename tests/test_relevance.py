"""The time-relevance form: pooling per-sample relevance into frames, stitching units."""

import numpy as np
import pytest

from bsx.relevance import by_shape, stitch, to_grid


def test_to_grid_sums_samples_into_centred_frames() -> None:
    hop = 4
    r = np.zeros(20)
    r[5] = 1.0   # nearest frame centre: 4 (frame 1 covers samples 2..5)
    r[6] = 2.0   # frame 2 covers samples 6..9
    r[19] = 3.0  # frame 5 covers 18..21 (20 samples -> 1 + 20 // 4 = 6 frames)
    g = to_grid(r, hop)
    assert g.shape == (1, 6)
    assert g[0].tolist() == [0.0, 1.0, 2.0, 0.0, 0.0, 3.0]


def test_to_grid_conserves_the_total() -> None:
    r = np.random.default_rng(0).normal(size=16000)
    assert to_grid(r, 320).sum() == pytest.approx(r.sum(), rel=1e-5)


def test_one_unit_at_zero_is_returned_as_is() -> None:
    m = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert stitch([m], [0], 10, 6) is not None
    np.testing.assert_array_equal(stitch([m], [0], 10, 6), m)


def test_stitch_places_units_and_averages_overlaps() -> None:
    hop = 10
    a = np.ones((1, 5), dtype=np.float32)          # frames 0..4
    b = np.full((1, 5), 3.0, dtype=np.float32)     # starts at sample 30 -> frames 3..7
    out = stitch([a, b], [0, 30], hop, 8)
    assert out[0].tolist() == [1, 1, 1, 2, 2, 3, 3, 3]


def test_a_spike_near_a_unit_border_lands_where_it_was() -> None:
    # two units of 6 frames every 3 frames; a spike in the second unit's first frame is
    # global frame 3, a spike in the first unit's last frame is global frame 5
    hop = 8
    u0 = np.zeros((1, 6), dtype=np.float32)
    u1 = np.zeros((1, 6), dtype=np.float32)
    u0[0, 5] = 4.0
    u1[0, 0] = 2.0
    out = stitch([u0, u1], [0, 24], hop, 9)
    assert int(np.argmax(out[0])) == 5
    assert out[0, 3] == pytest.approx(1.0)  # covered by both units: mean of 0 and 2


def test_unit_starts_must_be_whole_frames() -> None:
    with pytest.raises(ValueError, match="whole number"):
        stitch([np.zeros((1, 3)), np.zeros((1, 3))], [0, 5], 4, 6)


def test_by_shape_groups_in_first_seen_order() -> None:
    arrays = [np.zeros((1, 3)), np.zeros((1, 4)), np.zeros((1, 3))]
    assert [g.tolist() for g in by_shape(arrays)] == [[0, 2], [1]]


def _prepared(n_model: int, trim_s: float, pad_s: float, content_s: float,
              original_s: float):  # type: ignore[no-untyped-def]
    from bsx.audio import Prepared, get_frontend

    fe = get_frontend("paper")  # 16 kHz, hop 240
    return Prepared(waveform=np.zeros(n_model, np.float32), logmel=np.zeros(0, np.float32),
                    trim_offset_s=trim_s, pad_offset_s=pad_s, content_s=content_s,
                    original_duration_s=original_s, frontend=fe)


def test_on_original_moves_content_frames_and_drops_padding() -> None:
    from bsx.relevance import on_original

    # model timeline: 0.24 s (16 frames) of padding, then 0.96 s of content that began
    # 1.2 s (80 frames) into a 3 s file; the frame index moves by 80 - 16 = 64
    p = _prepared(32000, trim_s=1.2, pad_s=0.24, content_s=0.96, original_s=3.0)
    rel = np.arange(134, dtype=np.float32)[None].repeat(2, axis=0)
    out = on_original(rel, p)
    assert out.shape == (2, 1 + 48000 // 240)
    kept = np.flatnonzero(out[0])
    assert kept[0] == 16 + 64 and kept[-1] == 16 + 64 + 64  # frames 16..80 (0.24..1.2 s)
    np.testing.assert_array_equal(out[:, kept], rel[:, 16:81])
    assert out.sum() == rel[:, 16:81].sum()  # the content's relevance, all of it


def test_on_original_clips_at_the_end_of_the_file() -> None:
    from bsx.relevance import on_original

    p = _prepared(32000, trim_s=0.9, pad_s=0.0, content_s=2.0, original_s=2.0)
    out = on_original(np.ones((1, 134), np.float32), p)
    assert out.shape == (1, 134)
    assert out[0, :60].sum() == 0 and out[0, 60:].all()  # 0.9 s = 60 frames in

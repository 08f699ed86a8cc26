"""Cue ablation on a planted model: the logit says "frames 40-59 are louder than the rest",
so flattening loudness over that span must drop the target probability far more than the
same edit in random windows of equal length."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bsx.audio import Frontend, prepare_waveform
from bsx.scoring.ablation import (
    RandomDraws,
    active_floor,
    crossfade_weight,
    cue_ablation,
    median_active_rms,
    neutralise_loudness,
    neutralise_pitch,
    random_windows,
)

FE = Frontend(name="test", trim="none")  # 2 s, hop 15 ms, 134 frames
SPOT = (40, 60)  # frames: 0.60-0.90 s on the model timeline
SPAN_S = (SPOT[0] * FE.frame_s, SPOT[1] * FE.frame_s)


pytestmark = pytest.mark.usefixtures("one_thread")


class LouderSpot(nn.Module):
    """logit_1 = (mean dB of frames 40-59 - mean dB elsewhere) / 5; logit_0 = -logit_1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = x.mean(dim=(1, 2))  # (B, T)
        spot = cols[:, SPOT[0]:SPOT[1]].mean(1)
        rest = torch.cat([cols[:, :SPOT[0]], cols[:, SPOT[1]:]], 1).mean(1)
        d = (spot - rest) / 5.0
        return torch.stack([-d, d], 1)


def clips(n: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y = rng.standard_normal(FE.n_samples).astype(np.float32) * 0.03
        a, b = (int(t * FE.sample_rate) for t in SPAN_S)
        y[a:b] *= 10.0  # the spot is 20 dB louder
        out.append(prepare_waveform(y, FE))
    return out


def test_salient_windows_drop_more_than_random_windows() -> None:
    prepared = clips()
    model = LouderSpot().eval()
    res = cue_ablation(model, prepared, [[SPAN_S]] * 4, np.ones(4, int), cue="loudness",
                       draws=RandomDraws(n=3), seed=0)
    assert np.all(res.p_orig > 0.95)
    assert np.all(res.drop_salient > 0.3)        # the span now sits at the clip's level
    assert np.all(np.abs(res.drop_random) < 0.1)  # rest-level windows barely change
    assert np.all(res.gain > 0.3)
    np.testing.assert_allclose(res.gain, res.drop_salient - res.drop_random)
    np.testing.assert_allclose(res.drop_salient, res.p_orig - res.p_salient)


def test_noise_cue_and_a_clip_without_windows() -> None:
    prepared = clips(2, seed=1)
    res = cue_ablation(LouderSpot().eval(), prepared, [[SPAN_S], []], np.array([1, 1]),
                       cue="noise", draws=RandomDraws(n=2))
    assert res.drop_salient[0] > res.drop_random[0] + 0.3
    assert np.isfinite(res.p_orig[1]) and np.isnan(res.gain[1])


def test_loudness_edit_hits_the_target_level_and_nothing_else() -> None:
    rng = np.random.default_rng(0)
    sr = 16000
    y = (rng.standard_normal(sr) * 0.05).astype(np.float32)
    y[4000:8000] *= 8.0
    out = neutralise_loudness(y, sr, [(4000, 8000)], target_rms=0.05)
    np.testing.assert_array_equal(out[:4000], y[:4000])
    np.testing.assert_array_equal(out[8000:], y[8000:])
    inner = out[4200:7800]  # away from the 10 ms fades
    assert np.sqrt(np.mean(inner.astype(np.float64) ** 2)) == pytest.approx(0.05, rel=0.05)
    assert median_active_rms(y, sr) == pytest.approx(0.05, rel=0.1)


def test_pitch_is_flattened_to_the_median_inside_the_window_only() -> None:
    import parselmouth

    sr = 16000
    t = np.arange(sr) / sr
    f0 = 120.0 + 80.0 * t  # a glide 120 -> 200 Hz, median 160 Hz
    y = (0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sr)).astype(np.float32)
    out = neutralise_pitch(y, sr, [(int(0.6 * sr), int(0.9 * sr))])
    np.testing.assert_array_equal(out[: int(0.6 * sr)], y[: int(0.6 * sr)])
    pitch = parselmouth.Sound(out.astype(np.float64), sr).to_pitch(time_step=0.01)
    f, ts = pitch.selected_array["frequency"], pitch.xs()
    inside = f[(ts > 0.65) & (ts < 0.85)]
    assert np.all(np.abs(inside - 160.0) < 4.0)
    before = f[(ts > 0.3) & (ts < 0.5)]
    np.testing.assert_allclose(before, 120.0 + 80.0 * ts[(ts > 0.3) & (ts < 0.5)], atol=4.0)


def test_random_windows_keep_lengths_and_avoid_the_salient_ones() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        got = random_windows([300, 200], (0, 2000), [(800, 1300)], rng)
        assert sorted(b - a for a, b in got) == [200, 300]
        for a, b in got:
            assert 0 <= a and b <= 2000
            assert b <= 800 or a >= 1300
        (a1, b1), (a2, b2) = got
        assert b1 <= a2 or b2 <= a1
    # no room outside the salient span: overlap is allowed rather than failing
    got = random_windows([500], (0, 600), [(0, 400)], rng)
    assert got[0][1] - got[0][0] == 500


def test_crossfade_weight_by_hand() -> None:
    w = crossfade_weight(10, [(2, 8)], fade=2)
    np.testing.assert_allclose(w, [0, 0, 1 / 3, 2 / 3, 1, 1, 2 / 3, 1 / 3, 0, 0])


def test_bad_cue() -> None:
    with pytest.raises(ValueError, match="loudness"):
        cue_ablation(LouderSpot(), clips(1), [[SPAN_S]], np.ones(1, int), cue="timbre")


# ---------------------------------------------------------------- a fair test (issue 18.3)


@pytest.mark.parametrize("cue", ["noise", "loudness"])
def test_same_windows_give_the_same_gain_in_any_batch(cue: str) -> None:
    """Each clip's random windows and noise come from its own generator: alone, in a batch,
    or in another order, the same clip and windows give the same numbers."""
    prepared = clips(4, seed=3)
    wins = [[SPAN_S], [(0.2, 0.35)], [SPAN_S, (1.2, 1.35)], [(1.5, 1.65)]]
    ids = ["a", "b", "c", "d"]
    model = LouderSpot().eval()
    together = cue_ablation(model, prepared, wins, np.ones(4, int), cue=cue, keys=ids,
                            batch_size=3)
    for i in range(4):
        alone = cue_ablation(model, [prepared[i]], [wins[i]], np.ones(1, int), cue=cue,
                             keys=[ids[i]])
        assert alone.gain[0] == pytest.approx(together.gain[i], abs=1e-6)
        assert alone.edit_random[0] == pytest.approx(together.edit_random[i], abs=1e-6)
    order = [3, 1, 0, 2]
    rev = cue_ablation(model, [prepared[i] for i in order], [wins[i] for i in order],
                       np.ones(4, int), cue=cue, keys=[ids[i] for i in order])
    np.testing.assert_allclose(rev.gain, together.gain[order], atol=1e-6)
    # without keys a clip is keyed by its waveform: still batch-independent
    a = cue_ablation(model, prepared[:2], wins[:2], np.ones(2, int), cue=cue)
    b = cue_ablation(model, prepared[1:2], wins[1:2], np.ones(1, int), cue=cue)
    assert b.gain[0] == pytest.approx(a.gain[1], abs=1e-6)


def test_salient_windows_are_clipped_to_the_content() -> None:
    """A 1.2 s clip padded to 2 s: a window half in the padding edits 0.2 s of speech (and
    its random windows are 0.2 s long); one wholly in the padding edits nothing: NaN."""
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(int(1.2 * FE.sample_rate)) * 0.03).astype(np.float32)
    y[int(0.3 * FE.sample_rate):int(0.5 * FE.sample_rate)] *= 10.0
    prep = prepare_waveform(y, FE)
    assert prep.content_s == pytest.approx(1.2) and prep.pad_offset_s == 0.0
    res = cue_ablation(LouderSpot().eval(), [prep, prep], [[(1.0, 1.6)], [(1.4, 1.9)]],
                       np.ones(2, int), cue="noise")
    assert res.salient_s[0] == pytest.approx(0.2)
    assert np.isfinite(res.gain[0]) and res.edit_salient[0] > 0
    assert np.isnan(res.gain[1]) and np.isnan(res.salient_s[1])


def test_a_pause_is_not_amplified_and_edits_are_matched() -> None:
    sr = 16000
    rng = np.random.default_rng(1)
    y = (rng.standard_normal(sr) * 0.05).astype(np.float32)
    y[6000:10000] = (rng.standard_normal(4000) * 1e-4).astype(np.float32)  # a pause, -66 dB
    floor = active_floor(y, sr)
    kept = neutralise_loudness(y, sr, [(6500, 9500)], target_rms=0.05, floor_rms=floor)
    np.testing.assert_array_equal(kept, y)  # no speech in the window: nothing to neutralise
    old = neutralise_loudness(y, sr, [(6500, 9500)], target_rms=0.05)
    assert np.abs(old[7000:9000]).max() > 5 * np.abs(y[7000:9000]).max()  # was x10
    # matched random windows: their edit size is nearer the salient one than unmatched draws
    prepared = clips(4, seed=5)
    model = LouderSpot().eval()
    wins = [[(0.3, 0.45)]] * 4  # a rest-level window: a small edit
    m = cue_ablation(model, prepared, wins, np.ones(4, int), cue="noise",
                     draws=RandomDraws(match="edit"), keys=list("abcd"))
    u = cue_ablation(model, prepared, wins, np.ones(4, int), cue="noise",
                     draws=RandomDraws(match="none"), keys=list("abcd"))
    np.testing.assert_allclose(m.edit_salient, u.edit_salient)
    assert (np.abs(m.edit_random - m.edit_salient).mean()
            < np.abs(u.edit_random - u.edit_salient).mean())


def test_gain_per_db_is_the_drop_per_unit_of_edit() -> None:
    """With one random draw, gain_per_db = drop_s / edit_s - drop_r / edit_r exactly; on the
    planted model the salient span wins per dB as well."""
    prepared = clips(3, seed=7)
    res = cue_ablation(LouderSpot().eval(), prepared, [[SPAN_S]] * 3, np.ones(3, int),
                       cue="loudness", draws=RandomDraws(n=1), keys=list("xyz"))
    want = res.drop_salient / res.edit_salient - res.drop_random / res.edit_random
    np.testing.assert_allclose(res.gain_per_db, want, rtol=1e-9)
    assert np.all(res.gain_per_db > 0)


def test_an_edit_of_rounding_size_gives_no_gain_per_db() -> None:
    """A clip at one steady level (a tone whose level moves by 0.001 dB) has no loudness to
    neutralise: each window's edit is far under 1e-4 of the input's RMS, and drop / edit
    would be a ratio of rounding errors. The per-dB gain is NaN, the raw drops ~0."""
    t = np.arange(FE.n_samples) / FE.sample_rate
    wobble = 1 + 1e-4 * np.sin(2 * np.pi * t / 0.37)  # level moves by 0.001 dB: no cue
    y = (0.1 * wobble * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    prepared = [prepare_waveform(y, FE)]
    res = cue_ablation(LouderSpot().eval(), prepared, [[SPAN_S]], np.ones(1, int),
                       cue="loudness", draws=RandomDraws(n=2), keys=["tone"])
    units = prepared[0].units()
    rms = float(np.sqrt(np.mean(np.concatenate([u.ravel() for u in units]) ** 2)))
    assert res.edit_salient[0] < 1e-4 * rms  # the loudness edit changed nothing real
    assert np.isnan(res.gain_per_db[0])
    assert abs(res.drop_salient[0]) < 1e-4 and abs(res.drop_random[0]) < 1e-4


def test_loudness_neutralising_equals_the_whole_clip_weight_form() -> None:
    """The span-local gain (linear in clip length) gives bit-identical samples to the form
    that built a whole-clip weight per span, spans at the edges and overlapping included."""
    from bsx.scoring.ablation import FADE_S, MAX_GAIN, _span_level, crossfade_weight

    sr = 16000
    rng = np.random.default_rng(3)
    y = (0.1 * rng.standard_normal(5 * sr)).astype(np.float32)
    y[sr:2 * sr] *= 0.01  # a quiet stretch: gains up to the cap
    spans = [(0, 1200), (3000, 9000), (8000, 8100), (15000, 40000), (5 * sr - 700, 5 * sr)]
    for floor in (0.0, 0.002):
        gain = np.ones(len(y))
        for lo, hi in spans:
            rms = _span_level(y, sr, lo, hi, floor)
            g = min(0.05 / rms, MAX_GAIN) if rms > 0 else 1.0
            gain += crossfade_weight(len(y), [(lo, hi)], int(FADE_S * sr)) * (g - 1.0)
        want = (y * gain).astype(np.float32)
        got = neutralise_loudness(y, sr, spans, target_rms=0.05, floor_rms=floor)
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(got, y)

"""The fair random control (docs/controls.md): random maps and windows inside each clip's
content, removal metrics that perturb content only, and each method's window shares.

Known answer: on synth clips padded by the front-end (1.8 s of speech in a 5 s input), a map
that is uniform noise inside the content and zero in the padding, built here by hand, must
score as the random method does; noise over the whole grid (the old control) must not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsx.audio import Frontend, prepare
from bsx.evaluation.attribute import attribute, stack_units
from bsx.evaluation.salient import pause_share, salient_windows, window_rows, window_shares
from bsx.plugins import build
from bsx.scoring.faithfulness import Removal, quantus_scores
from bsx.scoring.perturb import content_guard, frame_gate
from bsx.testing import SpotNet
from bsx.windows import Window, WindowOptions

FE = Frontend(name="padded-5s", n_samples=80000, pad="center")  # pads 1.8 s clips to 5 s
SPOT = (130, 200)  # frames inside every clip's content (content is ~frames 106-228)
SEEDS = range(3)
METRICS = ["region-perturbation"]  # AOPC of the MoRF removal curve


@pytest.fixture(scope="module")
def padded(tmp_path_factory: pytest.TempPathFactory):
    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    root = tmp_path_factory.mktemp("synth") / "c"
    clips = Synth(SynthOptions(data_root=root, per_class=2, speakers=3, seed=3, workers=1)).clips()
    prepared = [prepare(c.path, FE) for c in clips]
    units = stack_units(prepared, torch.device("cpu"))
    return clips, prepared, units


def _content_noise(prepared, seed: int) -> list[np.ndarray]:
    """Uniform noise inside each clip's content frames, 0 in the padding (by hand)."""
    rng = np.random.default_rng(1000 + seed)
    out = []
    for p in prepared:
        m = rng.uniform(size=(FE.n_mels, p.n_frames)).astype(np.float32)
        lo, hi = p.content_frames()
        m[:, :lo] = 0.0
        m[:, hi:] = 0.0
        out.append(m)
    return out


def _random_maps(units, prepared, seed: int, *, content: bool) -> list[np.ndarray]:
    method = build("method", "random", None, options={"seed": seed})
    if not content:  # the old control: noise over the whole grid, padding included
        units = type(units)(**{**units.__dict__, "content": None})
    return attribute(method, units, np.zeros(units.n_clips, dtype=int), prepared).clips


def _padding_share(maps, clips, prepared) -> float:
    wins, orig = salient_windows(maps, prepared, FE.frame_s, WindowOptions(sign="positive"))
    rows = window_rows([c.id for c in clips], "m", wins, orig)
    return window_shares(rows)["m"]["padding"]


def _scores(maps, units, prepared) -> dict[str, np.ndarray]:
    x = units.inputs().numpy()
    lo_hi = np.array([p.content_frames() for p in prepared])
    return quantus_scores(
        SpotNet(frames=SPOT, n_frames=prepared[0].n_frames),
        x,
        np.ones(len(x), dtype=int),
        np.stack(maps),
        METRICS,
        removal=Removal(fe=FE, content=lo_hi),
    )


def test_content_frames_are_the_unpadded_span(padded):
    _, prepared, units = padded
    for p, (lo, hi) in zip(prepared, units.content, strict=True):
        assert p.pad_offset_s > 1.0  # these clips are padded on both sides
        centres = np.arange(p.n_frames) * FE.frame_s
        inside = (centres >= p.pad_offset_s) & (centres < p.pad_offset_s + p.content_s)
        assert (lo, hi) == (np.flatnonzero(inside)[0], np.flatnonzero(inside)[-1] + 1)
        assert np.abs(p.waveform[: int(p.pad_offset_s * FE.sample_rate)]).max() == 0.0


def test_random_windows_avoid_padding_and_whole_grid_noise_does_not(padded):
    clips, prepared, units = padded
    fair = np.mean(
        [
            _padding_share(_random_maps(units, prepared, s, content=True), clips, prepared)
            for s in SEEDS
        ]
    )
    old = np.mean(
        [
            _padding_share(_random_maps(units, prepared, s, content=False), clips, prepared)
            for s in SEEDS
        ]
    )
    hand = np.mean([_padding_share(_content_noise(prepared, s), clips, prepared) for s in SEEDS])
    assert fair < 0.05 and hand < 0.05
    # ~64% of the grid is padding: whole-grid noise puts about that share of its windows there
    assert old > 0.4


@pytest.mark.slow
def test_content_random_map_scores_as_the_random_method(padded):
    """Same mean score within 3 standard errors; the whole-grid noise of the old control
    scores far off (its padding windows are no-op removals: AOPC 0.18 against 0.39)."""
    clips, prepared, units = padded
    got = {k: {m: [] for m in METRICS} for k in ("method", "hand", "old")}
    for s in SEEDS:
        for k, maps in (
            ("method", _random_maps(units, prepared, s, content=True)),
            ("hand", _content_noise(prepared, s)),
            ("old", _random_maps(units, prepared, s, content=False)),
        ):
            for m, v in _scores(maps, units, prepared).items():
                got[k][m].append(v)
    for m in METRICS:
        a, b, old = (np.concatenate(got[k][m]) for k in ("method", "hand", "old"))
        assert np.isfinite(a).all() and np.isfinite(b).all()
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 3 * se, (m, a.mean(), b.mean(), se)
        se_old = np.sqrt(old.var(ddof=1) / old.size + b.var(ddof=1) / b.size)
        assert abs(old.mean() - b.mean()) > 5 * se_old, (m, old.mean(), b.mean())


def test_removal_leaves_padding_frames_alone():
    net = SpotNet(frames=(0, 134))  # hears every frame
    x = np.random.default_rng(0).uniform(-70, -10, (2, 1, 128, 134)).astype(np.float32)
    base = np.full_like(x, -80.0)
    content = np.zeros((2, 134), dtype=bool)
    content[:, 40:90] = True
    gate = frame_gate(net, x, base, content=content)
    g = torch.ones(2, 1, 1, 134)
    with torch.no_grad():
        full = gate(g)
        g_pad = g.clone()
        g_pad[..., :40] = 0.0
        g_pad[..., 90:] = 0.0
        assert torch.allclose(gate(g_pad), full)  # "removing" padding changes nothing
        g_in = g.clone()
        g_in[..., 50:60] = 0.0
        assert not torch.allclose(gate(g_in), full)  # removing content does
        guard = content_guard(net, x, content)
        xt = torch.as_tensor(x)
        edited = xt.clone()
        edited[..., :40] = 0.0
        assert torch.allclose(guard(edited), net(xt))
        edited[..., 60] = -80.0
        assert not torch.allclose(guard(edited), net(xt))


def test_pause_share_counts_non_speech_content_frames():
    class P:  # the two fields pause_share reads
        pad_offset_s, content_s = 1.0, 1.0

    speech = np.ones(100, dtype=bool)  # 10 ms frames of the 1 s content
    speech[20:40] = False  # a 200 ms pause at 0.2-0.4 s of content
    # model-timeline window 0.9-1.5 s: 0.1 s padding, then content 0-0.5 s holding the pause
    w = Window(start_frame=0, end_frame=0, start_s=0.9, end_s=1.5, weight=1.0, share=1.0)
    assert pause_share(w, P(), speech, 0.01) == pytest.approx(0.2 / 0.6)
    rows = window_rows(
        ["c"],
        "m",
        [[w]],
        [[Window(0, 0, 0.0, 0.5, 1.0, 1.0)]],
        pauses=[[pause_share(w, P(), speech, 0.01)]],
    )
    shares = window_shares(rows)["m"]
    assert shares["padding"] == pytest.approx(0.1 / 0.6, abs=1e-4)
    assert shares["pauses"] == pytest.approx(0.2 / 0.6, abs=1e-4)
    assert shares["speech"] == pytest.approx(0.3 / 0.6, abs=1e-4)

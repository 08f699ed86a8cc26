"""The meta-evaluation of the metrics (docs/meta-evaluation.md), on known answers.

On synth clips with planted spans, an oracle map (the planted mask, smoothed in time) is
re-scored by the engine's own computes on its perturbed versions. Known answers:
- gt-precision separates the oracle from its time-shifted version (and from random): reactive;
  its effect against the shifted map equals the mean difference computed here by hand, from
  windows of a map shifted by np.roll and bsx.scoring.groundtruth.gt_precision_recall;
- a toy metric that ignores the map gives identical values for every map: "not reactive";
- relevance-mass-accuracy of a smooth map barely moves under a 1-frame shift (resilience near 1).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import gaussian_filter1d

from bsx.audio import Frontend, prepare
from bsx.evaluation.attribute import Attributions, stack_units
from bsx.evaluation.batch import BatchContext
from bsx.evaluation.computes import BatchInputs, MethodBatch
from bsx.evaluation.config import EvalConfig
from bsx.evaluation.groundtruth import planted_masks
from bsx.evaluation.meta import invert, meta_rows, pick_clips, shift
from bsx.evaluation.salient import salient_windows
from bsx.plugins import NoOptions
from bsx.scoring.groundtruth import gt_precision_recall
from bsx.scoring.meta import meta_table, verdict
from bsx.scoring.specs import MetricSpec, get_metric
from bsx.windows import WindowOptions

FE = Frontend(name="padded-5s", n_samples=80000, pad="center")  # pads 1.8 s clips to 5 s


def _content_length(options: NoOptions):  # noqa: ARG001
    """A toy metric that ignores the map: the content's duration."""
    return lambda ci: ci.content[1] - ci.content[0]


TOY = MetricSpec(
    name="ignores-map",
    category="description",
    direction="higher",
    compute="clip",
    consumes=("map",),
    description="the content's duration",
    unit="s",
    factory=_content_length,
)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory):
    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions

    root = tmp_path_factory.mktemp("synth") / "c"
    clips = Synth(
        SynthOptions(
            data_root=root,
            per_class=3,
            speakers=3,
            seed=3,
            workers=1,
            emotions=["angry", "sad", "happy"],
        )
    ).clips()
    prepared = [prepare(c.path, FE) for c in clips]
    units = stack_units(prepared, torch.device("cpu"))
    planted = planted_masks(clips, prepared)
    maps = [gaussian_filter1d(m.astype(np.float32), sigma=3.0, axis=-1) for m in planted]
    specs = {
        "gt-precision": get_metric("gt-precision"),
        "relevance-mass-accuracy": get_metric("relevance-mass-accuracy"),
        TOY.name: TOY,
    }
    cfg = EvalConfig(methods=["oracle"], cues=[], workers=1, device="cpu")
    ctx = BatchContext(
        cfg=cfg,
        loaded=SimpleNamespace(net=None, frontend=FE),
        device=torch.device("cpu"),
        methods={},
        extractors={},
        expert=None,
        metrics=specs,
    )
    b = BatchInputs(
        clips=clips,
        prepared=prepared,
        units=units,
        target=np.zeros(len(clips), dtype=int),
        target_labels=["angry"] * len(clips),
        planted=planted,
        tracks={},
        cue_seconds={},
        expert=None,
    )
    opts = WindowOptions(sign="positive")
    wins, wins_orig = salient_windows(maps, prepared, FE.frame_s, opts)
    mb = MethodBatch(
        method="oracle",
        batch=b,
        attr=Attributions(units=maps, clips=maps),
        wins=wins,
        wins_orig=wins_orig,
        sign="positive",
        window_opts=opts,
    )
    rows = meta_rows(ctx, b, {"oracle": mb}, list(range(len(clips))))
    values = pd.DataFrame(rows["meta"])
    table = {
        (r["metric"], r["against"]): r
        for r in meta_table(values, {n: s.direction for n, s in specs.items()})
    }
    return clips, prepared, maps, values, table


def test_gt_precision_separates_the_planted_map_from_its_shifted_version(scored) -> None:
    clips, prepared, maps, _, table = scored
    row = table[("gt-precision", "planted")]
    assert row["vs_shifted"]["status"] == "better"
    assert row["vs_random"]["status"] == "better"
    assert row["verdict"].startswith("reactive")
    # the effect, by hand: shift each map by half its content, window it, score it
    shifted = []
    for m, p in zip(maps, prepared, strict=True):
        lo, hi = p.content_frames()
        s = m.copy()
        s[:, lo:hi] = np.roll(m[:, lo:hi], (hi - lo) // 2, axis=-1)
        shifted.append(s)
    opts = WindowOptions(sign="positive")
    diffs = []
    for ms in (maps, shifted):
        _, orig = salient_windows(ms, prepared, FE.frame_s, opts)
        diffs.append(
            [
                gt_precision_recall(
                    [(w.start_s, w.end_s) for w in ws], [tuple(s) for s in c.meta["spans"]]
                )[0]
                for ws, c in zip(orig, clips, strict=True)
            ]
        )
    expected = float(np.mean(np.array(diffs[0]) - np.array(diffs[1])))
    assert expected > 0.3
    assert row["vs_shifted"]["effect"] == pytest.approx(expected, abs=1e-9)
    assert row["vs_shifted"]["n"] == len(clips)


def test_a_metric_that_ignores_the_map_is_not_reactive(scored) -> None:
    _, _, _, values, table = scored
    toy = values[values["metric"] == TOY.name]
    assert toy.groupby("clip_id")["value"].nunique().eq(1).all()  # the same for every map
    row = table[(TOY.name, "")]
    assert row["verdict"] == "not reactive"
    assert {row[k]["status"] for k in ("vs_random", "vs_inverted", "vs_shifted")} == {"not shown"}


def test_a_smooth_metric_is_resilient_to_a_one_frame_shift(scored) -> None:
    *_, table = scored
    row = table[("relevance-mass-accuracy", "planted")]
    assert row["verdict"].startswith("reactive")
    assert row["resilience_shift"] > 0.95
    assert 0.0 <= row["resilience_seed"] <= 1.0
    assert np.isnan(row["resilience_baseline"])  # no removal baseline
    assert np.isnan(row["ranking_tau"])


def test_perturbations_stay_inside_the_content() -> None:
    m = np.arange(12, dtype=float).reshape(1, 12)
    inv = invert(m, 2, 8)
    assert inv[0, :2].tolist() == [0, 1] and inv[0, 8:].tolist() == [8, 9, 10, 11]
    assert inv[0, 2:8].tolist() == [5, 4, 3, 2, 1, 0]  # max 7 minus 2..7
    sh = shift(m, 2, 8, 1)
    assert sh[0, 2:8].tolist() == [7, 2, 3, 4, 5, 6] and sh[0, 0] == 0 and sh[0, 11] == 11


def test_picked_clips_are_spread_and_bounded() -> None:
    ids = [f"c{i:02d}" for i in range(40)]
    picked = pick_clips(ids, 5)
    assert picked == {"c00", "c10", "c20", "c29", "c39"}
    assert pick_clips(ids, 100) == set(ids) and pick_clips(ids, 0) == set()


def _row(status: str, **kw: float) -> dict:
    base = {
        "resilience_shift": 1.0,
        "resilience_seed": 1.0,
        "resilience_baseline": np.nan,
        "ranking_tau": np.nan,
        **kw,
    }
    return {
        **base,
        **{
            k: {"status": status, "reason": "r"} for k in ("vs_random", "vs_inverted", "vs_shifted")
        },
    }


def test_verdict_words() -> None:
    assert verdict(_row("better")) == "reactive and resilient"
    assert verdict(_row("better", resilience_seed=0.3)) == "reactive but unstable (seed)"
    assert (
        verdict(_row("better", ranking_tau=1 / 3))
        == "reactive but unstable (ranking across baselines)"
    )
    assert verdict(_row("not shown")) == "not reactive"
    assert verdict(_row("untestable")) == "cannot be tested here (r)"


def test_multi_unit_clips_keep_their_own_unit_maps() -> None:
    """Whole-utterance clips hold several model input units: the picked clips' unit maps and
    stitched clip maps must be theirs (unit j of the batch filled with the value j)."""
    from bsx.audio import PRESETS, prepare_waveform, with_keep
    from bsx.evaluation.attribute import to_clip_maps
    from bsx.evaluation.meta import method_batch, sub_batch

    sr = 16000
    t = np.arange(int(1.5 * sr)) / sr
    burst = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    gap = np.zeros(sr, dtype=np.float32)
    fe = with_keep(PRESETS["paper"], "whole")
    waves = [np.concatenate([gap, burst, gap, burst, gap]), burst, np.concatenate([burst, burst])]
    prepared = [prepare_waveform(w, fe) for w in waves]
    units = stack_units(prepared, torch.device("cpu"))
    per_clip = [int((units.clip_of == i).sum()) for i in range(3)]
    assert per_clip[0] > 1 and per_clip[2] > 1
    maps = [
        np.full((fe.n_mels, 134), float(j), dtype=np.float32) for j in range(len(units.clip_of))
    ]
    clips = [SimpleNamespace(id=f"c{i}", speaker="s", label="angry", meta={}) for i in range(3)]
    b = BatchInputs(
        clips=clips,
        prepared=prepared,
        units=units,
        target=np.zeros(3, dtype=int),
        target_labels=["angry"] * 3,
        planted=None,
        tracks={},
        cue_seconds={},
        expert=None,
    )
    opts = WindowOptions(sign="positive")
    source = MethodBatch(
        method="m",
        batch=b,
        attr=Attributions(units=maps, clips=to_clip_maps(maps, units, prepared)),
        wins=[],
        wins_orig=[],
        sign="positive",
        window_opts=opts,
    )
    ctx = BatchContext(
        cfg=EvalConfig(),
        loaded=SimpleNamespace(net=None, frontend=fe),
        device=torch.device("cpu"),
        methods={},
        extractors={},
        expert=None,
        metrics={},
    )
    sub = sub_batch(ctx, b, [1, 2])
    mb = method_batch(ctx, sub, "m", source)
    first = per_clip[0]
    assert [float(m[0, 0]) for m in mb.attr.units] == list(
        range(first, first + per_clip[1] + per_clip[2])
    )
    for got, want in zip(mb.attr.clips, source.attr.clips[1:], strict=True):
        assert np.array_equal(got, want)

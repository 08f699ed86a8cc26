"""The evaluate engine end to end on a tiny synth set with the packaged default model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bsx.evaluation import EvalConfig, run_evaluation

pytestmark = pytest.mark.slow

TINY = {"per_class": 6, "seed": 3}


def cfg(**kw: object) -> EvalConfig:
    base = dict(dataset_options=TINY, split="all", methods=["gradcam", "crp", "random"],
                cues=["egemaps"], batch_size=8, workers=1, device="cpu",
                metrics=["gt-precision", "gt-recall", "relevance-mass-accuracy",
                         "pointing-game", "cue-agreement-rest", "cue-agreement-neutral",
                         "ablation-gain"])
    base.update(kw)
    return EvalConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("eval")
    summary = run_evaluation(cfg(), out, resume=False, progress=False)
    return out, summary


def _means(out: Path) -> pd.DataFrame:
    res = pd.read_parquet(out / "results.parquet")
    return res.groupby(["method", "metric", "against", "cues"])["value"].mean()


def test_writes_every_output_file(run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    out, summary = run
    for name in ("results.parquet", "results.csv", "summary.json", "report.html", "config.json",
                 "metrics.png", "profiles.parquet", "clips.csv", "windows.csv"):
        assert (out / name).is_file(), name
    assert json.loads((out / "summary.json").read_text())["n_clips"] == summary["n_clips"]
    res = pd.read_parquet(out / "results.parquet")
    assert set(res["direction"].dropna()) <= {"higher", "lower", ""}
    assert not res["metric"].str.startswith("time-").any()  # seconds live in timings.csv
    timings = pd.read_csv(out / "timings.csv")
    assert {"attribution", "cues"} <= set(timings.loc[timings["kind"] == "stage", "step"])
    wins = pd.read_csv(out / "windows.csv")
    clips = pd.read_csv(out / "clips.csv").set_index("clip_id")
    # original timeline = model timeline + trim offset (the synth clips need no padding)
    trim = clips.loc[wins["clip_id"], "trim_offset_s"].to_numpy()
    inside = wins["model_end_s"] <= clips.loc[wins["clip_id"], "content_s"].to_numpy()
    assert np.allclose((wins["start_s"] - wins["model_start_s"])[inside], trim[inside],
                       atol=2e-3)  # each written to 1 ms
    # times to the millisecond, no float noise; clips named relative to the corpus root
    for col in ("start_s", "end_s", "model_start_s", "model_end_s"):
        assert np.array_equal(wins[col], wins[col].round(3)), col
    csv_paths = pd.read_csv(out / "results.csv")["path"].astype(str)
    assert not csv_paths.str.startswith("/").any()
    assert all(Path(a).as_posix().endswith("/" + b)
               for a, b in zip(res["path"], csv_paths, strict=True))
    assert all(Path(p).is_file() for p in res["path"].unique())  # the Parquet keeps it whole
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "gradcam" in html
    # each method's window time split into padding, pauses and speech (docs/controls.md)
    shares = summary["window_shares"]
    assert set(shares) == {"gradcam", "crp", "random"}
    for method, s in shares.items():
        g = wins[wins["method"] == method]
        span = g["model_end_s"] - g["model_start_s"]
        assert s["pauses"] == pytest.approx((span * g["pause_share"]).sum() / span.sum(),
                                            abs=1e-4)
        assert s["padding"] + s["pauses"] + s["speech"] == pytest.approx(1.0, abs=1e-3)
        assert s["n_windows"] == len(g)


def test_model_is_far_above_chance_on_the_tiny_set(run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, summary = run
    n_classes = len(pd.read_csv(run[0] / "clips.csv")["label"].unique())
    assert summary["model"]["uar"] > 2.0 / n_classes


@pytest.mark.parametrize("method", ["gradcam", "crp"])
def test_method_beats_random_on_ground_truth_and_ablation(
        run: tuple[Path, dict], method: str) -> None:  # type: ignore[type-arg]
    m = _means(run[0])
    for metric in ("gt-precision", "relevance-mass-accuracy"):
        assert m[method, metric, "planted", ""] > m["random", metric, "planted", ""] + 0.1
    assert m[method, "ablation-gain", "loudness", ""] > m["random", "ablation-gain",
                                                            "loudness", ""]


def test_resume_after_interrupt_gives_the_same_rows(tmp_path: Path,
                                                    run: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    def boom(done: int, total: int) -> None:
        if done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_evaluation(cfg(), tmp_path, resume=False, progress=False, on_batch=boom)
    parts = list((tmp_path / "parts").glob("clips-*.parquet"))
    assert len(parts) == 1  # the first batch was kept whole
    run_evaluation(cfg(), tmp_path, resume=True, progress=False)
    cols = ["clip_id", "method", "cues", "metric", "against", "value"]
    a = pd.read_parquet(tmp_path / "results.parquet")
    b = pd.read_parquet(run[0] / "results.parquet")
    a = a[~a["metric"].str.startswith("time-")][cols].sort_values(cols[:5]).reset_index(drop=True)
    b = b[~b["metric"].str.startswith("time-")][cols].sort_values(cols[:5]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)


def test_empty_masks_are_dropped_not_scored() -> None:
    from bsx.scoring.localisation import localisation_scores

    maps = np.random.default_rng(0).random((2, 128, 20))
    masks = np.zeros((2, 128, 20), dtype=bool)
    masks[0, :, 5:8] = True
    scores, dropped = localisation_scores(maps, masks, ["pointing-game"])
    assert dropped == 1 and np.isnan(scores["pointing-game"][1])


def test_explaining_the_true_class_matches_the_shared_forward_where_correct(
        run: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    # where the prediction is right, explaining the predicted and the true class is the same
    out, _ = run
    clips = pd.read_csv(out / "clips.csv").set_index("clip_id")
    assert (clips["target"] == clips["pred"]).all()
    run_evaluation(cfg(methods=["gradcam"], metrics=["gt-precision"], target="true"),
                   tmp_path, resume=False, progress=False)
    true = pd.read_csv(tmp_path / "clips.csv").set_index("clip_id")
    assert (true["target"] == true["label"]).all()
    assert (true["pred"] == clips.loc[true.index, "pred"]).all()
    correct = true.index[true["correct"]]
    assert len(correct) >= len(true) // 2  # enough clips for the comparison to bite

    def windows(path: Path) -> pd.DataFrame:
        w = pd.read_csv(path / "windows.csv")
        w = w[(w["method"] == "gradcam") & w["clip_id"].isin(correct)]
        return w.sort_values(["clip_id", "rank"]).reset_index(drop=True)[
            ["clip_id", "rank", "start_s", "end_s", "share"]]

    pd.testing.assert_frame_equal(windows(out), windows(tmp_path), atol=1e-6)


def test_cues_measured_in_two_workers_give_the_same_rows(
        run: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    # the fixture measured the cues in one process; two cue workers, with a batch in flight
    # while the one before is scored, give the same clips and the same scores
    out, _ = run
    run_evaluation(cfg(methods=["gradcam"], metrics=["gt-precision", "cue-agreement-rest"],
                       workers=2, batch_size=4), tmp_path, resume=False, progress=False)
    cols = ["clip_id", "metric", "value"]

    def rows(path: Path) -> pd.DataFrame:
        r = pd.read_parquet(path / "results.parquet")
        r = r[(r["method"] == "gradcam") & r["metric"].isin(["gt-precision",
                                                               "cue-agreement-rest"])]
        return r.sort_values(cols[:2]).reset_index(drop=True)[cols]

    pd.testing.assert_frame_equal(rows(out), rows(tmp_path), atol=1e-9)

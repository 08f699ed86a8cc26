"""The plugin registry: lookup, clashes, broken plugins, and real entry points end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bsx import hookspecs
from bsx.errors import NameClash, UnknownName
from bsx.hookspecs import hookimpl
from bsx.plugins import HOOKS, Spec, build, collect, get_registry

ROOT = Path(__file__).resolve().parents[1]


class Methods:
    @hookimpl
    def register_methods(self, register):  # type: ignore[no-untyped-def]
        register(Spec(name="GradCam-X", kind="method", description="d", factory=dict))


class Broken:
    @hookimpl
    def register_cues(self, register):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in register")


class Cues:
    @hookimpl
    def register_cues(self, register):  # type: ignore[no-untyped-def]
        register(Spec(name="pitchy", kind="cue", description="d", factory=dict))


def test_lookup_is_case_insensitive_and_records_the_dist() -> None:
    reg = collect([("pkg-a", "1.2", "a", Methods())])
    spec = reg.get("method", "gradcam-x")
    assert spec.name == "GradCam-X" and spec.dist == "pkg-a" and spec.version == "1.2"
    assert reg.get("method", "  GRADCAM-X ") is spec


def test_unknown_name_suggests_and_lists() -> None:
    reg = collect([("pkg-a", "1", "a", Methods())])
    hint = r"no method 'gradcam-y' \(did you mean 'gradcam-x'\?\); available: GradCam-X"
    with pytest.raises(UnknownName, match=hint):
        reg.get("method", "gradcam-y")
    with pytest.raises(UnknownName, match="available: none"):
        reg.get("cue", "anything")


def test_two_plugins_one_name_names_both_packages() -> None:
    reg = collect([("pkg-a", "1", "a", Methods()), ("pkg-b", "1", "b", Methods()),
                   ("good", "1", "good", Cues())])
    assert reg.get("cue", "pitchy").dist == "good"  # the other names still work
    with pytest.raises(NameClash, match="pkg-a and pkg-b.*BSX_LOAD_PLUGINS=pkg-b"):
        reg.get("method", "gradcam-x")
    assert reg.clashes == {("method", "gradcam-x"): ["pkg-a", "pkg-b"]}


def test_an_unknown_name_mentions_the_broken_plugins() -> None:
    reg = collect([("bad", "1", "bad", Broken()), ("good", "1", "good", Cues())])
    with pytest.raises(UnknownName, match="no cue 'pitchier'.*failed to load.*bad.*boom"):
        reg.get("cue", "pitchier")


def test_a_plugin_that_raises_is_broken_and_the_rest_register() -> None:
    reg = collect([("bad", "1", "bad", Broken()), ("good", "1", "good", Cues())])
    assert reg.names("cue") == ["pitchy"]
    assert len(reg.broken) == 1 and reg.broken[0].dist == "bad"
    assert "boom in register" in reg.broken[0].error


def test_misspelt_hook_is_reported() -> None:
    class Typo:
        @hookimpl
        def register_method(self, register):  # type: ignore[no-untyped-def]
            pass

    reg = collect([("typo", "1", "typo", Typo())])
    assert any("register_method" in b.error for b in reg.broken)


def test_every_hookspec_is_a_kind_and_documented_in_the_plugin_guide() -> None:
    specs = {n for n in dir(hookspecs) if n.startswith("register_")}
    assert specs == set(HOOKS.values())
    guide = (ROOT / "docs" / "plugins.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in specs:
        assert f"{name}(register)" in guide, f"docs/plugins.md lacks {name}"
        assert f"`{name}`" in readme, f"README's plugin kinds lack {name}"


def test_builtins_are_registered_through_the_hooks() -> None:
    reg = get_registry(refresh=True)
    assert reg.get("model", "resnet-small").dist == "bsx"
    assert reg.get("dataset", "synth").dist == "bsx"
    assert not [b for b in reg.broken if b.dist == "bsx"]


@pytest.fixture(scope="module")
def example_plugin() -> None:
    """Install plugins/bsx-example into this environment (CI installs it up front)."""
    try:
        distribution("bsx-example")
    except PackageNotFoundError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e",
             str(ROOT / "plugins" / "bsx-example")],
            check=True,
        )
    get_registry(refresh=True)


def test_example_plugin_shows_up_and_works(example_plugin: None) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "plugins", "list", "--json"],
        capture_output=True, text=True, check=True,
    )
    rows = json.loads(res.stdout)["plugins"]
    mine = {(r["name"], r["kind"]) for r in rows if r["package"] == "bsx-example"}
    assert mine == {("gradient-x-input", "method"), ("zcr", "cue"), ("content-share", "metric")}

    # The registry hands out working objects: gradient x input of a linear model is w * x.
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 6, 2))
    method = build("method", "Gradient-X-Input", net)
    x = torch.randn(3, 1, 4, 6)
    rel = method.attribute(x, torch.tensor([0, 1, 0]))
    w = net[1].weight.detach().view(2, 4, 6)
    assert torch.allclose(rel, w[[0, 1, 0]] * x[:, 0], atol=1e-6)

    # ZCR of a 1 kHz sine at 16 kHz: 2 crossings per 16 samples = 0.125.
    zcr = build("cue", "zcr", options={"frame_ms": 25.0})
    t = np.arange(16000) / 16000
    tracks = zcr.extract(np.sin(2 * np.pi * 1000 * t + 0.1).astype(np.float32), 16000)
    assert tracks.n_frames == 100
    assert np.allclose(tracks.values["ZCR"][5:-5], 0.125, atol=0.01)


class Ones:
    """A method whose map is 1 in every bin: its relevance per frame is the same everywhere."""

    def __init__(self, model: torch.nn.Module, options: object = None) -> None:
        pass

    def attribute(self, batch: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.ones(batch.shape[0], *batch.shape[2:], device=batch.device)


@pytest.fixture
def ones_method() -> Iterator[None]:
    reg = get_registry()
    reg.add(Spec(name="ones", kind="method", description="a constant map", factory=Ones))
    yield
    del reg.specs["method"]["ones"]


@pytest.mark.filterwarnings("ignore:Quantus refused", "ignore:--split all")
def test_a_plugin_metric_runs_in_evaluate_with_its_direction(
        example_plugin: None, ones_method: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's content-share, evaluated on synth clips, equals the hand count: a
    constant map has the same relevance in each of the 134 frames, frame f is centred at
    f x 15 ms and the paper front-end pads at the end, so the share is the number of frames
    centred inside the content, ceil(content_s / 0.015), over 134. The same run checks that
    the removal metrics get the run's baseline."""
    import bsx.scoring.faithfulness as faith
    from bsx.evaluation import EvalConfig, run_evaluation

    seen: list[str] = []
    real = faith.quantus_scores

    def spy(*args, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw["removal"].baseline)
        return real(*args, **kw)

    monkeypatch.setattr(faith, "quantus_scores", spy)
    cfg = EvalConfig(dataset_options={"per_class": 6, "seed": 3}, split="all", limit=4,
                     methods=["ones"], cues=["librosa"], device="cpu", workers=1,
                     metrics=["Content-Share", "region-perturbation"], baseline="noise")
    summary = run_evaluation(cfg, tmp_path, resume=False, progress=False)
    res = pd.read_parquet(tmp_path / "results.parquet")
    clips = pd.read_csv(tmp_path / "clips.csv").set_index("clip_id")
    got = res[res["metric"] == "content-share"].set_index("clip_id")
    assert len(got) == 4 and set(got["direction"]) == {"higher"}  # the name as registered
    assert (clips["content_s"] < 134 * 0.015).all()  # some padding in every clip
    hand = np.ceil(clips.loc[got.index, "content_s"].to_numpy() / 0.015) / 134
    np.testing.assert_allclose(got["value"].to_numpy(), hand, atol=1e-12)
    row = next(r for r in summary["metrics"] if r["metric"] == "content-share")
    assert row["direction"] == "higher" and row["category"] == "localisation"
    assert seen and set(seen) == {"noise"}
    assert json.loads((tmp_path / "config.json").read_text())["config"]["baseline"] == "noise"


def test_a_misspelt_plugin_metric_is_one_sentence(example_plugin: None, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "evaluate", "--metrics", "content-shar", "--out",
         str(tmp_path / "o")], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no metric 'content-shar' (did you mean 'content-share'?)" in proc.stderr


def test_broken_entry_point_does_not_break_plugins_list(tmp_path: Path) -> None:
    """A real entry point whose import raises: listed in red, everything else still works."""
    dist = tmp_path / "bsx_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bsx-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bsx]\nbroken = bsx_broken_mod\n")
    (tmp_path / "bsx_broken_mod.py").write_text(textwrap.dedent("""
        raise ImportError("this plugin is broken on purpose")
    """))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "plugins", "list", "--json"],
        capture_output=True, text=True, env=env,
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert any(b["package"] == "bsx-broken" and "broken on purpose" in b["error"]
               for b in data["broken"])
    assert any(r["name"] == "resnet-small" for r in data["plugins"])
    table = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "plugins", "list"],
        capture_output=True, text=True, env={**env, "COLUMNS": "200"},
    )
    assert table.returncode == 0 and "broken plugin bsx-broken" in table.stdout


def test_load_plugins_env_limits_third_party(example_plugin: None) -> None:
    env = {**os.environ, "BSX_LOAD_PLUGINS": "nothing-here"}
    res = subprocess.run(
        [sys.executable, "-m", "bsx.cli", "plugins", "list", "--json"],
        capture_output=True, text=True, env=env, check=True,
    )
    packages = {r["package"] for r in json.loads(res.stdout)["plugins"]}
    assert packages == {"bsx"}

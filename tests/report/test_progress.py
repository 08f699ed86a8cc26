"""Progress from deep inside a run: no-ops without a CLI, one display with one."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from bsx import progress


def test_without_a_reporter_everything_is_a_no_op() -> None:
    assert progress.active() is None
    progress.status("nothing listens")
    progress.task("bar", 10)(3)


def test_reporting_shows_status_and_bars_and_lends_its_display() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with progress.reporting(console, first="starting") as rep:
        assert progress.active() is rep
        progress.status("loading the model")
        advance = progress.task("generating", 4)
        advance(3)
        with rep.borrowed() as bar:  # what the engine's own bar uses
            t = bar.add_task("evaluate", total=2)
            bar.advance(t, 2)
        (gen,) = [t for t in rep.progress.tasks if t.description == "generating"]
        assert gen.completed == 3
    assert progress.active() is None
    text = buf.getvalue()
    assert "loading the model" in text and "generating" in text and "evaluate" in text


def test_synth_generation_reports_every_clip(tmp_path: Path) -> None:
    from bsx.synth.recipe import generate

    done: list[int] = []
    generate(tmp_path / "c", per_class=1, seed=0, emotions=("angry", "sad"), n_speakers=2,
             workers=1, progress=done.append)
    assert sum(done) == 2 and len(done) == 2  # one step per speaker, one clip each

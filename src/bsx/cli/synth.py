"""`bsx data synth`: write the synthetic emotional-speech corpus (WAVs + metadata.csv)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from bsx.cli.console import err, out
from bsx.cli.data import app as data_app


def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the corpus into "
                                          "(new or empty; an existing corpus is reused)")],
    per_class: Annotated[int, typer.Option(help="Clips per emotion")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of every random choice")] = 0,
    emotions: Annotated[str | None, typer.Option(
        help="Comma-separated subset of angry,fear,happy,neutral,sad")] = None,
    speakers: Annotated[int, typer.Option(help="Number of espeak speakers (3-16)")] = 16,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores)")] = None,
    variant: Annotated[str, typer.Option(
        help="emotions (5 classes) or arousal (low/mid/high bins with a planted arousal "
             "value per clip, for dimensional models)")] = "emotions",
) -> None:
    """Generate the synth corpus: espeak-ng speech with emotion cues planted at known spans."""
    from pydantic import ValidationError

    from bsx.datasets.synth import Synth
    from bsx.datasets.synth_options import SynthOptions
    from bsx.errors import BadOptions, first_problem

    try:
        options = SynthOptions(data_root=out_dir, per_class=per_class, seed=seed,
                               emotions=emotions.split(",") if emotions else None,
                               speakers=speakers, workers=workers,
                               variant=variant)  # type: ignore[arg-type]  # pydantic checks it
    except ValidationError as exc:
        field, msg = first_problem(exc)
        raise BadOptions(f"bad synth option {field}: {msg}") from None
    ds = Synth(options)
    t0 = time.perf_counter()
    from bsx.progress import reporting

    with reporting(err, first=f"{per_class} clips x {len(ds.labels)} emotions"):
        clips = ds.clips()  # a bar per clip written (bsx.datasets.synth)
    n_spk = len({c.speaker for c in clips})
    out.print(f"{len(clips)} clips, {len(ds.labels)} emotions, {n_spk} speakers in "
              f"{ds.root} ({time.perf_counter() - t0:.1f} s); metadata: "
              f"{ds.root / 'metadata.csv'}", highlight=False, soft_wrap=True)


def attach(root: typer.Typer) -> None:
    """Register `bsx data synth` on the data sub-app (the root app is not touched)."""
    data_app.command("synth")(synth)

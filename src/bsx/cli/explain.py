"""`bsx explain FILE --method M`: one clip's prediction, salient windows, figures and a WAV.

A thin shell: the work is bsx.explanation.explain_file; this module parses the options and
prints the tables.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from bsx.cli.common import parse_options
from bsx.explanation import Explanation, check_file_request, explain_file


class Keep(StrEnum):
    """--keep: what of a clip the model sees (docs/model-contract.md)."""

    whole = "whole"
    first_interval = "first-interval"


def print_explanation(e: Explanation) -> None:
    """Rich tables: the class probabilities, then the windows on the original timeline."""
    from rich.table import Table

    from bsx.cli.console import out
    from bsx.windows import padding_share

    pred = Table(title=f"{Path(e.source).name}: prediction ({e.model_name})")
    if e.values is not None:  # a regression model: one value per dimension, in output order
        pred.add_column("dimension")
        pred.add_column("value", justify="right")
        pred.add_column("")
        for i, v in enumerate(e.values):
            pred.add_row(e.labels[i], f"{v:.3f}", "explained" if i == e.target else "")
    else:
        pred.add_column("class")
        pred.add_column("probability", justify="right")
        pred.add_column("")
        for i in np.argsort(e.probabilities)[::-1]:
            mark = " ".join(m for m, on in (("predicted", i == e.predicted),
                                            ("explained", i == e.target)) if on)
            pred.add_row(e.labels[i], f"{e.probabilities[i]:.3f}", mark)
    out.print(pred)
    win = Table(title=f"salient windows ({e.method}, '{e.labels[e.target]}'), original file "
                "timeline")
    for col in ("rank", "start s", "end s", "model frames", "share", "in padding"):
        win.add_column(col, justify="right")
    for rank, (w, m) in enumerate(zip(e.windows_original, e.windows_model, strict=True), 1):
        pad = padding_share(m, w)
        win.add_row(str(rank), f"{w.start_s:.3f}", f"{w.end_s:.3f}",
                    f"{m.start_frame}-{m.end_frame}", f"{w.share:.1%}",
                    f"{pad:.0%}" if pad >= 0.005 else "")
    out.print(win)
    if not e.windows_model:
        out.print("no window holds positive relevance for this class")
    for kind, p in e.files.items():
        out.print(f"{kind}: {p}", highlight=False, soft_wrap=True)


def explain(
    file: Annotated[Path, typer.Argument(help="An audio file (wav, flac, ogg, mp3...).")],
    method: Annotated[str, typer.Option("--method", "-m", help="An attribution method "
                                        "(see `bsx plugins list --kind method`).")],
    checkpoint: Annotated[Path | None, typer.Option(
        help="A bsx checkpoint or a plain state dict; default: the packaged model.")] = None,
    model: Annotated[str | None, typer.Option(
        help="The model plugin, for a plain state dict (default resnet-small).")] = None,
    label_preset: Annotated[str | None, typer.Option(
        help="Class order of a plain state dict: paper7, ravdess8.")] = None,
    frontend: Annotated[str | None, typer.Option(
        help="Front-end preset; default: the one stored with the checkpoint.")] = None,
    keep: Annotated[Keep | None, typer.Option(
        help="What of the clip the model sees: whole (the whole utterance, in 2 s units "
        "every ~1 s) or first-interval (the paper); default: the model's front-end.")] = None,
    target: Annotated[str, typer.Option(
        help="Class to explain: predicted, an index, or a label; for a regression model a "
        "dimension (an index or its name; predicted: the first).")] = "predicted",
    k: Annotated[int, typer.Option("--k", help="How many salient windows.")] = 5,
    attenuate_db: Annotated[float, typer.Option(
        help="Attenuation outside the windows in the listenable WAV (dB).")] = 20.0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N.")] = "auto",
    out: Annotated[Path | None, typer.Option(
        help="Output folder; default ./bsx-explain/<file stem>.")] = None,
    opt: Annotated[list[str] | None, typer.Option(
        "--opt", help="A method option KEY=VALUE (repeatable), e.g. --opt layer=layer1.conv1 "
        "--opt top_n=3.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")
                       ] = False,
) -> None:
    """Explain one clip: prediction, salient windows, figures and a listenable WAV."""
    from bsx.cli.console import err
    from bsx.cli.notices import printed_warnings
    from bsx.progress import reporting, status

    with reporting(err, enabled=not as_json, first="bsx explain: starting"), \
            printed_warnings(err):
        check_file_request(file, method, k, attenuate_db)
        from bsx.models.hf_config import check_family

        check_family(checkpoint)  # an unsupported HF family is refused before torch loads
        from bsx.device import resolve_device
        from bsx.models.checkpoint import load_model

        status("loading the model")
        loaded = load_model(checkpoint, model=model, label_preset=label_preset,
                            frontend=frontend, device=resolve_device(device))
        result = explain_file(
            file, method, loaded, target=target, k=k, attenuate_db=attenuate_db,
            keep=keep.value if keep else None,
            out=out, method_options=parse_options(opt, "--opt"),
        )
    if as_json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print_explanation(result)


def attach(root: typer.Typer) -> None:
    root.command("explain")(explain)

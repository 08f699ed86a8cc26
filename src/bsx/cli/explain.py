"""`bsx explain FILE --method M`: one clip's prediction, salient windows, figures and a WAV.

The windows are found on the model's spectrogram and printed on the ORIGINAL file's timeline
(trim offset added back, padding removed), so they can be heard and measured in the file the
user gave, not in the trimmed and padded copy the model saw.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bsx.cli.common import parse_options
from bsx.errors import BsxError
from bsx.progress import status as progress_status


@dataclass
class Explanation:
    """Everything `bsx explain` computed for one file; JSON-ready through `to_json`."""

    source: str
    method: str
    model_name: str
    labels: tuple[str, ...]
    probabilities: list[float]
    predicted: int
    target: int
    windows_model: list[Any]
    windows_original: list[Any]
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["labels"] = list(self.labels)
        return d


def parse_target(value: str, labels: tuple[str, ...], predicted: int) -> int:
    """'predicted', a class index, or a label name -> class index; BsxError otherwise."""
    key = value.strip().lower()
    if key in ("predicted", "pred", ""):
        return predicted
    if key.lstrip("-").isdigit():
        idx = int(key)
        if not 0 <= idx < len(labels):
            raise BsxError(
                f"--target {value}: index out of range; this model has {len(labels)} classes "
                f"(0-{len(labels) - 1})"
            )
        return idx
    lowered = [lab.lower() for lab in labels]
    if key in lowered:
        return lowered.index(key)
    raise BsxError(
        f"--target '{value}': not a label of this model; accepted: predicted, an index, "
        f"or one of {', '.join(labels)}"
    )


class Keep(StrEnum):
    """--keep: what of a clip the model sees (docs/model-contract.md)."""

    whole = "whole"
    first_interval = "first-interval"


def original_audio(path: Path, fallback_sr: int) -> tuple[np.ndarray, int]:
    """The original file, mono, at its own sample rate when soundfile can read it."""
    import soundfile as sf

    from bsx.audio import load_audio

    try:
        sr = int(sf.info(str(path)).samplerate)
    except (sf.SoundFileError, OSError):  # a format only audioread reads: the model's rate
        sr = fallback_sr
    y, _ = load_audio(path, sr)
    return y, sr


def explain_file(
    path: Path, method: str, *, checkpoint: Path | None = None, model: str | None = None,
    label_preset: str | None = None, frontend: str | None = None, target: str = "predicted",
    k: int = 5, attenuate_db: float = 20.0, device: str = "auto", out: Path | None = None,
    method_options: dict[str, Any] | None = None, keep: str | None = None,
) -> Explanation:
    """The library behind `bsx explain`: compute, write figures + WAV + JSON under `out`.

    The clip goes through the same stages as `bsx evaluate` (units -> mean logits -> maps
    stitched on the clip's timeline -> windows on the original file)."""
    import torch

    from bsx.audio import KEPT_SHARE_WARNING, logmel, prepare, with_keep
    from bsx.device import resolve_device
    from bsx.evaluation.attribute import attribute, clip_logits, stack_units
    from bsx.evaluation.salient import salient_windows
    from bsx.honesty import domain_warning, too_short
    from bsx.models.checkpoint import load_model
    from bsx.plugins import build, lookup
    from bsx.report.explain_figures import (
        plot_attribution,
        plot_spectrogram_windows,
        plot_waveform_windows,
        write_listenable,
    )
    from bsx.windows import WindowOptions, for_method

    path = Path(path)
    if not path.is_file():
        from bsx.errors import not_a_file

        raise BsxError(not_a_file(path, "audio file"))
    if k < 1:
        raise BsxError(f"--k {k}: give at least one window")
    if attenuate_db < 0:
        raise BsxError(f"--attenuate-db {attenuate_db}: give a non-negative number of dB")
    lookup("method", method)  # an unknown method fails before any work
    dev = resolve_device(device)
    progress_status("loading the model")
    loaded = load_model(checkpoint, model=model, label_preset=label_preset,
                        frontend=frontend, device=dev)
    fe = with_keep(loaded.frontend, keep)  # type: ignore[arg-type]
    mismatch = domain_warning(loaded.meta, None, source=path.name)
    if mismatch:
        warnings.warn(mismatch, stacklevel=2)
    progress_status(f"reading {path.name}")
    prep = prepare(path, fe)
    short = too_short(prep.content_s, source=str(path))
    if short:
        warnings.warn(f"{short}; the prediction and windows below are not meaningful",
                      stacklevel=2)
    if prep.kept_share < KEPT_SHARE_WARNING:
        warnings.warn(
            f"{path}: front-end '{fe.name}' keeps {prep.content_s:.2f} s of its "
            f"{prep.speech_s:.2f} s of speech ({prep.kept_share:.0%}); --keep whole explains "
            "the whole utterance", stacklevel=2)
    progress_status(f"explaining {path.name} with {method}")
    units = stack_units([prep], dev)
    probs = torch.softmax(clip_logits(loaded.net, units), dim=1)[0].cpu()
    predicted = int(probs.argmax())
    tgt = parse_target(target, loaded.labels, predicted)
    explainer = build("method", method, loaded.net, options=method_options)
    rel = attribute(explainer, units, np.array([tgt]), [prep]).clips[0]
    (wins,), (orig,) = salient_windows([rel], [prep], fe.frame_s,
                                          for_method(WindowOptions(k=k), explainer))
    spectrogram = (prep.logmel if prep.logmel.ndim == 2 and fe.input == "logmel"
                   else logmel(prep.waveform, fe.model_copy(update={"n_mels": 128}))
                   if fe.input == "waveform" else logmel(prep.waveform, fe))

    out = Path(out) if out is not None else Path("bsx-explain") / path.stem
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{path.stem}.{method}"
    label = loaded.labels[tgt]
    title = f"{path.name}: {method} for '{label}' ({loaded.model_name})"
    y, sr = original_audio(path, fe.sample_rate)
    files = {
        "attribution": plot_attribution(rel, fe.frame_s, out / f"{stem}.attribution.png",
                                        title, mel_sr=fe.mel_sr or fe.sample_rate),
        "spectrogram": plot_spectrogram_windows(spectrogram, wins, fe.frame_s,
                                                out / f"{stem}.spectrogram.png", title,
                                                mel_sr=fe.mel_sr or fe.sample_rate),
        "waveform": plot_waveform_windows(y, sr, orig, out / f"{stem}.waveform.png", title),
        "listen": write_listenable(y, sr, orig, out / f"{stem}.listen.wav", attenuate_db),
    }
    result = Explanation(
        source=str(path), method=method, model_name=loaded.model_name, labels=loaded.labels,
        probabilities=[float(p) for p in probs], predicted=predicted, target=tgt,
        windows_model=[asdict(w) for w in wins], windows_original=[asdict(w) for w in orig],
        files={k_: str(v) for k_, v in files.items()},
    )
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(result.to_json(), indent=1) + "\n")
    result.files["json"] = str(json_path)
    return result


def print_explanation(e: Explanation) -> None:
    """Rich tables: the class probabilities, then the windows on the original timeline."""
    from rich.table import Table

    from bsx.cli.console import out
    from bsx.windows import Window, padding_share

    pred = Table(title=f"{Path(e.source).name}: prediction ({e.model_name})")
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
        pad = padding_share(Window(**m), Window(**w))
        win.add_row(str(rank), f"{w['start_s']:.3f}", f"{w['end_s']:.3f}",
                    f"{m['start_frame']}-{m['end_frame']}", f"{w['share']:.1%}",
                    f"{pad:.0%}" if pad > 0 else "")
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
        help="Class to explain: predicted, an index, or a label.")] = "predicted",
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
    from bsx.progress import reporting

    with reporting(err, enabled=not as_json, first="bsx explain: starting"), \
            printed_warnings(err):
        result = explain_file(
            file, method, checkpoint=checkpoint, model=model, label_preset=label_preset,
            frontend=frontend, target=target, k=k, attenuate_db=attenuate_db, device=device,
            keep=keep.value if keep else None,
            out=out, method_options=parse_options(opt, "--opt"),
        )
    if as_json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print_explanation(result)


def attach(root: typer.Typer) -> None:
    root.command("explain")(explain)

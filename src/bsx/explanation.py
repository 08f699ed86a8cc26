"""One clip explained: its prediction, relevance, salient windows and cue profile.

The clip goes through the same stages as `bsx evaluate` (units -> mean logits -> maps stitched
on the clip's timeline -> windows on the original file). Windows are found on the model's
spectrogram and given on the ORIGINAL file's timeline (trim offset added back, padding
removed), so they can be heard and measured in the audio the user gave, not in the trimmed
and padded copy the model saw. `bsx explain` is a thin shell over `explain_file`; the Python
API's `bsx.explain` over `explain` here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.errors import BadAudio, BsxError
from bsx.progress import status as progress_status

if TYPE_CHECKING:
    from bsx.audio import Frontend, Prepared
    from bsx.cues.profile import CueProfile
    from bsx.models.checkpoint import LoadedModel
    from bsx.windows import Window


@dataclass(frozen=True, eq=False)
class Explanation:
    """One clip's explanation; `to_json` gives what `bsx explain --json` prints.

    probabilities: softmax of the clip's logits, in `labels` order (empty for a regression
    model, whose outputs are `values`, one per dimension, and whose `predicted` is None).
    windows_model: the salient
    windows on the model timeline; windows_original: the same on the original audio's
    timeline (seconds into the file or array given). relevance: (F, T) on the original
    timeline at the front-end's hop (frame t centred at t * frame_s seconds; F = n_mels for
    log-mel models, 1 for waveform ones), zero where the model saw nothing (trimmed away).
    cues: the cue profile of the salient windows against the rest of the clip (None when no
    cue extractor was asked for); its windows are seconds on the content the model saw.
    """

    source: str
    method: str
    model_name: str
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    predicted: int | None
    target: int
    windows_model: tuple[Window, ...]
    windows_original: tuple[Window, ...]
    relevance: np.ndarray
    frame_s: float
    cues: CueProfile | None = None
    files: Mapping[str, str] = field(default_factory=dict)
    task: str = "classification"
    values: tuple[float, ...] | None = None  # a regression model's outputs, per dimension

    @property
    def label(self) -> str:
        """The predicted label (a regression model: the explained dimension)."""
        return self.labels[self.target if self.predicted is None else self.predicted]

    @property
    def prediction(self) -> dict[str, float]:
        """{label: probability}; for a regression model {dimension: value}."""
        if self.values is not None:
            return dict(zip(self.labels, self.values, strict=True))
        return dict(zip(self.labels, self.probabilities, strict=True))

    @property
    def windows(self) -> list[tuple[float, float]]:
        """The salient windows as (start_s, end_s) on the original timeline, best first."""
        return [(w.start_s, w.end_s) for w in self.windows_original]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "method": self.method,
            "model_name": self.model_name,
            "labels": list(self.labels),
            "probabilities": list(self.probabilities),
            "predicted": self.predicted,
            "target": self.target,
            "windows_model": [asdict(w) for w in self.windows_model],
            "windows_original": [asdict(w) for w in self.windows_original],
            "files": dict(self.files),
            "task": self.task,
            "values": None if self.values is None else list(self.values),
        }


def parse_target(value: str, labels: tuple[str, ...], predicted: int | None) -> int:
    """'predicted', a class index, or a label name -> class index; BsxError otherwise.

    A regression model has no predicted class (predicted None): 'predicted' is its first
    dimension, and an index or a dimension name picks another."""
    key = value.strip().lower()
    if key in ("predicted", "pred", ""):
        return 0 if predicted is None else predicted
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


def prepare_audio(audio: Any, sample_rate: int | None, fe: Frontend) -> Prepared:
    """A file path, or a 1-D waveform (numpy array or tensor) at `sample_rate` -> Prepared."""
    from bsx.audio import prepare, prepare_waveform

    if isinstance(audio, str | Path):
        path = Path(audio)
        if not path.is_file():
            from bsx.errors import not_a_file

            raise BsxError(not_a_file(path, "audio file"))
        return prepare(path, fe)
    if hasattr(audio, "detach"):  # a torch tensor
        audio = audio.detach().cpu().numpy()
    y = np.asarray(audio, dtype=np.float32)
    if y.ndim != 1:
        raise BadAudio(f"audio array: give one mono waveform of shape (N,), not {y.shape}")
    if sample_rate is None:
        raise BadAudio(
            "audio array: give its sample_rate (samples per second); only a file knows its own"
        )
    if sample_rate <= 0:
        raise BadAudio(f"audio array: sample_rate {sample_rate} is not a positive number")
    duration = y.size / sample_rate
    if sample_rate != fe.sample_rate and y.size:
        import librosa

        y = librosa.resample(y, orig_sr=sample_rate, target_sr=fe.sample_rate, res_type="soxr_hq")
    return prepare_waveform(y, fe, original_duration_s=duration, source="array")


def outcome_fields(loaded: LoadedModel, method: str,
                   outcome: tuple[bool, tuple[float, ...], int | None, tuple[float, ...] | None],
                   target: int) -> dict[str, Any]:
    """The Explanation fields that say what was explained and what the model said (the
    in-memory and the streamed explain share them): `outcome` is prediction()'s tuple."""
    regression, probs, predicted, values = outcome
    return {"method": method, "model_name": loaded.model_name, "labels": loaded.labels,
            "probabilities": probs, "predicted": predicted, "target": target,
            "task": "regression" if regression else "classification", "values": values}


def prediction(loaded: LoadedModel, outputs: np.ndarray
               ) -> tuple[bool, tuple[float, ...], int | None, tuple[float, ...] | None]:
    """(regression, probabilities, predicted class, values) of a clip's mean outputs: a
    classifier's softmax and its argmax; a regression model's outputs are its dimensions'
    values (e.g. arousal), with no probabilities and no predicted class."""
    if loaded.meta.get("task") == "regression":
        return True, (), None, tuple(float(v) for v in outputs)
    import torch

    probs = torch.softmax(torch.from_numpy(np.asarray(outputs)), dim=0)
    return False, tuple(float(p) for p in probs), int(probs.argmax()), None


def explain_prepared(
    loaded: LoadedModel,
    prep: Prepared,
    method: str,
    *,
    target: str = "predicted",
    k: int = 5,
    method_options: dict[str, Any] | None = None,
) -> tuple[Explanation, np.ndarray]:
    """Predict, attribute and find the windows of one prepared clip (no files, no cues);
    also returns the (F, T) relevance on the model timeline, for the figures."""

    from bsx.audio import KEPT_SHARE_WARNING
    from bsx.device import device_of
    from bsx.evaluation.attribute import attribute, clip_logits, stack_units
    from bsx.evaluation.salient import salient_windows
    from bsx.honesty import too_short
    from bsx.plugins import build
    from bsx.relevance import on_original
    from bsx.windows import WindowOptions, for_method

    fe = prep.frontend
    short = too_short(prep.content_s, source=prep.source)
    if short:
        warnings.warn(f"{short}; the prediction and windows below are not meaningful", stacklevel=3)
    if prep.kept_share < KEPT_SHARE_WARNING:
        warnings.warn(
            f"{prep.source}: front-end '{fe.name}' keeps {prep.content_s:.2f} s of its "
            f"{prep.speech_s:.2f} s of speech ({prep.kept_share:.0%}); --keep whole explains "
            "the whole utterance",
            stacklevel=3,
        )
    progress_status(f"explaining {Path(prep.source).name} with {method}")
    units = stack_units([prep], device_of(loaded.net))
    outputs = clip_logits(loaded.net, units)[0].cpu().numpy()
    regression, probs, predicted, values = prediction(loaded, outputs)
    tgt = parse_target(target, loaded.labels, predicted)
    explainer = build("method", method, loaded.net, options=method_options)
    rel = attribute(explainer, units, np.array([tgt]), [prep]).clips[0]
    (wins,), (orig,) = salient_windows(
        [rel], [prep], fe.frame_s, for_method(WindowOptions(k=k), explainer)
    )
    return Explanation(
        source=prep.source,
        windows_model=tuple(wins),
        windows_original=tuple(orig),
        relevance=on_original(rel, prep),
        frame_s=fe.frame_s,
        **outcome_fields(loaded, method, (regression, probs, predicted, values), tgt),
    ), rel


def clip_cue_profile(
    prep: Prepared,
    windows_model: tuple[Window, ...],
    cues: str,
    options: dict[str, Any] | None = None,
) -> CueProfile:
    """The cue profile of the salient windows, measured on the content the model saw (as the
    evaluate run measures it: bsx.evaluation.prepare)."""
    from bsx.cues.profile import cue_profile
    from bsx.evaluation.salient import content_windows
    from bsx.plugins import build

    fe = prep.frontend
    a = int(round(prep.pad_offset_s * fe.sample_rate))
    content = prep.waveform[a : a + int(round(prep.content_s * fe.sample_rate))]
    tracks = build("cue", cues, options=options).extract(content, fe.sample_rate)
    return cue_profile(
        tracks, content_windows(list(windows_model), prep), content=(0.0, prep.content_s)
    )


@dataclass(frozen=True)
class ClipSettings:
    """bsx.explain's own keywords, taken out of its **options (the rest are the method's):
    the class to explain, how many windows, the cue extractor of the profile (None: no
    profile), what of the clip the model sees, and the device."""

    target: str = "predicted"
    k: int = 5
    cues: str | None = "egemaps"
    keep: str | None = None
    device: str | None = None

    @classmethod
    def take(cls, options: dict[str, Any]) -> tuple[ClipSettings, dict[str, Any]]:
        """(these settings, the method's options) from bsx.explain's keywords."""
        names = {f.name for f in fields(cls)}
        mine = {k: v for k, v in options.items() if k in names}
        return cls(**mine), {k: v for k, v in options.items() if k not in names}


def explain(
    model: Any,
    audio: Any,
    sample_rate: int | None = None,
    method: str = "gradcam",
    frontend: str | Frontend | None = None,
    **options: Any,
) -> Explanation:
    """Explain one clip in Python: the prediction, relevance, windows and cue profile.

    model: a registered model name, a checkpoint path, a save_pretrained directory or a
    `bsx.Model` around an in-memory nn.Module (bsx.models.resolve). audio: a file path, or a
    1-D numpy array / tensor at `sample_rate` (required then). `options`: target ("predicted",
    a label or an index), k (windows, 5), cues (the cue extractor of the profile, "egemaps";
    None: no profile), keep (what of the clip the model sees: "whole", "first-interval"),
    device (None keeps a bsx.Model's module where it is and loads other models on the GPU when
    there is one, "auto"); every other option is the method's (e.g. layer="conv2" for
    gradcam). Nothing is written to disk.
    """
    from bsx.audio import with_keep
    from bsx.models.resolve import resolve_model
    from bsx.plugins import lookup

    clip, method_options = ClipSettings.take(options)
    if clip.k < 1:
        raise BsxError(f"k={clip.k}: give at least one window")
    lookup("method", method)  # an unknown method fails before any work
    if clip.cues is not None:
        lookup("cue", clip.cues)
    loaded = resolve_model(model, frontend=frontend, device=clip.device)
    prep = prepare_audio(audio, sample_rate, with_keep(loaded.frontend, clip.keep))  # type: ignore[arg-type]
    result, _ = explain_prepared(loaded, prep, method, target=clip.target, k=clip.k,
                                 method_options=method_options)
    if clip.cues is None:
        return result
    progress_status(f"measuring {clip.cues} cues")
    return replace(result, cues=clip_cue_profile(prep, result.windows_model, clip.cues))


def check_file_request(path: Path, method: str, k: int, attenuate_db: float) -> Path:
    """The cheap checks of `bsx explain`, so a typo fails before a model loads."""
    from bsx.plugins import lookup

    path = Path(path)
    if not path.is_file():
        from bsx.errors import not_a_file

        raise BsxError(not_a_file(path, "audio file"))
    if k < 1:
        raise BsxError(f"--k {k}: give at least one window")
    if attenuate_db < 0:
        raise BsxError(f"--attenuate-db {attenuate_db}: give a non-negative number of dB")
    lookup("method", method)
    return path


def explain_file(
    path: Path,
    method: str,
    loaded: LoadedModel,
    *,
    target: str = "predicted",
    k: int = 5,
    attenuate_db: float = 20.0,
    out: Path | None = None,
    method_options: dict[str, Any] | None = None,
    keep: str | None = None,
    stream_above_s: float | None = None,
) -> Explanation:
    """The library behind `bsx explain`: explain the file with a loaded model (on its
    device), and write figures, a listenable WAV and the JSON under `out` (default
    ./bsx-explain/<file stem>). A file longer than `stream_above_s` (default
    bsx.streaming.STREAM_ABOVE_S) is read and explained in streamed units (docs/long-files.md);
    its relevance is then also written as a .npy and returned memory-mapped."""
    from bsx.audio import with_keep
    from bsx.honesty import domain_warning
    from bsx.streaming import STREAM_ABOVE_S, streams

    stream_above_s = STREAM_ABOVE_S if stream_above_s is None else stream_above_s

    path = check_file_request(path, method, k, attenuate_db)
    fe = with_keep(loaded.frontend, keep)  # type: ignore[arg-type]
    mismatch = domain_warning(loaded.meta, None, source=path.name)
    if mismatch:
        warnings.warn(mismatch, stacklevel=2)
    out = Path(out) if out is not None else Path("bsx-explain") / path.stem
    if streams(path, stream_above_s):
        from bsx.streaming import explain_long

        result = explain_long(path, method, loaded, fe, target=target, k=k,
                              attenuate_db=attenuate_db, out=out,
                              method_options=method_options)
        return _with_json(result, out, path, method)
    progress_status(f"reading {path.name}")
    prep = prepare_audio(path, None, fe)
    result, rel = explain_prepared(
        loaded, prep, method, target=target, k=k, method_options=method_options
    )
    files = write_files(result, rel, prep, out, attenuate_db)
    return _with_json(replace(result, files=files), out, path, method)


def _with_json(result: Explanation, out: Path, path: Path, method: str) -> Explanation:
    """The explanation with its JSON written under `out` (and named in its files)."""
    files = dict(result.files)
    json_path = out / f"{path.stem}.{method}.json"
    result = replace(result, files={**files, "json": str(json_path)})
    json_path.write_text(json.dumps({**result.to_json(), "files": files}, indent=1) + "\n")
    return result


def write_files(
    e: Explanation, rel: np.ndarray, prep: Prepared, out: Path, attenuate_db: float
) -> dict[str, str]:
    """The attribution, spectrogram and waveform figures and the listenable WAV of `e`."""
    from bsx.report.explain_figures import (
        plot_attribution,
        plot_spectrogram_windows,
        plot_waveform_windows,
        write_listenable,
    )

    fe, path = prep.frontend, Path(e.source)
    spectrogram = model_spectrogram(prep)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{path.stem}.{e.method}"
    title = f"{path.name}: {e.method} for '{e.labels[e.target]}' ({e.model_name})"
    y, sr = original_audio(path, fe.sample_rate)
    wins, orig = list(e.windows_model), list(e.windows_original)
    mel_sr = fe.mel_sr or fe.sample_rate
    files = {
        "attribution": plot_attribution(
            rel, fe.frame_s, out / f"{stem}.attribution.png", title, mel_sr=mel_sr
        ),
        "spectrogram": plot_spectrogram_windows(
            spectrogram, wins, fe.frame_s, out / f"{stem}.spectrogram.png", title, mel_sr=mel_sr
        ),
        "waveform": plot_waveform_windows(y, sr, orig, out / f"{stem}.waveform.png", title),
        "listen": write_listenable(y, sr, orig, out / f"{stem}.listen.wav", attenuate_db),
    }
    return {k: str(v) for k, v in files.items()}


def model_spectrogram(prep: Prepared) -> np.ndarray:
    """The log-mel drawn beside the relevance: the one the model saw (a waveform model's input
    as a 128-band log-mel; a chunked utterance's whole timeline in one)."""
    from bsx.audio import logmel

    fe = prep.frontend
    if prep.logmel.ndim == 2 and fe.input == "logmel":
        return prep.logmel
    if fe.input == "waveform":
        return logmel(prep.waveform, fe.model_copy(update={"n_mels": 128}))
    return logmel(prep.waveform, fe)

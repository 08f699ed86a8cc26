"""A HuggingFace `save_pretrained` directory read as JSON only: labels and front-end.

Torch-free on purpose, like bsx.paths: the engine plans a run (front-end, labels) before it
imports torch. bsx.models.hf loads the weights.

A directory holds config.json (model_type, id2label, problem_type), preprocessor_config.json
(the feature extractor: sampling_rate, do_normalize; AST's num_mel_bins and max_length;
Whisper's feature_size, n_fft, hop_length, n_samples) and the weights (model.safetensors, or a
pytorch_model.bin read with torch.load(weights_only=True)). An optional bsx.json beside them
({"frontend": {...}}) holds front-end fields a bsx training run chose (trim rule, cap).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bsx.audio import Frontend
from bsx.datasets.base import EMOTIONS
from bsx.errors import BadCheckpoint, one_line
from bsx.expert import ALIASES

DEFAULT_WAVEFORM_MODEL_DIR = Path(__file__).resolve().parents[1] / "data" / "default_waveform_model"
# Families read from the raw waveform (the wav2vec2 layout: conv encoder + transformer) and
# families whose own features are their input kind (bsx.features).
WAVEFORM_TYPES: tuple[str, ...] = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech-sat")
FEATURE_TYPES: dict[str, str] = {"audio-spectrogram-transformer": "ast-fbank",
                                 "whisper": "whisper-logmel"}
MODEL_TYPES: tuple[str, ...] = WAVEFORM_TYPES + tuple(FEATURE_TYPES)
# The custom head most dimensional SER checkpoints publish (audeering's, e.g.
# wav2vec2-large-robust-12-ft-emotion-msp-dim): not a transformers class, so bsx builds it
# itself (bsx.models.hf_speech_head) when config.json's architectures name it.
SPEECH_HEAD_ARCHITECTURES: tuple[str, ...] = ("Wav2Vec2ForSpeechClassification", "EmotionModel")
AST_HOP = 160  # ASTFeatureExtractor's 10 ms frame shift, in samples (a constant there)
MAX_SECONDS = 20.0  # the length cap of one waveform unit; longer utterances are chunked

# Short codes of common SER checkpoints (IEMOCAP/SUPERB "neu, hap, ang, sad", CREMA-D "ANG"),
# on top of the emotion-name aliases of the expert-cue table.
# Merges such as IEMOCAP "exc" -> happy are a modelling choice, so they are not made here.
_CODES: dict[str, str] = {
    "neu": "neutral", "hap": "happy", "ang": "angry", "fea": "fear", "dis": "disgust",
    "sur": "surprise", "cal": "calm",
}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadCheckpoint(f"{path}: missing; a save_pretrained directory holds it") from None
    except (OSError, ValueError) as exc:
        raise BadCheckpoint(f"{path}: not readable JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise BadCheckpoint(f"{path}: holds {type(data).__name__}, not a JSON object")
    return data


def hf_dir(path: str | Path | None) -> Path:
    """The directory itself (None: the packaged waveform model), or BadCheckpoint."""
    d = DEFAULT_WAVEFORM_MODEL_DIR if path is None else Path(path).expanduser()
    if not d.is_dir():
        raise BadCheckpoint(
            f"{d}: not a directory; --model hf takes the directory that save_pretrained writes "
            "(config.json, model.safetensors, preprocessor_config.json)"
        )
    return d


def read_config(d: Path) -> dict[str, Any]:
    """config.json, checked to be an audio classifier of a supported architecture (read as
    JSON before anything heavy is imported, so a refusal is immediate)."""
    cfg = _read_json(d / "config.json")
    kind = str(cfg.get("model_type", ""))
    if kind not in MODEL_TYPES:
        raise BadCheckpoint(
            f"{d / 'config.json'}: model_type '{kind}' is not supported; bsx loads "
            f"{', '.join(MODEL_TYPES)} audio classifiers"
        )
    return cfg


def check_family(path: str | Path | None) -> None:
    """A save_pretrained directory (one holding config.json) of an unsupported family is
    refused now, by its JSON alone: the CLI calls this before importing torch (< 2 s)."""
    if path is not None and (Path(path).expanduser() / "config.json").is_file():
        read_config(Path(path).expanduser())


def is_regression(cfg: dict[str, Any]) -> bool:
    """A regression head (problem_type "regression"): outputs are dimensions, not classes."""
    return cfg.get("problem_type") == "regression"


def speech_head(cfg: dict[str, Any]) -> str | None:
    """The custom head's architecture name when config.json names one for a wav2vec2
    encoder (bsx.models.hf_speech_head builds it), else None (a transformers class)."""
    if cfg.get("model_type") != "wav2vec2":
        return None
    names = [str(a) for a in cfg.get("architectures") or () if a in SPEECH_HEAD_ARCHITECTURES]
    return names[0] if names else None


def dimension_labels(id2label: dict[Any, Any], where: str = "config.json") -> tuple[str, ...]:
    """A regression model's output names (e.g. arousal, dominance, valence) in output order,
    as config.id2label gives them (lower-cased); they are dimensions, so no emotion mapping."""
    try:
        items = sorted((int(k), str(v).strip().lower()) for k, v in id2label.items())
    except (TypeError, ValueError, AttributeError):
        raise BadCheckpoint(f"{where}: id2label is not a mapping of output index to name") from None
    if [i for i, _ in items] != list(range(len(items))) or not items:
        raise BadCheckpoint(f"{where}: id2label must name outputs 0..C-1, got {id2label!r}")
    names = [v for _, v in items]
    if len(set(names)) != len(names):
        raise BadCheckpoint(f"{where}: id2label names an output twice ({', '.join(names)})")
    return tuple(names)


def emotion_of(label: str) -> str | None:
    """A checkpoint's class name in bsx's emotion vocabulary, or None when it has no match."""
    key = str(label).strip().lower()
    key = ALIASES.get(key, _CODES.get(key, key))
    return key if key in EMOTIONS else None


def emotion_labels(id2label: dict[Any, Any], where: str = "config.json") -> tuple[str, ...]:
    """config.id2label (keys "0".."C-1") -> bsx emotion names in class order.

    Unknown names are one BadCheckpoint naming all of them, so a checkpoint trained on other
    classes (or saved without id2label: LABEL_0, ...) fails at load, not mid-evaluation.
    """
    try:
        items = sorted((int(k), str(v)) for k, v in id2label.items())
    except (TypeError, ValueError, AttributeError):
        raise BadCheckpoint(f"{where}: id2label is not a mapping of class index to name") from None
    if [i for i, _ in items] != list(range(len(items))) or not items:
        raise BadCheckpoint(f"{where}: id2label must name classes 0..C-1, got {id2label!r}")
    mapped = [emotion_of(v) for _, v in items]
    unknown = [v for (_, v), m in zip(items, mapped, strict=True) if m is None]
    if unknown:
        raise BadCheckpoint(
            f"{where}: labels {', '.join(repr(u) for u in unknown)} are not emotions bsx "
            f"knows ({', '.join(EMOTIONS)}); give labels explicitly (--labels) in class order"
        )
    dup = sorted({m for m in mapped if m is not None and mapped.count(m) > 1})
    if dup:
        raise BadCheckpoint(
            f"{where}: labels {', '.join(v for _, v in items)} map to the same emotion twice "
            f"({', '.join(dup)}); give labels explicitly (--labels) in class order"
        )
    return tuple(m for m in mapped if m is not None)


def preprocessor(d: Path) -> dict[str, Any]:
    """preprocessor_config.json: sampling_rate and do_normalize are what bsx needs."""
    pre = _read_json(d / "preprocessor_config.json")
    sr = pre.get("sampling_rate")
    if not isinstance(sr, int) or sr <= 0:
        raise BadCheckpoint(
            f"{d / 'preprocessor_config.json'}: sampling_rate must be a positive integer, "
            f"got {sr!r}"
        )
    return pre


def token_stride(cfg: dict[str, Any]) -> int:
    """Samples per encoder token: the product of the conv feature encoder's strides (320 for
    every released wav2vec2, HuBERT and WavLM: one token per 20 ms at 16 kHz)."""
    stride = 1
    for s in cfg.get("conv_stride") or (5, 2, 2, 2, 2, 2, 2):
        stride *= int(s)
    return stride


def _int(pre: dict[str, Any], key: str, where: Path) -> int:
    v = pre.get(key)
    if not isinstance(v, int) or v <= 0:
        raise BadCheckpoint(f"{where}: {key} must be a positive integer, got {v!r}")
    return v


def _feature_fields(d: Path, cfg: dict[str, Any], pre: dict[str, Any]) -> dict[str, Any]:
    """Front-end fields of a family whose own features are its input (AST, Whisper): one unit
    is the model's fixed window, its frames centred at f * hop (bsx.features)."""
    kind, where = cfg["model_type"], d / "preprocessor_config.json"
    if kind == "audio-spectrogram-transformer":
        n_mels, frames = _int(pre, "num_mel_bins", where), _int(pre, "max_length", where)
        want = (cfg.get("num_mel_bins", 128), cfg.get("max_length", 1024))
        if (n_mels, frames) != want:
            raise BadCheckpoint(
                f"{where}: num_mel_bins {n_mels} and max_length {frames} differ from the "
                f"model's ({want[0]}, {want[1]} in config.json)")
        return {"n_mels": n_mels, "hop_length": AST_HOP, "win_length": 400, "n_fft": 512,
                "n_samples": (frames - 1) * AST_HOP}
    n_mels, hop = _int(pre, "feature_size", where), _int(pre, "hop_length", where)
    n_fft, n_samples = _int(pre, "n_fft", where), _int(pre, "n_samples", where)
    frames = 2 * int(cfg.get("max_source_positions", 1500))
    if n_mels != cfg.get("num_mel_bins", 80) or n_samples // hop != frames:
        raise BadCheckpoint(
            f"{where}: feature_size {n_mels} and {n_samples // hop} frames per window differ "
            f"from the model's ({cfg.get('num_mel_bins', 80)} mel bins, {frames} frames)")
    return {"n_mels": n_mels, "hop_length": hop, "win_length": n_fft, "n_fft": n_fft,
            "n_samples": n_samples}


def hf_frontend(path: str | Path | None) -> Frontend:
    """The front-end of an HF model. Waveform families: their sampling rate, whole utterances
    up to 20 s, relevance frames of one encoder token (hop_length = the token stride). AST
    and Whisper: their own features ("logmel" input) in units of their fixed window. bsx.json
    fields override."""
    d = hf_dir(path)
    cfg, pre = read_config(d), preprocessor(d)
    fields: dict[str, Any] = {
        "name": f"hf-{cfg['model_type']}", "input": "waveform", "keep": "whole",
        "sample_rate": pre["sampling_rate"],
        "n_samples": int(MAX_SECONDS * pre["sampling_rate"]),
        "hop_length": token_stride(cfg), "n_mels": 1,
    }
    if cfg["model_type"] in FEATURE_TYPES:
        fields.update(input="logmel", features=FEATURE_TYPES[cfg["model_type"]],
                      **_feature_fields(d, cfg, pre))
    side = d / "bsx.json"
    if side.is_file():
        fields.update(_read_json(side).get("frontend") or {})
    try:
        return Frontend(**fields)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise BadCheckpoint(f"{side}: its front-end fields are not valid ({one_line(exc)})"
                            ) from None

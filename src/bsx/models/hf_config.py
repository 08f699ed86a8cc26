"""A HuggingFace `save_pretrained` directory read as JSON only: labels and front-end.

Torch-free on purpose, like bsx.paths: the engine plans a run (front-end, labels) before it
imports torch. bsx.models.hf loads the weights.

A directory holds config.json (model_type, id2label), preprocessor_config.json (the feature
extractor: sampling_rate, do_normalize) and the weights (model.safetensors, or a
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
MODEL_TYPES: tuple[str, ...] = ("wav2vec2", "hubert", "wavlm")
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
    """config.json, checked to be an audio classifier of a supported architecture."""
    cfg = _read_json(d / "config.json")
    kind = str(cfg.get("model_type", ""))
    if kind not in MODEL_TYPES:
        raise BadCheckpoint(
            f"{d / 'config.json'}: model_type '{kind}' is not supported; bsx loads "
            f"{', '.join(MODEL_TYPES)} audio classifiers"
        )
    return cfg


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
    dup = sorted({m for m in mapped if mapped.count(m) > 1})  # type: ignore[arg-type]
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


def hf_frontend(path: str | Path | None) -> Frontend:
    """The front-end of a waveform model: its sampling rate, whole utterances up to 20 s,
    relevance frames of one encoder token (hop_length = the token stride); bsx.json fields
    override."""
    d = hf_dir(path)
    cfg, pre = read_config(d), preprocessor(d)
    fields: dict[str, Any] = {
        "name": f"hf-{cfg['model_type']}", "input": "waveform", "keep": "whole",
        "sample_rate": pre["sampling_rate"],
        "n_samples": int(MAX_SECONDS * pre["sampling_rate"]),
        "hop_length": token_stride(cfg), "n_mels": 1,
    }
    side = d / "bsx.json"
    if side.is_file():
        fields.update(_read_json(side).get("frontend") or {})
    try:
        return Frontend(**fields)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        raise BadCheckpoint(f"{side}: its front-end fields are not valid ({one_line(exc)})"
                            ) from None

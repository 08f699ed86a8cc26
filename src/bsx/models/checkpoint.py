"""Checkpoints: weights as a plain tensor state dict + a JSON sidecar that says what they are.

A bsx checkpoint is two files: `model.pt` (a state dict of tensors, saved with torch.save and
read back with torch.load(weights_only=True), so loading never unpickles objects) and
`model.json` beside it (model name and options, labels, front-end config, dataset, split,
metrics, epoch, bsx version, weights hash). The front-end travels with the weights because
the paper's checkpoints were trained through front-ends other than the one their explanation
scripts fed them (see bsx.audio presets). A plain state dict without a sidecar (the paper's
files) loads when the caller gives labels or a label preset.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from bsx import __version__
from bsx.audio import Frontend, get_frontend
from bsx.device import resolve_device
from bsx.errors import BadCheckpoint, BsxError, one_line
from bsx.labels import resolve_labels
from bsx.paths import DEFAULT_MODEL_FILE, sha256_file, sidecar_path

FORMAT = "bsx-checkpoint"
FORMAT_VERSION = 1


@dataclass
class LoadedModel:
    """A ready network (eval mode, on its device) and everything needed to feed it."""

    net: nn.Module
    labels: tuple[str, ...]
    frontend: Frontend
    model_name: str
    meta: dict[str, Any] = field(default_factory=dict)




def _atomic_write_bytes(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class CheckpointInfo:
    """What a sidecar says about the weights beside it: the model and its options, the class
    order, the front-end they were trained through, and where they came from."""

    model_name: str
    model_options: dict[str, Any]
    labels: Sequence[str]
    frontend: Frontend
    dataset: str
    split: dict[str, Any]
    metrics: dict[str, Any]
    epoch: int
    extra: dict[str, Any] | None = None


def save_checkpoint(path: Path | str, net: nn.Module | Mapping[str, Tensor],
                    info: CheckpointInfo) -> Path:
    """Write `path` (tensors only) and its JSON sidecar; returns `path`.

    Both files are written atomically (temp file + rename), so a crash never leaves a
    half-written checkpoint behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = net.state_dict() if isinstance(net, nn.Module) else net
    state = {k: v.detach().to("cpu").clone() for k, v in state.items()}
    _atomic_write_bytes(path, lambda tmp: torch.save(state, tmp))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bsx_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "weights_file": path.name,
        "weights_sha256": sha256_file(path),
        "model": {"name": info.model_name, "options": jsonable(info.model_options)},
        "labels": list(info.labels),
        "n_classes": len(info.labels),
        "frontend": info.frontend.model_dump(),
        "frontend_digest": info.frontend.digest(),
        "dataset": info.dataset,
        "split": jsonable(info.split),
        "metrics": jsonable(info.metrics),
        "epoch": int(info.epoch),
        "extra": jsonable(info.extra or {}),
    }
    blob = json.dumps(meta, indent=1, sort_keys=True, allow_nan=False)
    _atomic_write_bytes(sidecar_path(path), lambda tmp: tmp.write_text(blob + "\n"))
    return path


def jsonable(obj: Any) -> Any:
    """Tuples, paths, numpy scalars and nan -> plain JSON values (nan -> None)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and obj != obj:
        return None
    return obj


def _why(exc: Exception) -> str:
    """An exception as words: a missing key names the key, not KeyError."""
    if isinstance(exc, KeyError):
        return f"no '{exc.args[0]}' entry"
    return str(exc) or "unreadable"


def _read_meta(path: Path) -> dict[str, Any] | None:
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        meta = json.loads(side.read_text())
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("not a bsx checkpoint sidecar")
        meta["model"]["name"], meta["labels"], meta["frontend"]  # noqa: B018
    except (ValueError, KeyError, TypeError) as exc:
        raise BadCheckpoint(
            f"{side}: the metadata beside {path.name} is not a bsx checkpoint sidecar (it "
            f"needs model, labels and frontend: {_why(exc)}); delete it to load the weights as a "
            "plain state dict with --label-preset"
        ) from None
    return meta


def _read_state(path: Path, device: torch.device) -> dict[str, Tensor]:
    from bsx.models.torch_files import load_tensors

    obj = load_tensors(path, map_location=device)
    if isinstance(obj, Mapping) and not all(isinstance(v, Tensor) for v in obj.values()):
        nested = [v for k, v in obj.items() if k in ("state_dict", "model_state_dict", "model")]
        if len(nested) == 1 and isinstance(nested[0], Mapping):
            obj = nested[0]
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())
    ):
        raise BadCheckpoint(f"{path}: holds no state dict (a mapping of names to tensors)")
    return dict(obj)


def _output_layer(net: nn.Module) -> str | None:
    """Name of the last nn.Linear: the layer whose width is the number of labels."""
    names = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    return names[-1] if names else None


def _fit_state(
    net: nn.Module, state: dict[str, Tensor], path: Path, model_name: str, labels: Sequence[str]
) -> None:
    """load_state_dict(strict), but every misfit is one sentence naming the file."""
    own = net.state_dict()
    head = _output_layer(net)
    if head is not None and f"{head}.weight" in state and f"{head}.weight" in own:
        n_out = state[f"{head}.weight"].shape[0]
        if n_out != len(labels):
            raise BadCheckpoint(
                f"{path}: its output layer '{head}' has {n_out} classes but {len(labels)} "
                f"labels were given ({', '.join(labels)})"
            )
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lacks {len(missing)} key(s) of {model_name} (e.g. '{missing[0]}')")
        if unexpected:
            parts.append(f"has {len(unexpected)} key(s) {model_name} does not "
                         f"(e.g. '{unexpected[0]}')")
        raise BadCheckpoint(f"{path}: does not fit model '{model_name}': {'; '.join(parts)}")
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise BadCheckpoint(
                f"{path}: does not fit model '{model_name}': '{k}' has shape "
                f"{tuple(state[k].shape)} in the file but {tuple(v.shape)} in the model"
            )
    net.load_state_dict(state, strict=True)


def _same_frontend(a: Frontend, b: Frontend) -> bool:
    """Equal in every parameter (the name alone does not count)."""
    return a.model_dump(exclude={"name"}) == b.model_dump(exclude={"name"})


def _checkpoint_file(checkpoint: Path | str | None) -> Path:
    """The weights file a load names (None: the packaged default model), which must exist."""
    if checkpoint is None:
        if not DEFAULT_MODEL_FILE.is_file():
            raise BsxError(
                f"no packaged default model yet ({DEFAULT_MODEL_FILE} is missing); "
                "give --checkpoint, or train one with `bsx train`"
            )
        path = DEFAULT_MODEL_FILE
    else:
        path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise BadCheckpoint(f"{path}: no such checkpoint file")
    return path


def _as_saved(
    path: Path, meta: dict[str, Any], model: str | None, user_labels: tuple[str, ...] | None,
    user_fe: Frontend | None,
) -> tuple[str, dict[str, Any], tuple[str, ...], Frontend]:
    """A sidecar's model name, options, labels and front-end, with the caller's labels and
    front-end winning (a warning where they differ); a changed weights hash warns too."""
    name = meta["model"]["name"]
    want = meta.get("weights_sha256")
    if want and sha256_file(path) != want:
        warnings.warn(
            f"{path}: its weights changed since {sidecar_path(path).name} was written "
            "(hash differs); the metadata may not describe them",
            stacklevel=3,
        )
    if model is not None and model.strip().lower() != name.lower():
        raise BadCheckpoint(
            f"{path}: holds a '{name}' model, not '{model}'; leave the model out "
            "or give the matching one"
        )
    options = dict(meta["model"].get("options") or {})
    return name, options, _saved_labels(path, meta, user_labels), _saved_frontend(
        path, meta, user_fe)


def _saved_labels(path: Path, meta: dict[str, Any],
                  user_labels: tuple[str, ...] | None) -> tuple[str, ...]:
    saved = tuple(meta["labels"])
    if user_labels is None or user_labels == saved:
        return saved
    if len(user_labels) != len(saved):
        raise BadCheckpoint(
            f"{path}: was trained with {len(saved)} labels "
            f"({', '.join(saved)}) but {len(user_labels)} were given"
        )
    warnings.warn(
        f"{path}: labels given ({', '.join(user_labels)}) differ from the checkpoint's "
        f"({', '.join(saved)}); using the ones given",
        stacklevel=4,
    )
    return user_labels


def _saved_frontend(path: Path, meta: dict[str, Any], user_fe: Frontend | None) -> Frontend:
    try:
        saved_fe = get_frontend(dict(meta["frontend"]))
    except (ValueError, TypeError, KeyError, BsxError) as exc:  # ValidationError: a ValueError
        raise BadCheckpoint(
            f"{sidecar_path(path)}: its front-end config is not valid ({one_line(exc)})"
        ) from None
    if user_fe is not None and not _same_frontend(user_fe, saved_fe):
        warnings.warn(
            f"{path}: was trained through front-end '{saved_fe.name}' but "
            f"'{user_fe.name}' was given; its inputs will differ from training",
            stacklevel=4,
        )
    return user_fe if user_fe is not None else saved_fe


def load_model(
    checkpoint: Path | str | None = None,
    *,
    model: str | None = None,
    model_options: dict[str, Any] | None = None,
    labels: Sequence[str] | str | None = None,
    label_preset: str | None = None,
    frontend: str | Frontend | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """A checkpoint -> LoadedModel (eval mode, on `device`).

    checkpoint None: the packaged default model. model "hf" or a directory: a HuggingFace
    save_pretrained directory through bsx.models.hf.load_hf_model (None with model "hf": the
    packaged waveform model). A bsx checkpoint knows its model, labels
    and front-end; a front-end given here that differs wins, with a warning. A plain state
    dict needs `labels` or `label_preset`; its model defaults to resnet-small and its
    front-end to the `paper` preset.
    """
    from bsx.plugins import build

    dev = resolve_device(device) if isinstance(device, str) else device
    if (model or "").strip().lower() == "hf" or (
        checkpoint is not None and Path(checkpoint).expanduser().is_dir()
    ):  # a HuggingFace save_pretrained directory (None: the packaged waveform model)
        from bsx.models.hf import load_hf_model

        return load_hf_model(
            checkpoint, labels=resolve_labels(labels, label_preset), device=dev,
            frontend=get_frontend(frontend) if frontend is not None else None,
        )
    path = _checkpoint_file(checkpoint)
    meta = _read_meta(path)
    user_labels = resolve_labels(labels, label_preset)
    user_fe = get_frontend(frontend) if frontend is not None else None
    state: dict[str, Tensor] | None = None
    if meta is not None:
        name, options, final_labels, fe = _as_saved(path, meta, model, user_labels, user_fe)
        options.update(model_options or {})
    else:
        state = _read_state(path, dev)  # a corrupt file is reported before label advice
        if user_labels is None:
            raise BadCheckpoint(
                f"{path}: is a plain state dict without a bsx sidecar "
                f"({sidecar_path(path).name}), so its class order is unknown; give labels "
                "or a label preset (paper7, ravdess8)"
            )
        name = model or "resnet-small"
        options = dict(model_options or {})
        final_labels = user_labels
        fe = user_fe or get_frontend("paper")
        meta = {"format": "plain-state-dict", "source": str(path)}

    if state is None:
        state = _read_state(path, dev)
    net = build("model", name, len(final_labels), options=options)
    kind = getattr(net, "input_kind", "logmel")
    if kind != fe.input:
        raise BadCheckpoint(
            f"{path}: model '{name}' consumes {kind} input but front-end '{fe.name}' makes "
            f"{fe.input}; give a front-end whose input is {kind}"
        )
    _fit_state(net, state, path, name, final_labels)
    net.to(dev).eval()
    return LoadedModel(
        net=net, labels=tuple(final_labels), frontend=fe, model_name=name, meta=meta
    )

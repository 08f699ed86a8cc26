"""TrainConfig: every training setting in one frozen, validated recipe object.

`fit`, `train_dataset`, `cross_validate` and `bsx train` all take one, so a setting and its
default are written here only. The defaults are the paper's recipe (Nasr et al. 2025);
`TrainConfig.loso()` is bsx's careful leave-one-speaker-out recipe on top of them. The
canonical JSON form keeps only the fields that differ from their defaults (by comparing with
each field's default, never a hand-kept list), so adding a field with a default leaves old
records meaning what they meant; checkpoints' sidecars store it under extra.train.recipe.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bsx.audio import Frontend
from bsx.errors import BadOptions
from bsx.models.augment import AugmentOptions

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class TrainConfig(BaseModel):
    """How to train: model, front-end, optimiser, schedule, stopping, augmentation, split.

    `ema`: validate and keep an exponential moving average of the weights (decay per step)
    instead of the last step's weights: on small corpora the validation score of the raw
    weights swings by 0.2 UAR between epochs, and the best epoch by it is mostly noise.
    `select`: "best" keeps the epoch with the best `monitor` score on the validation clips
    and stops after `patience` epochs without a better one; "last" trains all `epochs` and
    keeps the final weights (a fixed schedule, nothing chosen on validation clips), so in
    `--cv` the validation speaker joins the training speakers."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    model: str = "resnet-small"
    model_options: dict[str, Any] = Field(default_factory=dict)
    frontend: str | Frontend = "paper"
    epochs: int = Field(default=50, ge=1)
    batch_size: int = Field(default=32, ge=1)
    lr: float = Field(default=3e-4, gt=0)
    weight_decay: float = Field(default=1e-4, ge=0)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    patience: int = Field(default=7, ge=1)
    monitor: Literal["accuracy", "uar"] = "accuracy"
    select: Literal["best", "last"] = "best"
    class_weight: Literal["none", "balanced"] | tuple[float, ...] = "none"
    augment: AugmentOptions | None = None
    ema: float | None = Field(default=None, gt=0, lt=1)
    seed: int = 0
    device: str = "auto"
    split_mode: Literal["speaker", "random"] = "speaker"
    split_seed: int = 42
    cv: Literal["loso"] | None = None
    folds: tuple[str, ...] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise BadOptions(_one_sentence(exc)) from None

    @field_validator("device")
    @classmethod
    def _known_device(cls, v: str) -> str:
        if not _DEVICE.fullmatch(v.strip().lower()):
            raise ValueError(f"no device '{v}'; accepted: auto, cpu, cuda, cuda:N, mps")
        return v

    @field_validator("frontend")
    @classmethod
    def _known_frontend(cls, v: str | Frontend) -> str | Frontend:
        from bsx.audio import get_frontend

        get_frontend(v)  # an unknown preset name is an UnknownName with the presets listed
        return v

    @field_validator("class_weight")
    @classmethod
    def _weights(cls, v: str | tuple[float, ...]) -> str | tuple[float, ...]:
        if isinstance(v, tuple) and (not v or min(v) < 0):
            raise ValueError("give 'none', 'balanced' or one weight >= 0 per class")
        return v

    def model_post_init(self, _context: Any) -> None:
        from bsx.plugins import lookup

        lookup("model", self.model).make_options(self.model_options)  # one sentence if bad

    @classmethod
    def loso(cls, **changes: Any) -> TrainConfig:
        """bsx's careful recipe (`bsx train --cv loso`): the log-mel CNN (LRP and CRP conserve
        on it), an EMA of its weights (decay 0.98), whole utterances, 60 epochs at lr 1e-3 with
        a cosine decay, balanced class weights, augmentation with mixup (alpha 0.4), and the
        last epoch kept (select "last": the validation speaker trains too; choosing the best
        epoch on one speaker's ~50 clips picked worse epochs than the end of the schedule)."""
        careful: dict[str, Any] = {
            "model": "cnn",
            "ema": 0.98,
            "epochs": 60,
            "select": "last",
            "frontend": "paper-whole",
            "lr": 1e-3,
            "lr_schedule": "cosine",
            "patience": 10,
            "monitor": "uar",
            "class_weight": "balanced",
            "augment": AugmentOptions(mixup=0.4),
            "cv": "loso",
        }
        return cls(**{**careful, **changes})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with `changes`, validated like a new one."""
        return type(self)(**{**dict(self), **changes})

    def canonical(self) -> dict[str, Any]:
        """The fields that differ from their defaults, as JSON values."""
        dumped = self.model_dump(mode="json")
        return {
            name: dumped[name]
            for name, f in type(self).model_fields.items()
            if getattr(self, name) != f.get_default(call_default_factory=True)
        }

    def to_json(self) -> str:
        """The canonical form as one line of sorted JSON (provenance, hashes)."""
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> TrainConfig:
        """Read back `to_json`/`canonical` (missing fields take their defaults)."""
        values = json.loads(data) if isinstance(data, str) else dict(data)
        if not isinstance(values, dict):
            raise BadOptions("a training recipe must be a JSON object of settings")
        return cls(**values)

    @classmethod
    def from_sidecar(cls, meta: Mapping[str, Any]) -> TrainConfig:
        """The recipe a checkpoint's sidecar records; sidecars from before TrainConfig
        (settings flat in extra.train, model, front-end and split beside it) too."""
        train = (meta.get("extra") or {}).get("train") or {}
        if "recipe" in train:
            return cls.from_json(train["recipe"])
        old = {k: v for k, v in train.items() if k in cls.model_fields}
        model = meta.get("model") or {}
        old.setdefault("model", model.get("name", "resnet-small"))
        old.setdefault("model_options", model.get("options") or {})
        if "frontend" in meta:
            old.setdefault("frontend", meta["frontend"])
        split = meta.get("split") or {}
        if split.get("mode") in ("speaker", "random"):
            old.setdefault("split_mode", split["mode"])
            old.setdefault("split_seed", split.get("seed", 42))
        elif split.get("mode") == "loso":
            old.setdefault("cv", "loso")
        return cls(**old)


def _one_sentence(exc: ValidationError) -> str:
    """A ValidationError's first problem as one sentence naming the field."""
    errors = exc.errors()
    field = errors[0]["loc"][:1]
    # a union field reports one error per member: the deepest one says what is wrong
    first = max((e for e in errors if e["loc"][:1] == field), key=lambda e: len(e["loc"]))
    where = ".".join(str(p) for p in first["loc"] if not _member_tag(p)) or "recipe"
    where = where.split(".")[0] if first["type"] == "literal_error" else where
    if first["type"] == "literal_error" and where in TrainConfig.model_fields:
        accepted = ", ".join(map(str, _literals(TrainConfig.model_fields[where].annotation)))
        return f"training setting '{where}' = {first['input']!r}: accepted: {accepted}"
    if first["type"] == "extra_forbidden" and "." in where:
        outer, name = where.rsplit(".", 1)
        return f"training setting '{outer}' has no option '{name}'"
    if first["type"] == "extra_forbidden":
        known = ", ".join(TrainConfig.model_fields)
        return f"no training setting '{where}'; known: {known}"
    msg = str(first["msg"]).removeprefix("Value error, ")
    return f"training setting '{where}' = {first.get('input')!r}: {msg}"


def _member_tag(part: Any) -> bool:
    """A loc entry naming a union member ('str', 'Frontend', "literal['a']"), not a field."""
    return isinstance(part, int) or bool(
        re.fullmatch(r"[A-Z]\w*|\w+\[.*\]|str|int|float|bool", str(part))
    )


def _literals(tp: Any) -> list[Any]:
    """The values of the Literal[...] parts of an annotation (through unions and Optional)."""
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    return [v for a in typing.get_args(tp) for v in _literals(a)]

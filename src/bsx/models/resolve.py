"""Any model a Python caller hands bsx -> LoadedModel: a name, a path, or an nn.Module.

A notebook user has a trained `torch.nn.Module` in memory and no plugin package. `Model` wraps
it with what the model contract asks a model plugin to declare (docs/model-contract.md): the
input kind, the class labels in output order, and the front-end that makes its input. Names
and paths go through the same `load_model` as the CLI's --model and --checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bsx.errors import BsxError

if TYPE_CHECKING:
    from torch import nn

    from bsx.audio import Frontend
    from bsx.models.checkpoint import LoadedModel

INPUT_KINDS = ("logmel", "waveform")


def waveform_frontend(sample_rate: int = 16000, hop_length: int = 320) -> Frontend:
    """The default front-end of an in-memory waveform model: whole utterances up to 20 s,
    relevance frames of `hop_length` samples (wav2vec2's token stride), as for HF models."""
    from bsx.audio import Frontend

    return Frontend(
        name="waveform",
        input="waveform",
        keep="whole",
        sample_rate=sample_rate,
        n_samples=20 * sample_rate,
        hop_length=hop_length,
        n_mels=1,
    )


@dataclass(frozen=True, eq=False)
class Model:
    """An in-memory nn.Module as a bsx model.

    module: (B, 1, n_mels, T) log-mel -> (B, C) logits for input_kind "logmel"; (B, N) raw
    samples -> (B, C) for "waveform" (normalising its input inside forward). labels: the C
    class names in output order. frontend: a preset name, a Frontend or a dict of its fields;
    default "paper" (16 kHz, 2 s, 128 x 134 log-mel) for log-mel models and
    `waveform_frontend()` for waveform ones. name: what tables and config.json call it.
    task: "classification", or "regression" for a module whose outputs are dimensions
    (labels such as arousal, dominance, valence; one is enough), explained and evaluated
    per dimension (docs/dimensional.md). Grad-CAM hooks `module.cam_layer` when the module
    names one, else its last Conv2d.
    """

    module: nn.Module
    labels: Sequence[str]
    input_kind: str = "logmel"
    frontend: str | Frontend | dict[str, Any] | None = None
    name: str = "in-memory"
    task: str = "classification"
    _fe: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from torch import nn

        from bsx.audio import get_frontend

        if not isinstance(self.module, nn.Module):
            raise BsxError(
                f"bsx.Model: module must be a torch.nn.Module, not {type(self.module).__name__}"
            )
        if self.input_kind not in INPUT_KINDS:
            raise BsxError(
                f"bsx.Model: input_kind '{self.input_kind}' is not supported; "
                f"accepted: {', '.join(INPUT_KINDS)}"
            )
        if self.task not in ("classification", "regression"):
            raise BsxError(f"bsx.Model: task '{self.task}' is not supported; accepted: "
                           "classification, regression")
        labels = tuple(str(lab) for lab in self.labels)
        if self.task == "regression":
            labels = tuple(lab.strip().lower() for lab in labels)
        fewest = 1 if self.task == "regression" else 2
        if len(labels) < fewest or len(set(labels)) != len(labels):
            raise BsxError(
                f"bsx.Model: labels must name at least {fewest} distinct "
                f"{'dimensions' if fewest == 1 else 'classes'} in output order, got "
                f"{list(labels)}"
            )
        object.__setattr__(self, "labels", labels)
        if self.frontend is None:
            fe = get_frontend("paper") if self.input_kind == "logmel" else waveform_frontend()
        else:
            fe = get_frontend(self.frontend)
        if fe.input != self.input_kind:
            raise BsxError(
                f"bsx.Model: front-end '{fe.name}' makes {fe.input} input but the "
                f"model's input_kind is {self.input_kind}; give a front-end whose "
                f"input is {self.input_kind}"
            )
        object.__setattr__(self, "_fe", fe)

    def loaded(self, device: str | None = None) -> LoadedModel:
        """The module in eval mode (moved to `device` when one is given) as a LoadedModel.

        Declares input_kind on the module (the attribute bsx methods read) and checks, with
        one forward pass on a silent input, that it has one output per label."""
        import torch

        from bsx.device import device_of, resolve_device
        from bsx.models.checkpoint import LoadedModel

        net = self.module
        if device is not None:
            net.to(resolve_device(device))
        net.eval()
        if getattr(net, "input_kind", "logmel") != self.input_kind:
            net.input_kind = self.input_kind  # type: ignore[assignment]
        dev = device_of(net)
        fe = self._fe
        shape = (1, 1, fe.n_mels, fe.n_frames) if fe.input == "logmel" else (1, fe.sample_rate)
        with torch.no_grad():
            out = net(torch.zeros(shape, device=dev))
        if out.ndim != 2 or out.shape[1] != len(self.labels):
            raise BsxError(
                f"bsx.Model '{self.name}': the module maps a {tuple(shape)} input to "
                f"{tuple(out.shape)}, not (1, {len(self.labels)}) logits for the "
                f"labels {', '.join(self.labels)}"
            )
        return LoadedModel(
            net=net,
            labels=tuple(self.labels),
            frontend=fe,
            model_name=self.name,
            meta={"format": "in-memory", "task": self.task},
        )


def resolve_model(
    model: Any, *, frontend: str | Frontend | None = None, device: str | None = None
) -> LoadedModel:
    """A bsx.Model, a checkpoint file, a save_pretrained directory, a registered model name
    or None (the packaged default) -> LoadedModel. `frontend` overrides the model's own, as
    the CLI's --frontend does; `device` None is "auto" (a bsx.Model stays where it is)."""
    from bsx.models.checkpoint import load_model

    if isinstance(model, Model):
        if frontend is not None:
            from dataclasses import replace

            model = replace(model, frontend=frontend)
        return model.loaded(device)
    source = model_source(model)
    return load_model(
        source.get("checkpoint"),
        model=source.get("model"),
        frontend=frontend,
        device=device or "auto",
    )


def model_source(model: Any) -> dict[str, Any]:
    """A name or path -> {"model": name} or {"checkpoint": path}, as load_model and
    EvalConfig take them; {} for None (the packaged default). BsxError for anything else."""
    from torch import nn

    if model is None:
        return {}
    if isinstance(model, nn.Module):
        raise BsxError(
            f"a bare {type(model).__name__} does not say what it consumes or what "
            "its outputs mean; wrap it: bsx.Model(module, labels=[...], "
            "input_kind='logmel' or 'waveform')"
        )
    if isinstance(model, Path) or (isinstance(model, str) and _looks_like_path(model)):
        return {"checkpoint": Path(model)}
    if isinstance(model, str):
        return {"model": model}
    raise BsxError(
        f"model: give a registered name, a checkpoint path, a save_pretrained "
        f"directory or a bsx.Model, not {type(model).__name__}"
    )


def _looks_like_path(text: str) -> bool:
    """A string names a file or folder when one exists there or it has a path's shape."""
    return Path(text).expanduser().exists() or "/" in text or text.endswith((".pt", ".pth"))

"""HuggingFace audio classifiers (wav2vec2, HuBERT, WavLM) as bsx waveform models.

`load_hf(DIR)` reads what `save_pretrained` wrote, offline only, and wraps the network in
`HfAudioClassifier`: raw waveform (B, N) at the feature extractor's sampling rate in, (B, C)
logits out, with the feature extractor's zero-mean/unit-variance normalisation done inside
forward in torch, so gradients and LRP reach the raw samples (docs/model-contract.md).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from bsx.audio import Frontend
from bsx.errors import BadCheckpoint, BsxError
from bsx.models.hf_config import (
    emotion_labels,
    hf_dir,
    hf_frontend,
    preprocessor,
    read_config,
    token_stride,
)
from bsx.models.options import HfOptions

NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm: x / sqrt(var + 1e-7)


class WaveformNorm(nn.Module):
    """The feature extractor's do_normalize: (x - mean) / sqrt(var + 1e-7) per clip, in torch.

    `eps` and `enabled` let attribution methods treat it like a LayerNorm over the samples
    (bsx.methods.waveform_norms holds its scale constant, as the LRP identity rule does).
    """

    def __init__(self, enabled: bool) -> None:
        super().__init__()
        self.enabled = enabled
        self.eps = NORM_EPS

    def forward(self, x: Tensor) -> Tensor:
        if not self.enabled:
            return x
        centred = x - x.mean(dim=-1, keepdim=True)
        return centred / torch.sqrt(x.var(dim=-1, unbiased=False, keepdim=True) + self.eps)


def receptive_field(cfg: Any) -> int:
    """Samples one encoder token sees: the shortest input the conv encoder accepts."""
    r = 1
    for k, s in zip(reversed(cfg.conv_kernel), reversed(cfg.conv_stride), strict=True):
        r = (r - 1) * int(s) + int(k)
    return r


class HfAudioClassifier(nn.Module):
    """(B, N) raw waveform -> (B, C) logits of a transformers audio classifier.

    Attributes read by bsx methods: input_kind ("waveform"), sample_rate, token_stride
    (samples per encoder token), model (the transformers model), norm (WaveformNorm).
    """

    input_kind = "waveform"

    def __init__(self, model: nn.Module, *, sample_rate: int, do_normalize: bool) -> None:
        super().__init__()
        self.model = model
        self.norm = WaveformNorm(do_normalize)
        self.sample_rate = int(sample_rate)
        self.token_stride = token_stride(model.config.to_dict())
        self.min_samples = receptive_field(model.config)

    def forward(self, x: Tensor) -> Tensor:
        """(B, N) -> (B, C)."""
        if x.ndim != 2:
            raise BsxError(
                f"a waveform model takes a (B, N) batch of samples, got shape {tuple(x.shape)}"
            )
        if x.shape[1] < self.min_samples:
            raise BsxError(
                f"a waveform of {x.shape[1]} samples is shorter than this model's receptive "
                f"field ({self.min_samples} samples at {self.sample_rate} Hz)"
            )
        return self.model(input_values=self.norm(x)).logits


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """HF_HUB_OFFLINE=1 for the block: loading never reaches the network."""
    before = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = before


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No transformers progress bars or load reports (bsx reports problems itself)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _weights_file(d: Path) -> str:
    for name in ("model.safetensors", "model.safetensors.index.json"):
        if (d / name).is_file():
            return name
    for name in ("pytorch_model.bin", "pytorch_model.bin.index.json"):
        if (d / name).is_file():
            return name  # read with torch.load(weights_only=True) by transformers
    raise BadCheckpoint(
        f"{d}: holds no weights (model.safetensors or pytorch_model.bin); bsx reads what "
        "save_pretrained writes and nothing else"
    )


def load_hf(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    labels: Sequence[str] | None = None,
) -> tuple[HfAudioClassifier, tuple[str, ...], Frontend]:
    """A save_pretrained directory (None: the packaged waveform model) -> (net in eval mode
    on `device`, labels in class order, front-end).

    Offline only (local_files_only, HF_HUB_OFFLINE=1, no remote code); safetensors preferred,
    a .bin is read with weights_only=True. Labels come from config.id2label mapped to bsx's
    emotion vocabulary unless `labels` are given. A directory whose classifier head is missing
    (e.g. a CTC or pretraining checkpoint) is refused rather than run with a random head.
    """
    from transformers import AutoModelForAudioClassification

    from bsx.labels import parse_labels

    d = hf_dir(path)
    cfg = read_config(d)
    pre = preprocessor(d)
    fe = hf_frontend(d)
    n_classes = len(cfg.get("id2label") or {})
    if labels is not None:
        final = parse_labels(labels)
        if len(final) != n_classes:
            raise BadCheckpoint(
                f"{d}: its classifier has {n_classes} classes but {len(final)} labels were "
                f"given ({', '.join(final)})"
            )
    else:
        final = emotion_labels(cfg.get("id2label") or {}, str(d / "config.json"))
    weights = _weights_file(d)
    try:
        with _offline(), _quiet():
            model, info = AutoModelForAudioClassification.from_pretrained(
                d, local_files_only=True, trust_remote_code=False, weights_only=True,
                use_safetensors=weights.startswith("model.safetensors"),
                output_loading_info=True,
            )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise BadCheckpoint(
            f"{d}: transformers could not load it ({type(exc).__name__}: {exc})"
        ) from None
    missing = [k for k in info.get("missing_keys", ()) if "masked_spec_embed" not in k]
    if missing:
        raise BadCheckpoint(
            f"{d}: {weights} lacks {len(missing)} weight(s) of an audio classifier (e.g. "
            f"'{sorted(missing)[0]}'); it is not a fine-tuned classification checkpoint"
        )
    net = HfAudioClassifier(
        model, sample_rate=pre["sampling_rate"], do_normalize=bool(pre.get("do_normalize", True))
    )
    dev = torch.device(device) if isinstance(device, str) else device
    net.to(dev).eval()
    return net, final, fe


def hf_model(n_classes: int | None = None, options: HfOptions | None = None) -> nn.Module:
    """The model spec's factory: load_hf(options.checkpoint) on the CPU, checked against
    n_classes when given."""
    net, labels, _ = load_hf((options or HfOptions()).checkpoint)
    if n_classes is not None and n_classes != len(labels):
        raise BadCheckpoint(
            f"the hf model has {len(labels)} classes ({', '.join(labels)}), not {n_classes}"
        )
    return net


def build_config(
    model_type: str,
    labels: Sequence[str],
    *,
    hidden: int = 32,
    layers: int = 1,
    heads: int = 2,
    intermediate: int | None = None,
    conv_dim: Sequence[int] = (16, 16, 16),
    conv_kernel: Sequence[int] = (10, 8, 4),
    conv_stride: Sequence[int] = (5, 8, 8),
    pos_kernel: int = 16,
    pos_groups: int = 4,
    feat_extract_norm: str = "group",
    **extra: Any,
) -> Any:
    """A small wav2vec2 / HuBERT / WavLM classification config (no weights, no download).

    The default conv encoder keeps the 320-sample token stride of the released models in
    three layers; dropout and SpecAugment masking are off unless given in `extra`.
    """
    from transformers import AutoConfig

    if model_type not in ("wav2vec2", "hubert", "wavlm"):
        raise BsxError(f"model_type '{model_type}': give wav2vec2, hubert or wavlm")
    kw: dict[str, Any] = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate or 2 * hidden, conv_dim=tuple(conv_dim),
        conv_kernel=tuple(conv_kernel), conv_stride=tuple(conv_stride),
        num_conv_pos_embeddings=pos_kernel, num_conv_pos_embedding_groups=pos_groups,
        feat_extract_norm=feat_extract_norm, classifier_proj_size=hidden,
        num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
        hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0,
        do_stable_layer_norm=feat_extract_norm == "layer",
    )
    if model_type == "wavlm":
        kw.update(num_buckets=32, max_bucket_distance=64)
    kw.update(extra)
    return AutoConfig.for_model(model_type, **kw)


def new_classifier(config: Any, *, sample_rate: int = 16000, seed: int = 0) -> HfAudioClassifier:
    """A freshly initialised classifier for `config` (seeded), wrapped for bsx."""
    from transformers import AutoModelForAudioClassification

    torch.manual_seed(seed)
    model = AutoModelForAudioClassification.from_config(config)
    return HfAudioClassifier(model, sample_rate=sample_rate, do_normalize=True).eval()


def save_hf(
    net: HfAudioClassifier, out: str | Path, frontend: dict[str, Any] | None = None
) -> Path:
    """Write `net` as a save_pretrained directory (safetensors + a Wav2Vec2FeatureExtractor),
    plus bsx.json holding front-end fields when given; returns the directory."""
    import json

    from transformers import Wav2Vec2FeatureExtractor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _quiet():
        net.model.save_pretrained(out)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=net.sample_rate, padding_value=0.0,
        do_normalize=net.norm.enabled, return_attention_mask=False,
    ).save_pretrained(out)
    if frontend:
        (out / "bsx.json").write_text(json.dumps({"frontend": frontend}, indent=1) + "\n")
    return out


def load_hf_model(
    checkpoint: str | Path | None = None,
    *,
    labels: Sequence[str] | None = None,
    frontend: Frontend | None = None,
    device: str | torch.device = "cpu",
) -> Any:
    """load_hf as bsx.models.checkpoint.LoadedModel, for load_model's `--model hf` branch.

    A front-end given here wins over the directory's, with a warning when it differs, but it
    must make waveform input (load_model's input-kind rule).
    """
    import warnings

    from bsx.models.checkpoint import LoadedModel

    net, final, fe = load_hf(checkpoint, device, labels=labels)
    if frontend is not None:
        if frontend.input != "waveform":
            raise BadCheckpoint(
                f"{hf_dir(checkpoint)}: model 'hf' consumes waveform input but front-end "
                f"'{frontend.name}' makes {frontend.input}; give a front-end whose input is "
                "waveform"
            )
        if frontend.model_dump(exclude={"name"}) != fe.model_dump(exclude={"name"}):
            warnings.warn(
                f"{hf_dir(checkpoint)}: its front-end is '{fe.name}' but '{frontend.name}' was "
                "given; its inputs will differ from training", stacklevel=2,
            )
        fe = frontend
    d = hf_dir(checkpoint)
    meta = {"format": "hf-save-pretrained", "source": str(d),
            "model_type": net.model.config.model_type}
    report = d / "report.json"
    if report.is_file():  # a bsx training run's split and metrics (the packaged model)
        import json

        meta.update({k: v for k, v in json.loads(report.read_text()).items()
                     if k in ("split", "test", "val", "dataset")})
    return LoadedModel(net=net, labels=final, frontend=fe, model_name="hf", meta=meta)

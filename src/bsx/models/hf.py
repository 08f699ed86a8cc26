"""HuggingFace audio classifiers as bsx models (docs/hf-models.md).

`load_hf(DIR)` reads what `save_pretrained` wrote, offline only. The waveform families
(wav2vec2, HuBERT, WavLM, Data2VecAudio, UniSpeechSat) are wrapped in `HfAudioClassifier`:
raw waveform (B, N) at the feature extractor's sampling rate in, (B, C) logits out, with the
feature extractor's zero-mean/unit-variance normalisation done inside forward in torch, so
gradients and LRP reach the raw samples (docs/model-contract.md). AST and Whisper's audio
classifier take their own features (bsx.features), wrapped in `HfFeatureClassifier`.
A regression head (problem_type "regression") gives one output per dimension.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from bsx.audio import Frontend
from bsx.errors import BadCheckpoint, BsxError
from bsx.models.hf_config import (
    FEATURE_TYPES,
    dimension_labels,
    emotion_labels,
    hf_dir,
    hf_frontend,
    is_regression,
    preprocessor,
    read_config,
    speech_head,
    token_stride,
)
from bsx.models.options import HfOptions

NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm: x / sqrt(var + 1e-7)
AST_MEAN, AST_STD = -4.2677393, 4.5689974  # ASTFeatureExtractor's defaults (AudioSet)


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

    def __init__(self, model: Any, *, sample_rate: int, do_normalize: bool) -> None:
        super().__init__()
        self.model: Any = model  # a transformers model: its config and heads are dynamic
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


class HfFeatureClassifier(nn.Module):
    """(B, 1, n_mels, T) features of bsx.features -> (B, C) logits of an AST or Whisper audio
    classifier. T is the model's fixed window on bsx's grid (1 + n_samples // hop).

    AST: the extractor's (x - mean) / (2 std) is done here, so relevance is on the filterbank;
    Whisper: the last frame (kept by bsx's grid, dropped by the extractor) is dropped here.
    """

    input_kind = "logmel"

    def __init__(self, model: Any, *, sample_rate: int, mean: float = 0.0,
                 std: float = 0.5, do_normalize: bool = False) -> None:
        super().__init__()
        self.model: Any = model  # a transformers model: its config and heads are dynamic
        self.sample_rate = int(sample_rate)
        self.whisper = model.config.model_type == "whisper"
        self.mean, self.std, self.do_normalize = float(mean), float(std), bool(do_normalize)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 1, F, T) -> (B, C)."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise BsxError(
                f"a feature model takes a (B, 1, n_mels, T) batch, got shape {tuple(x.shape)}"
            )
        if self.whisper:
            return self.model(input_features=x[:, 0, :, :-1]).logits
        v = x[:, 0].transpose(1, 2)  # AST: (B, T, n_mels)
        if self.do_normalize:
            v = (v - self.mean) / (2.0 * self.std)
        return self.model(input_values=v).logits


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


def weights_file(d: Path) -> str:
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


def weight_files(d: Path, name: str) -> list[Path]:
    """The files holding the weights: the one file, or every shard an index names (each
    must be present)."""
    if not name.endswith(".index.json"):
        return [d / name]
    index = d / name
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
        shards = sorted({str(v) for v in weight_map.values()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadCheckpoint(
            f"{index}: not a readable shard index ({type(exc).__name__}: {exc})") from None
    missing = [s for s in shards if not (d / s).is_file()]
    if missing:
        raise BadCheckpoint(
            f"{index}: names {len(missing)} shard(s) that are not in the directory "
            f"({', '.join(missing)}); copy the whole save_pretrained directory")
    return [d / s for s in shards]


def check_weights(d: Path, name: str) -> None:
    """Every safetensors file opens and every zip-format .bin has its zip directory (a
    truncated copy fails here, named); what a .bin's pickle holds is checked when transformers
    reads it with torch.load(weights_only=True) (see load_hf)."""
    import zipfile

    from safetensors import SafetensorError, safe_open

    for f in weight_files(d, name):
        if f.suffix != ".safetensors":
            with open(f, "rb") as fh:
                zipped = fh.read(2) == b"PK"  # torch.save's format since torch 1.6
            if zipped and not zipfile.is_zipfile(f):
                raise BadCheckpoint(
                    f"{f}: not a complete PyTorch weights file (its zip directory is missing); "
                    "it is truncated or corrupt (a failed copy?): copy it again")
            continue
        try:
            with safe_open(str(f), framework="pt"):
                pass
        except (SafetensorError, OSError) as exc:
            raise BadCheckpoint(
                f"{f}: not a complete safetensors file ({exc}); it is truncated or corrupt "
                "(a failed copy?): copy it again") from None


def _unsafe(exc: BaseException) -> bool:
    """Whether torch.load(weights_only=True) refused a pickle for what it would run (a global
    or an operation outside its allowlist), not for being cut short: anywhere in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if isinstance(seen, pickle.UnpicklingError) and ("unsupported" in text
                                                         or "blocked" in text):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def pretrained(cls: Any, d: Path, weights: str) -> tuple[Any, list[str], list[str]]:
    """`cls.from_pretrained(d)` offline (local files, no remote code, weights_only, safetensors
    when `weights` is one), quietly: (model, missing weights, unexpected weights), SpecAugment's
    masked_spec_embed left out of both (a fine-tuned model need not hold it). A failure is one
    BadCheckpoint naming the directory or the weights file."""
    try:
        with _offline(), _quiet():
            model, info = cls.from_pretrained(
                d, local_files_only=True, trust_remote_code=False, weights_only=True,
                use_safetensors=weights.startswith("model.safetensors"),
                output_loading_info=True,
            )
    except (OSError, ValueError, RuntimeError, KeyError, pickle.UnpicklingError) as exc:
        if _unsafe(exc):
            raise BadCheckpoint(
                f"{d / weights}: refused for safety: it holds a pickle that would run code "
                "when loaded (torch.load with weights_only=True rejected it); nothing in it "
                "was run") from None
        if isinstance(exc, pickle.UnpicklingError):
            raise BadCheckpoint(
                f"{d / weights}: not a readable PyTorch weights file ({exc}); it is truncated "
                "or corrupt (a failed copy?): copy it again") from None
        raise BadCheckpoint(
            f"{d}: transformers could not load it ({type(exc).__name__}: {exc})"
        ) from None
    return model, *(sorted(k for k in info.get(key, ()) if "masked_spec_embed" not in k)
                     for key in ("missing_keys", "unexpected_keys"))  # type: ignore[return-value]


def load_hf(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    labels: Sequence[str] | None = None,
) -> tuple[HfAudioClassifier | HfFeatureClassifier, tuple[str, ...], Frontend]:
    """A save_pretrained directory (None: the packaged waveform model) -> (net in eval mode
    on `device`, labels in class order, front-end).

    Offline only (local_files_only, HF_HUB_OFFLINE=1, no remote code); safetensors preferred,
    a .bin is read with weights_only=True. Labels come from config.id2label mapped to bsx's
    emotion vocabulary unless `labels` are given. A directory whose classifier head is missing
    (e.g. a CTC or pretraining checkpoint) is refused rather than run with a random head.
    config.json's architectures naming audeering's custom head (Wav2Vec2ForSpeechClassification,
    EmotionModel) load through bsx.models.hf_speech_head.
    """
    from bsx.labels import parse_labels

    d = hf_dir(path)
    cfg = read_config(d)  # an unsupported family is refused here, before torch or transformers
    pre = preprocessor(d)
    fe = hf_frontend(d)
    n_classes = len(cfg.get("id2label") or {})
    if labels is None and is_regression(cfg):
        labels = dimension_labels(cfg.get("id2label") or {}, str(d / "config.json"))
    if labels is not None:
        final = parse_labels(labels) if isinstance(labels, str) else tuple(labels)
        if len(final) != n_classes:
            raise BadCheckpoint(
                f"{d}: its classifier has {n_classes} classes but {len(final)} labels were "
                f"given ({', '.join(final)})"
            )
    else:
        final = emotion_labels(cfg.get("id2label") or {}, str(d / "config.json"))
    weights = weights_file(d)
    check_weights(d, weights)
    if speech_head(cfg) is not None:  # audeering's custom head: built by bsx, not transformers
        from bsx.models.hf_speech_head import load_speech_head

        net: HfAudioClassifier | HfFeatureClassifier = load_speech_head(d, weights, pre, cfg)
    else:
        from transformers import AutoModelForAudioClassification

        model, missing, _ = pretrained(AutoModelForAudioClassification, d, weights)
        if missing:
            raise BadCheckpoint(
                f"{d}: {weights} lacks {len(missing)} weight(s) of an audio classifier (e.g. "
                f"'{sorted(missing)[0]}'); it is not a fine-tuned classification checkpoint"
            )
        net = wrap(model, pre)
    dev = torch.device(device) if isinstance(device, str) else device
    net.to(dev).eval()
    return net, final, fe


def wrap(model: Any, pre: dict[str, Any]) -> HfAudioClassifier | HfFeatureClassifier:
    """A transformers audio classifier as a bsx net, by its family's input kind."""
    sr = int(pre.get("sampling_rate", 16000))
    if model.config.model_type in FEATURE_TYPES:
        return HfFeatureClassifier(
            model, sample_rate=sr, mean=float(pre.get("mean", AST_MEAN)),
            std=float(pre.get("std", AST_STD)),
            do_normalize=model.config.model_type != "whisper"
            and bool(pre.get("do_normalize", True)),
        )
    return HfAudioClassifier(model, sample_rate=sr,
                             do_normalize=bool(pre.get("do_normalize", True)))


def hf_model(n_classes: int | None = None, options: HfOptions | None = None) -> nn.Module:
    """The model spec's factory: load_hf(options.checkpoint) on the CPU, checked against
    n_classes when given."""
    net, labels, _ = load_hf((options or HfOptions()).checkpoint)
    if n_classes is not None and n_classes != len(labels):
        raise BadCheckpoint(
            f"the hf model has {len(labels)} classes ({', '.join(labels)}), not {n_classes}"
        )
    return net


@dataclass(frozen=True)
class HfSize:
    """The size of a small config built by build_config: transformer width, depth, heads and
    feed-forward width; for the waveform families the conv encoder (its channels, kernels and
    strides: the default keeps the released models' 320-sample token stride in three layers),
    the positional conv and the feature-extractor norm ("group" or "layer")."""

    hidden: int = 32
    layers: int = 1
    heads: int = 2
    intermediate: int | None = None
    conv_dim: tuple[int, ...] = (16, 16, 16)
    conv_kernel: tuple[int, ...] = (10, 8, 4)
    conv_stride: tuple[int, ...] = (5, 8, 8)
    pos_kernel: int = 16
    pos_groups: int = 4
    feat_extract_norm: str = "group"


def build_config(
    model_type: str, labels: Sequence[str], size: HfSize | None = None, **extra: Any
) -> Any:
    """A small classification config of a supported family (no weights, no download).

    AST: 64 mel bins, 200 frames (2 s) unless given in `extra`; Whisper: 80 mel bins, 1500
    positions (the released 30 s window) unless given. Dropout and SpecAugment masking are off
    unless given in `extra`.
    """
    from transformers import AutoConfig

    from bsx.models.hf_config import MODEL_TYPES

    if model_type not in MODEL_TYPES:
        raise BsxError(f"model_type '{model_type}': give one of {', '.join(MODEL_TYPES)}")
    z = size or HfSize()
    hidden, layers, heads, intermediate = z.hidden, z.layers, z.heads, z.intermediate
    heads_kw = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                    label2id={lab: i for i, lab in enumerate(labels)})
    if model_type == "audio-spectrogram-transformer":
        kw: dict[str, Any] = dict(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
            intermediate_size=intermediate or 2 * hidden, num_mel_bins=64, max_length=200,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **heads_kw)
    elif model_type == "whisper":
        kw = dict(
            d_model=hidden, encoder_layers=layers, decoder_layers=1,
            encoder_attention_heads=heads, decoder_attention_heads=heads,
            encoder_ffn_dim=intermediate or 2 * hidden, decoder_ffn_dim=intermediate or 2 * hidden,
            num_mel_bins=80, max_source_positions=1500, classifier_proj_size=hidden,
            dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, encoder_layerdrop=0.0,
            mask_time_prob=0.0, **heads_kw)
    else:
        kw = dict(
            hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
            intermediate_size=intermediate or 2 * hidden, conv_dim=tuple(z.conv_dim),
            conv_kernel=tuple(z.conv_kernel), conv_stride=tuple(z.conv_stride),
            num_conv_pos_embeddings=z.pos_kernel, num_conv_pos_embedding_groups=z.pos_groups,
            feat_extract_norm=z.feat_extract_norm, classifier_proj_size=hidden,
            hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
            feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.0,
            do_stable_layer_norm=z.feat_extract_norm == "layer", **heads_kw)
        if model_type == "wavlm":
            kw.update(num_buckets=32, max_bucket_distance=64)
        if model_type == "data2vec-audio":
            kw.update(conv_pos_kernel_size=z.pos_kernel, num_conv_pos_embeddings=2)
    kw.update(extra)
    return AutoConfig.for_model(model_type, **kw)


def _extractor(config: Any, sample_rate: int) -> Any:
    """The feature extractor save_pretrained writes beside a model of this family."""
    from transformers import ASTFeatureExtractor, Wav2Vec2FeatureExtractor, WhisperFeatureExtractor

    if config.model_type == "audio-spectrogram-transformer":
        return ASTFeatureExtractor(sampling_rate=sample_rate, num_mel_bins=config.num_mel_bins,
                                   max_length=config.max_length)
    if config.model_type == "whisper":
        seconds, rest = divmod(2 * config.max_source_positions * 160, sample_rate)
        if rest:
            raise BsxError(f"max_source_positions {config.max_source_positions} is not a whole "
                           f"number of seconds at {sample_rate} Hz")
        return WhisperFeatureExtractor(feature_size=config.num_mel_bins,
                                       sampling_rate=sample_rate, hop_length=160,
                                       chunk_length=int(seconds), n_fft=400)
    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=sample_rate, padding_value=0.0,
                                    do_normalize=True, return_attention_mask=False)


def new_classifier(config: Any, *, sample_rate: int = 16000, seed: int = 0) -> nn.Module:
    """A freshly initialised classifier for `config` (seeded), wrapped for bsx."""
    from transformers import AutoModelForAudioClassification

    torch.manual_seed(seed)
    model = AutoModelForAudioClassification.from_config(config)
    return wrap(model, _extractor(config, sample_rate).to_dict()).eval()


def save_hf(
    net: Any, out: str | Path, frontend: dict[str, Any] | None = None
) -> Path:
    """Write `net` as a save_pretrained directory (safetensors + its family's feature
    extractor), plus bsx.json holding front-end fields when given; returns the directory."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _quiet():
        net.model.save_pretrained(out)
    extractor = _extractor(net.model.config, net.sample_rate)
    if isinstance(net, HfAudioClassifier):
        extractor.do_normalize = net.norm.enabled
    extractor.save_pretrained(out)
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
    must make the model's input kind (load_model's input-kind rule). meta["task"] is
    "regression" for a regression head (labels are then its dimensions).
    """
    import warnings

    from bsx.models.checkpoint import LoadedModel

    net, final, fe = load_hf(checkpoint, device, labels=labels)
    kind = type(net).input_kind
    if frontend is not None:
        if frontend.input != kind or frontend.features != fe.features:
            what = f"{kind} input" + (f" ({fe.features} features)" if kind == "logmel" else "")
            raise BadCheckpoint(
                f"{hf_dir(checkpoint)}: model 'hf' consumes {what} but front-end "
                f"'{frontend.name}' makes {frontend.input}; give a front-end whose input is "
                f"{kind}" + (f" with {fe.features} features" if kind == "logmel" else "")
            )
        if frontend.model_dump(exclude={"name"}) != fe.model_dump(exclude={"name"}):
            warnings.warn(
                f"{hf_dir(checkpoint)}: its front-end is '{fe.name}' but '{frontend.name}' was "
                "given; its inputs will differ from training", stacklevel=2,
            )
        fe = frontend
    d = hf_dir(checkpoint)
    meta = {"format": "hf-save-pretrained", "source": str(d),
            "model_type": net.model.config.model_type,
            "task": "regression" if is_regression(net.model.config.to_dict())
            else "classification"}
    report = d / "report.json"
    if report.is_file():  # a bsx training run's split and metrics (the packaged model)
        import json

        meta.update({k: v for k, v in json.loads(report.read_text()).items()
                     if k in ("split", "test", "val", "dataset")})
    return LoadedModel(net=net, labels=final, frontend=fe, model_name="hf", meta=meta)

"""hf-probe: a frozen self-supervised speech encoder with a trained probe (docs/training.md).

The encoder is a local save_pretrained directory of a waveform family (wav2vec2, HuBERT,
WavLM, Data2VecAudio, UniSpeechSat; a base model or any of its heads). As SUPERB does, the
probe learns a softmax weighting over all hidden states (the conv features' projection and
every transformer layer), then pools over time (mean, or attentive statistics pooling: an
attention-weighted mean and standard deviation) and classifies with a small MLP.

The encoder is frozen, so `bsx train` runs it once per clip (`encode_prepared`) and fit trains
only the head ("hf-probe-head", on the cached hidden states) for as many epochs as the recipe
asks. The saved model is "hf-probe": encoder and head as one waveform model, so gradient
methods explain it end to end; its state dict is the head's alone (the encoder is read from
its directory, whose weights hash the options record and a later load checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from bsx.errors import BadCheckpoint, BsxError
from bsx.models.options import HeadOptions, ProbeOptions

if TYPE_CHECKING:
    from bsx.models.recipe import TrainConfig

PROBE, HEAD = "hf-probe", "hf-probe-head"


class ProbeHead(nn.Module):
    """(B, S, T, H) hidden states (+ a (B, T) mask of real tokens) -> (B, C) logits."""

    def __init__(self, n_classes: int, o: HeadOptions) -> None:
        super().__init__()
        self.layer_logits = nn.Parameter(torch.zeros(o.n_states))  # softmax: equal at start
        self.attentive = o.pooling == "attentive"
        if self.attentive:
            self.attention = nn.Sequential(nn.Linear(o.width, o.mlp), nn.Tanh(),
                                           nn.Linear(o.mlp, 1))
        pooled = o.width * (2 if self.attentive else 1)
        self.mlp = nn.Sequential(nn.Linear(pooled, o.mlp), nn.ReLU(), nn.Dropout(o.dropout),
                                 nn.Linear(o.mlp, n_classes))

    def layer_weights(self) -> Tensor:
        return torch.softmax(self.layer_logits, dim=0)

    def forward(self, states: Tensor, mask: Tensor | None = None) -> Tensor:
        x = torch.einsum("s,bsth->bth", self.layer_weights(), states)
        m = (torch.ones(x.shape[:2], dtype=x.dtype, device=x.device) if mask is None
             else mask.to(x.dtype))
        if self.attentive:
            e = self.attention(x).squeeze(-1).masked_fill(m == 0, float("-inf"))
            a = torch.softmax(e, dim=1).unsqueeze(-1)
            mu = (a * x).sum(1)
            std = torch.sqrt(((a * x * x).sum(1) - mu * mu).clamp_min(1e-6))
            pooled = torch.cat([mu, std], dim=1)
        else:
            pooled = (x * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp_min(1.0)
        return self.mlp(pooled)


class ProbeHeadNet(nn.Module):
    """What fit trains: the head on packed cached hidden states (B, 1, S*H + 1, T), where row
    s*H + h is state s's feature h and the last row marks real tokens (1) from padding (0)."""

    def __init__(self, n_classes: int, options: HeadOptions | None = None) -> None:
        super().__init__()
        self.o = options or HeadOptions()
        self.head = ProbeHead(n_classes, self.o)

    def forward(self, packed: Tensor) -> Tensor:
        x = packed[:, 0]
        b, t = x.shape[0], x.shape[-1]
        states = x[:, :-1].reshape(b, self.o.n_states, self.o.width, t).transpose(2, 3)
        return self.head(states, x[:, -1] > 0.5)


class HfProbe(nn.Module):
    """(B, N) raw waveform -> (B, C) logits: the frozen encoder, then the trained head.

    state_dict holds the head only ("head.*"): the encoder comes from its directory.
    """

    input_kind = "waveform"

    def __init__(self, encoder: Any, head: ProbeHead, *, sample_rate: int,
                 do_normalize: bool) -> None:
        from bsx.models.hf import WaveformNorm, receptive_field
        from bsx.models.hf_config import token_stride

        super().__init__()
        self.model: Any = encoder.eval().requires_grad_(False)
        self.norm = WaveformNorm(do_normalize)
        self.head = head
        self.sample_rate = int(sample_rate)
        self.token_stride = token_stride(encoder.config.to_dict())
        self.min_samples = receptive_field(encoder.config)

    def train(self, mode: bool = True) -> HfProbe:
        super().train(mode)
        self.model.eval()  # frozen: dropout and masking stay off
        return self

    def hidden_states(self, x: Tensor) -> Tensor:
        """(B, N) -> (B, S, T, H): every hidden state of the encoder."""
        if x.ndim != 2:
            raise BsxError(
                f"a waveform model takes a (B, N) batch of samples, got shape {tuple(x.shape)}")
        if x.shape[1] < self.min_samples:
            raise BsxError(
                f"a waveform of {x.shape[1]} samples is shorter than this model's receptive "
                f"field ({self.min_samples} samples at {self.sample_rate} Hz)")
        out = self.model(input_values=self.norm(x), output_hidden_states=True)
        return torch.stack(out.hidden_states, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden_states(x))

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        full = super().state_dict(*args, **kwargs)
        for k in [k for k in full if not k.startswith("head.")]:
            del full[k]
        return full

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return self.head.load_state_dict(
            {k.removeprefix("head."): v for k, v in state_dict.items()}, strict=strict,
            assign=assign)


def encoder_dir(checkpoint: str | Path | None) -> Path:
    """The encoder directory of hf-probe's options, checked to be a waveform family (JSON only,
    so a bad directory fails at once)."""
    from bsx.models.hf_config import WAVEFORM_TYPES, hf_dir, read_config

    if checkpoint is None:
        raise BadCheckpoint("model 'hf-probe' needs the encoder's save_pretrained directory: "
                            "give --checkpoint DIR (or the model option checkpoint=DIR)")
    d = hf_dir(checkpoint)
    kind = read_config(d)["model_type"]
    if kind not in WAVEFORM_TYPES:
        raise BadCheckpoint(f"{d / 'config.json'}: model_type '{kind}' is not a waveform "
                            f"encoder; hf-probe takes {', '.join(WAVEFORM_TYPES)}")
    return d.resolve()


def encoder_hash(d: Path) -> str:
    """sha256 of the encoder's weights (every shard of an index, in order)."""
    import hashlib

    from bsx.models.hf import weight_files, weights_file
    from bsx.paths import sha256_file

    files = weight_files(d, weights_file(d))
    if len(files) == 1:
        return sha256_file(files[0])
    return hashlib.sha256("".join(sha256_file(f) for f in files).encode()).hexdigest()


def load_encoder(d: Path, device: str | torch.device = "cpu") -> tuple[Any, dict[str, Any]]:
    """The base model of a save_pretrained directory (offline, safetensors or weights_only),
    and its preprocessor config."""
    from transformers import AutoModel

    from bsx.models.hf import _offline, _quiet, check_weights, weights_file
    from bsx.models.hf_config import preprocessor

    pre = preprocessor(d)
    weights = weights_file(d)
    check_weights(d, weights)
    try:
        with _offline(), _quiet():
            model = AutoModel.from_pretrained(
                d, local_files_only=True, trust_remote_code=False, weights_only=True,
                use_safetensors=weights.startswith("model.safetensors"))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise BadCheckpoint(
            f"{d}: transformers could not load the encoder ({type(exc).__name__}: {exc})"
        ) from None
    return model.to(device).eval(), pre


def head_options(config: dict[str, Any], o: ProbeOptions) -> HeadOptions:
    """The head's shape from the encoder's config: S = layers + 1 states of width H."""
    return HeadOptions(n_states=int(config["num_hidden_layers"]) + 1,
                       width=int(config["hidden_size"]), pooling=o.pooling, mlp=o.mlp,
                       dropout=o.dropout)


def hf_probe(n_classes: int, options: ProbeOptions | None = None) -> HfProbe:
    """The model spec's factory: the encoder from its directory (its weights hash checked
    against the recorded one) and an untrained head."""
    from bsx.models.hf_config import read_config

    o = options or ProbeOptions()
    d = encoder_dir(o.checkpoint)
    if o.encoder_sha256 is not None and encoder_hash(d) != o.encoder_sha256:
        raise BadCheckpoint(
            f"{d}: the encoder's weights differ from the ones the probe was trained on "
            "(sha256 differs); give the encoder directory it was trained with")
    encoder, pre = load_encoder(d)
    head = ProbeHead(n_classes, head_options(read_config(d), o))
    return HfProbe(encoder, head, sample_rate=int(pre.get("sampling_rate", 16000)),
                   do_normalize=bool(pre.get("do_normalize", True)))


def head_net(n_classes: int, options: HeadOptions | None = None) -> ProbeHeadNet:
    return ProbeHeadNet(n_classes, options)


# --- training: the recipe, the cached hidden states -----------------------------------------


def pin(config: TrainConfig) -> TrainConfig:
    """The recipe `bsx train` records for hf-probe: the encoder directory made absolute, its
    weights hash, its front-end; no augmentation (it edits spectrograms, not hidden states)."""
    from bsx.models.hf_config import hf_frontend

    o = ProbeOptions(**config.model_options)
    d = encoder_dir(o.checkpoint)
    opts = o.model_copy(update={"checkpoint": str(d), "encoder_sha256": encoder_hash(d)})
    return config.replace(model_options=opts.model_dump(), frontend=hf_frontend(d),
                          augment=None)


def fit_recipe(config: TrainConfig) -> TrainConfig:
    """What fit trains for this recipe: itself, or for hf-probe the head on cached states."""
    if config.model != PROBE:
        return config
    from bsx.models.hf_config import read_config

    o = ProbeOptions(**config.model_options)
    cfg = read_config(encoder_dir(o.checkpoint))
    return config.replace(model=HEAD, model_options=head_options(cfg, o).model_dump())


@dataclass(frozen=True)
class Encoded:
    """A clip's units as packed hidden states (S*H + 1, T), T padded to the corpus's longest."""

    packed: tuple[np.ndarray, ...]

    def units(self) -> list[np.ndarray]:
        return list(self.packed)


@torch.no_grad()
def encode_prepared(config: TrainConfig, prepared: dict[str, Any], *,
                    device: str | torch.device = "cpu",
                    progress: bool = True) -> dict[str, Encoded | None]:
    """Clip id -> its units' hidden states through the frozen encoder, computed once here
    (one unit at a time, so no padding reaches the encoder), packed for ProbeHeadNet."""
    o = ProbeOptions(**config.model_options)
    encoder, pre = load_encoder(encoder_dir(o.checkpoint), device)
    norm_net = HfProbe(encoder, ProbeHead(2, HeadOptions()), sample_rate=16000,
                       do_normalize=bool(pre.get("do_normalize", True)))
    if progress:
        from bsx.progress import status

        status(f"encoding {len(prepared)} clips once with the frozen encoder")
    states: dict[str, list[np.ndarray]] = {}
    for cid, p in prepared.items():
        if p is None:
            continue
        states[cid] = [_encode_unit(norm_net, u, device) for u in p.units()]
    t_max = max((s.shape[1] for v in states.values() for s in v), default=0)
    out: dict[str, Encoded | None] = {cid: None for cid in prepared}
    for cid, v in states.items():
        out[cid] = Encoded(tuple(_pack(s, t_max) for s in v))
    return out


def _encode_unit(net: HfProbe, u: np.ndarray, device: str | torch.device) -> np.ndarray:
    """One unit -> (S*H, T) float32: state-major rows, tokens along the columns."""
    x = torch.as_tensor(np.asarray(u), dtype=torch.float32, device=device)[None]
    hs = net.hidden_states(x)[0]  # (S, T, H)
    return hs.permute(0, 2, 1).reshape(-1, hs.shape[1]).float().cpu().numpy()


def _pack(s: np.ndarray, t_max: int) -> np.ndarray:
    out = np.zeros((s.shape[0] + 1, t_max), dtype=np.float32)
    out[:-1, : s.shape[1]] = s
    out[-1, : s.shape[1]] = 1.0
    return out


def layer_weights(net: nn.Module) -> list[float]:
    """The learned weight of each hidden state (softmax), for reports."""
    head: Any = net.head
    return [round(float(w), 4) for w in head.layer_weights()]

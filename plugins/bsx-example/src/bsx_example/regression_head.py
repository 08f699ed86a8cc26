"""The common custom wav2vec2 regression head (arousal, dominance, valence) as a bsx model.

Many dimensional SER checkpoints (the audeering style, published as
`Wav2Vec2ForSpeechClassification` / `EmotionModel` with a hand-written head) are not a
transformers class: the encoder's hidden states are mean-pooled over time, then
dropout -> dense -> tanh -> dropout -> out_proj gives one value per dimension. Their
config.json names a wav2vec2 encoder and id2label the outputs; the weights hold
`wav2vec2.*`, `classifier.dense.*` and `classifier.out_proj.*`. transformers'
AutoModelForAudioClassification would build another head and bsx refuses such a directory
("lacks ... weights"), so this example loads it itself, offline, and hands bsx a
`bsx.Model(task="regression")`:

    from bsx_example.regression_head import load_speech_regressor
    model = load_speech_regressor("path/to/dir")          # config.json + model.safetensors
    bsx.explain(model, "clip.wav", method="saliency", target="arousal")
    bsx.evaluate(model, dataset="synth", dataset_options={"variant": "arousal"}, ...)

`save_speech_regressor` writes the same layout (used by the tests on a tiny config).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from bsx.errors import BadCheckpoint

WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class RegressionHead(nn.Module):
    """dropout -> dense (hidden -> hidden) -> tanh -> dropout -> out_proj (hidden -> C)."""

    def __init__(self, hidden: int, n_out: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden, n_out)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.tanh(self.dense(self.dropout(x)))
        return self.out_proj(self.dropout(x))


class SpeechRegressor(nn.Module):
    """(B, N) raw 16 kHz waveform -> (B, C) dimension values: the feature extractor's
    zero-mean / unit-variance normalisation (inside forward, as the model contract asks),
    the wav2vec2 encoder, the mean of its hidden states over time, the head."""

    input_kind = "waveform"

    def __init__(self, config: Any, *, do_normalize: bool = True) -> None:
        from transformers import Wav2Vec2Model

        from bsx.models.hf import WaveformNorm

        super().__init__()
        self.wav2vec2 = Wav2Vec2Model(config)
        self.classifier = RegressionHead(config.hidden_size, config.num_labels,
                                         float(getattr(config, "final_dropout", 0.0)))
        self.norm = WaveformNorm(do_normalize)
        self.sample_rate = 16000
        self.token_stride = math.prod(int(s) for s in config.conv_stride)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.wav2vec2(self.norm(x))[0]
        return self.classifier(hidden.mean(dim=1))


def labels_of(config: Any, where: Path) -> list[str]:
    """Output names in output order from config.id2label (arousal, dominance, valence)."""
    id2label = {int(k): str(v).strip().lower() for k, v in (config.id2label or {}).items()}
    if sorted(id2label) != list(range(config.num_labels)):
        raise BadCheckpoint(f"{where}: id2label must name outputs 0..{config.num_labels - 1}")
    return [id2label[i] for i in range(config.num_labels)]


def read_weights(d: Path) -> dict[str, Tensor]:
    """The state dict: safetensors preferred, a .bin read with weights_only=True (never an
    arbitrary unpickle)."""
    for name in WEIGHTS:
        f = d / name
        if not f.is_file():
            continue
        if name.endswith(".safetensors"):
            from safetensors.torch import load_file

            return load_file(str(f))
        try:
            return torch.load(f, map_location="cpu", weights_only=True)  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 - any failure is one line naming the file
            raise BadCheckpoint(f"{f}: not a readable weights file ({exc})") from None
    raise BadCheckpoint(f"{d}: holds no weights ({' or '.join(WEIGHTS)})")


def load_speech_regressor(directory: str | Path, *, name: str | None = None) -> Any:
    """A local directory (config.json + weights) -> bsx.Model(task="regression"), offline.
    Every weight must be present and none left over: a partial head is refused, never run
    with random values."""
    import bsx
    from bsx.models.resolve import waveform_frontend

    d = Path(directory).expanduser()
    if not (d / "config.json").is_file():
        raise BadCheckpoint(f"{d}: no config.json (a wav2vec2 regression-head directory)")
    from transformers import Wav2Vec2Config

    config = Wav2Vec2Config.from_pretrained(d, local_files_only=True)
    pre = d / "preprocessor_config.json"
    do_norm = bool(json.loads(pre.read_text()).get("do_normalize", True)) if pre.is_file() \
        else True
    net = SpeechRegressor(config, do_normalize=do_norm)
    state = {k: v for k, v in read_weights(d).items() if "masked_spec_embed" not in k}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if "masked_spec_embed" not in k]
    if missing or unexpected:
        what = f"lacks '{sorted(missing)[0]}'" if missing else \
            f"holds '{sorted(unexpected)[0]}', which the head does not have"
        raise BadCheckpoint(f"{d}: its weights do not fit a wav2vec2 + mean-pool + "
                            f"dense/tanh/out_proj head ({what}; {len(missing)} missing, "
                            f"{len(unexpected)} unexpected)")
    return bsx.Model(net.eval(), labels=labels_of(config, d / "config.json"),
                     input_kind="waveform", task="regression", name=name or d.name,
                     frontend=waveform_frontend(16000, net.token_stride))


def save_speech_regressor(net: SpeechRegressor, directory: str | Path,
                          labels: tuple[str, ...] = ("arousal", "dominance", "valence")) -> Path:
    """Write config.json (wav2vec2, the head's id2label) and model.safetensors."""
    from safetensors.torch import save_file

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    config = net.wav2vec2.config
    config.id2label = dict(enumerate(labels))
    config.label2id = {v: k for k, v in config.id2label.items()}
    config.architectures = ["Wav2Vec2ForSpeechClassification"]
    config.save_pretrained(d)
    state = {k: v.contiguous() for k, v in net.state_dict().items()
             if not k.startswith("norm.")}
    save_file(state, str(d / "model.safetensors"))
    return d

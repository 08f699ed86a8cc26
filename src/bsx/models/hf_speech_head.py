"""The custom wav2vec2 head most dimensional SER checkpoints publish, built by core bsx.

audeering's dimensional models (e.g. wav2vec2-large-robust-12-ft-emotion-msp-dim: arousal,
dominance, valence) and the tutorials behind them save `Wav2Vec2ForSpeechClassification`
or `EmotionModel`. That is not a transformers class, so AutoModelForAudioClassification would
build another head with random weights. bsx rebuilds it when config.json's architectures
name it (bsx.models.hf_config.speech_head): the wav2vec2 encoder's last hidden states pooled
over time (config.pooling_mode: mean, the default, sum or max), then dropout -> dense ->
tanh -> dropout -> out_proj. The weights are `wav2vec2.*`, `classifier.dense.*` and
`classifier.out_proj.*`.

The weights are read by transformers' from_pretrained (offline, safetensors or
weights_only), so old weight-norm names and shard indexes load as for every other family.
A directory missing any head weight, or holding weights the head does not have, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from transformers import Wav2Vec2Model, Wav2Vec2PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from bsx.errors import BadCheckpoint

POOLING_MODES = ("mean", "sum", "max")


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


def pooling_mode(value: Any, where: Path | str = "config.json") -> str:
    """config.json's pooling_mode (mean when absent), or BadCheckpoint naming the file."""
    mode = str(value or "mean")
    if mode not in POOLING_MODES:
        raise BadCheckpoint(f"{where}: pooling_mode '{mode}' is not one of "
                            f"{', '.join(POOLING_MODES)}")
    return mode


class Wav2Vec2ForSpeechClassification(Wav2Vec2PreTrainedModel):  # type: ignore[misc]
    """input_values (B, N), already normalised -> logits (B, C): the encoder, its hidden
    states pooled over time, the head. The name is the one config.json's architectures hold,
    so save_pretrained writes the layout bsx reads back."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.pooling = pooling_mode(getattr(config, "pooling_mode", None))
        self.wav2vec2 = Wav2Vec2Model(config)
        self.classifier = RegressionHead(config.hidden_size, config.num_labels,
                                         float(getattr(config, "final_dropout", 0.0)))
        self.post_init()

    def forward(self, input_values: Tensor, **_: Any) -> SequenceClassifierOutput:
        hidden = self.wav2vec2(input_values)[0]
        if self.pooling == "mean":
            pooled = hidden.mean(dim=1)
        elif self.pooling == "sum":
            pooled = hidden.sum(dim=1)
        else:
            pooled = hidden.max(dim=1).values
        return SequenceClassifierOutput(logits=self.classifier(pooled))


def load_speech_head(d: Path, weights: str, pre: Mapping[str, Any],
                     cfg: Mapping[str, Any]) -> Any:
    """The directory's head as bsx's waveform net (bsx.models.hf.HfAudioClassifier, whose
    forward normalises as the feature extractor does): `weights` is the weights file's name,
    `pre` the preprocessor config (sampling_rate, do_normalize), `cfg` config.json."""
    from bsx.models.hf import HfAudioClassifier, pretrained
    from bsx.models.hf_config import speech_head

    architecture = speech_head(dict(cfg)) or "custom"
    pooling_mode(cfg.get("pooling_mode"), d / "config.json")
    model, missing, unexpected = pretrained(Wav2Vec2ForSpeechClassification, d, weights)
    if missing:
        raise BadCheckpoint(
            f"{d / weights}: lacks '{sorted(missing)[0]}' ({len(missing)} weight(s) missing) "
            f"of the {architecture} head config.json names (wav2vec2 encoder, pooled states, "
            "dense, tanh, out_proj); it is refused rather than run with random weights")
    if unexpected:
        raise BadCheckpoint(
            f"{d / weights}: holds '{sorted(unexpected)[0]}' ({len(unexpected)} weight(s)) "
            f"that the {architecture} head config.json names does not have (wav2vec2 "
            "encoder, pooled states, dense, tanh, out_proj); it is another model")
    return HfAudioClassifier(model, sample_rate=int(pre.get("sampling_rate", 16000)),
                             do_normalize=bool(pre.get("do_normalize", True)))


def new_speech_head(config: Any, *, sample_rate: int = 16000, seed: int = 0) -> Any:
    """A freshly initialised head for `config` (seeded), wrapped as load_speech_head wraps
    it: bsx.models.hf.save_hf writes it as the layout's directory."""
    from bsx.models.hf import HfAudioClassifier

    torch.manual_seed(seed)
    return HfAudioClassifier(Wav2Vec2ForSpeechClassification(config), sample_rate=sample_rate,
                             do_normalize=True).eval()

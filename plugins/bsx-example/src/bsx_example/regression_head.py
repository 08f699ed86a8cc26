"""The common custom wav2vec2 regression head (arousal, dominance, valence) as a bsx model.

Core bsx now loads this layout itself (bsx.models.hf_speech_head): a directory whose
config.json names `Wav2Vec2ForSpeechClassification` or `EmotionModel` works with
`--checkpoint DIR` and `bsx.explain("DIR", ...)`. This module stays as the example of
handing bsx an in-memory `bsx.Model(task="regression")`, and reads a directory without a
preprocessor_config.json (the feature extractor's defaults: 16 kHz, normalised):

    from bsx_example.regression_head import load_speech_regressor
    model = load_speech_regressor("path/to/dir")          # config.json + model.safetensors
    bsx.explain(model, "clip.wav", method="saliency", target="arousal")

`save_speech_regressor` writes the same layout (used by the tests on a tiny config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bsx.errors import BadCheckpoint
from bsx.models.hf_speech_head import RegressionHead
from bsx.models.hf_speech_head import Wav2Vec2ForSpeechClassification as SpeechRegressor

__all__ = ["RegressionHead", "SpeechRegressor", "load_speech_regressor",
           "save_speech_regressor"]


def load_speech_regressor(directory: str | Path, *, name: str | None = None) -> Any:
    """A local directory (config.json + weights) -> bsx.Model(task="regression"), offline,
    through core's loader: a partial head is refused, never run with random values."""
    import bsx
    from bsx.models.hf import check_weights, weights_file
    from bsx.models.hf_config import dimension_labels, read_config
    from bsx.models.hf_speech_head import load_speech_head
    from bsx.models.resolve import waveform_frontend

    d = Path(directory).expanduser()
    if not (d / "config.json").is_file():
        raise BadCheckpoint(f"{d}: no config.json (a wav2vec2 regression-head directory)")
    cfg = read_config(d)
    pre_file = d / "preprocessor_config.json"
    pre = json.loads(pre_file.read_text()) if pre_file.is_file() else {}
    weights = weights_file(d)
    check_weights(d, weights)
    net = load_speech_head(d, weights, pre, cfg)
    return bsx.Model(net.eval(), labels=dimension_labels(cfg.get("id2label") or {},
                                                         str(d / "config.json")),
                     input_kind="waveform", task="regression", name=name or d.name,
                     frontend=waveform_frontend(net.sample_rate, net.token_stride))


def save_speech_regressor(net: SpeechRegressor, directory: str | Path,
                          labels: tuple[str, ...] = ("arousal", "dominance", "valence")) -> Path:
    """Write config.json (the head's id2label, problem_type regression), model.safetensors
    and preprocessor_config.json."""
    from bsx.models.hf import HfAudioClassifier, save_hf

    config = net.config
    config.id2label = dict(enumerate(labels))
    config.label2id = {v: k for k, v in config.id2label.items()}
    config.problem_type = "regression"
    return save_hf(HfAudioClassifier(net, sample_rate=16000, do_normalize=True), directory)

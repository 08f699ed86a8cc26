"""Built-in SER models, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy


@hookimpl
def register_models(register):  # type: ignore[no-untyped-def]
    from bsx.models.options import (
        CnnOptions,
        CrnnOptions,
        HeadOptions,
        HfOptions,
        ProbeOptions,
        ResNetSmallOptions,
    )

    register(Spec(
        name="resnet-small", kind="model",
        description="The paper's ResNetSmall (2 residual blocks); loads the paper's checkpoints",
        factory=lazy("bsx.models.resnet_small:ResNetSmall"), options=ResNetSmallOptions,
    ))
    register(Spec(
        name="crnn", kind="model",
        description="Small CRNN: 3 conv blocks then a bidirectional GRU over time",
        factory=lazy("bsx.models.crnn:Crnn"), options=CrnnOptions,
    ))
    register(Spec(
        name="cnn", kind="model",
        description="Log-mel CNN: 4 conv blocks, global average pool (LRP/CRP conserve); "
                    "the --cv default",
        factory=lazy("bsx.models.cnn:LogMelCnn"), options=CnnOptions,
    ))
    register(Spec(
        name="hf", kind="model",
        description="HuggingFace wav2vec2 / HuBERT / WavLM audio classifier from a "
                    "save_pretrained directory (waveform input, offline)",
        factory=lazy("bsx.models.hf:hf_model"), options=HfOptions,
    ))
    register(Spec(
        name="hf-probe", kind="model",
        description="A frozen wav2vec2 / HuBERT / WavLM / Data2VecAudio / UniSpeechSat encoder "
                    "(--checkpoint DIR) with a trained layer weighting, pooling and MLP",
        factory=lazy("bsx.models.probe:hf_probe"), options=ProbeOptions,
    ))
    register(Spec(
        name="hf-probe-head", kind="model",
        description="hf-probe's trained part on cached hidden states (what bsx train fits)",
        factory=lazy("bsx.models.probe:head_net"), options=HeadOptions,
    ))

"""Built-in SER models, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy


@hookimpl
def register_models(register):  # type: ignore[no-untyped-def]
    from bsx.models.options import CnnOptions, CrnnOptions, HfOptions, ResNetSmallOptions

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

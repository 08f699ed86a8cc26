"""Built-in datasets, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy


@hookimpl
def register_datasets(register):  # type: ignore[no-untyped-def]
    from bsx.datasets.synth_options import SynthOptions

    register(Spec(
        name="synth", kind="dataset",
        description="Synthetic emotional speech (espeak-ng) with planted cues at known spans",
        factory=lazy("bsx.datasets.synth:Synth"), options=SynthOptions,
    ))

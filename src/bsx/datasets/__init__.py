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

    from bsx.datasets.options import CorpusOptions

    corpora = (
        ("tess", "Tess", "TESS (Toronto): 2 female speakers, 7 emotions, OAF_/YAF_ file names"),
        ("crema-d", "CremaD", "CREMA-D: 91 actors, 6 emotions, 1001_DFA_ANG_XX file names"),
        ("ravdess", "Ravdess", "RAVDESS speech: 24 actors, 8 emotions incl. calm (song left out)"),
        ("savee", "Savee", "SAVEE: 4 male speakers, 7 emotions, DC/a01 file names"),
        ("emodb", "EmoDb", "Berlin EmoDB: 10 speakers, 7 emotions incl. boredom"),
    )
    for name, cls, description in corpora:
        register(Spec(
            name=name, kind="dataset", description=description,
            factory=lazy(f"bsx.datasets.corpora:{cls}"), options=CorpusOptions,
        ))

"""Built-in cue extractors, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl
from bsx.plugins import Spec, lazy


@hookimpl
def register_cues(register):  # type: ignore[no-untyped-def]
    from bsx.cues.options import EgemapsOptions, LibrosaOptions, PraatOptions

    register(Spec(
        name="egemaps", kind="cue",
        description="openSMILE eGeMAPSv02 LLDs: the paper's six cues (or all 25) per 10 ms",
        factory=lazy("bsx.cues.egemaps:Egemaps"), options=EgemapsOptions,
    ))
    register(Spec(
        name="praat", kind="cue",
        description="Praat via parselmouth: F0, intensity, jitter, shimmer, HNR per 10 ms",
        factory=lazy("bsx.cues.praat:Praat"), options=PraatOptions,
    ))
    register(Spec(
        name="librosa", kind="cue",
        description="librosa: RMS loudness, pyin F0, spectral centroid/slope, ZCR per 10 ms",
        factory=lazy("bsx.cues.librosa_cues:LibrosaCues"), options=LibrosaOptions,
    ))

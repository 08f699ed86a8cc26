"""The one table of cue units: what each extractor's number means, in which unit, and which
eGeMAPS / Praat / librosa feature it is. Figures, `bsx cues` and report.html read it here,
because Praat's intensity (dB) and eGeMAPS' loudness (sone-like) share the name "Loudness"
and are not the same quantity.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CueUnit:
    """unit: short unit for tables and axes ("dB", "st re 27.5 Hz"); feature: the tool's own
    name of the measure, so a reader can look it up; reading: how to read the number when
    the cue's name points the other way (Breathiness holds HNR: higher is LESS breathy)."""

    unit: str
    feature: str
    quantity: str = ""
    reading: str = ""

    def axis(self, cue: str) -> str:
        """An axis label: 'Loudness (dB)'; 'Loudness (a.u.)' when the unit is arbitrary; the
        reading on a second line where there is one."""
        label = f"{cue} ({self.unit})" if self.unit else cue
        return f"{label}\n{self.reading}" if self.reading else label


# The paper's "Breathiness" is the harmonics-to-noise ratio itself: a breathy voice has MORE
# noise, so a LOWER value.
HNR_READING = "HNR: higher = less breathy"

UNITS: dict[tuple[str, str], CueUnit] = {
    # openSMILE eGeMAPSv02 LLDs (Eyben et al. 2016)
    ("egemaps", "Loudness"): CueUnit("a.u., sone-like", "Loudness_sma3",
                                     "loudness from an auditory spectrum (eGeMAPS)"),
    ("egemaps", "Pitch_lvl"): CueUnit("st re 27.5 Hz", "F0semitoneFrom27.5Hz_sma3nz",
                                      "F0 in semitones"),
    ("egemaps", "Pitch_var"): CueUnit("st", "std of F0semitoneFrom27.5Hz_sma3nz",
                                      "F0 spread within the region"),
    ("egemaps", "Freq_var"): CueUnit("ratio", "jitterLocal_sma3nz",
                                     "local jitter, share of the mean period"),
    ("egemaps", "Amp_var"): CueUnit("dB", "shimmerLocaldB_sma3nz", "local shimmer"),
    ("egemaps", "Breathiness"): CueUnit("dB", "HNRdBACF_sma3nz",
                                        "harmonics-to-noise ratio (HNR)", HNR_READING),
    ("egemaps", "Shrillness"): CueUnit("dB/Hz", "slope500-1500_sma3",
                                       "spectral slope 500-1500 Hz"),
    # Praat through parselmouth (Boersma & Weenink)
    ("praat", "Loudness"): CueUnit("dB", "Intensity (To Intensity)", "intensity"),
    ("praat", "Pitch_lvl"): CueUnit("st re 27.5 Hz", "Pitch (To Pitch), in semitones",
                                    "F0 in semitones"),
    ("praat", "Pitch_var"): CueUnit("st", "std of Pitch in semitones",
                                    "F0 spread within the region"),
    ("praat", "F0_Hz"): CueUnit("Hz", "Pitch (To Pitch)", "F0"),
    ("praat", "Freq_var"): CueUnit("ratio", "Get jitter (local)",
                                   "local jitter, share of the mean period"),
    ("praat", "Amp_var"): CueUnit("dB", "Get shimmer (local_dB)", "local shimmer"),
    ("praat", "Breathiness"): CueUnit("dB", "Harmonicity (cc)",
                                      "harmonics-to-noise ratio (HNR)", HNR_READING),
    # librosa
    ("librosa", "Loudness"): CueUnit("dBFS", "feature.rms, 20 log10", "RMS level"),
    ("librosa", "Pitch_lvl"): CueUnit("st re 27.5 Hz", "pyin, in semitones", "F0 in semitones"),
    ("librosa", "Pitch_var"): CueUnit("st", "std of pyin F0 in semitones",
                                      "F0 spread within the region"),
    ("librosa", "F0_Hz"): CueUnit("Hz", "pyin", "F0"),
    ("librosa", "Shrillness"): CueUnit("dB/Hz", "slope of the dB spectrum, 500-1500 Hz",
                                       "spectral slope 500-1500 Hz"),
    ("librosa", "Spectral_centroid"): CueUnit("Hz", "feature.spectral_centroid",
                                              "spectral centroid"),
    ("librosa", "Spectral_slope"): CueUnit("dB/Hz", "slope of the dB spectrum, 0-8000 Hz",
                                           "spectral slope"),
    ("librosa", "ZCR"): CueUnit("crossings/sample", "feature.zero_crossing_rate",
                                "zero-crossing rate"),
}

# eGeMAPSv02 LLD column prefixes -> unit, for EgemapsOptions(all_llds=True)
_EGEMAPS_LLD: tuple[tuple[str, str], ...] = (
    ("Loudness", "a.u., sone-like"), ("alphaRatio", "dB"), ("hammarbergIndex", "dB"),
    ("slope", "dB/Hz"), ("spectralFlux", "a.u."), ("mfcc", "a.u."),
    ("F0semitone", "st re 27.5 Hz"), ("jitterLocal", "ratio"), ("shimmerLocaldB", "dB"),
    ("HNRdBACF", "dB"), ("logRelF0", "dB"), ("F1frequency", "Hz"), ("F2frequency", "Hz"),
    ("F3frequency", "Hz"), ("F1bandwidth", "Hz"), ("F2bandwidth", "Hz"),
    ("F3bandwidth", "Hz"), ("F1amplitude", "dB"), ("F2amplitude", "dB"), ("F3amplitude", "dB"),
)

UNKNOWN = CueUnit("", "")


def cue_unit(extractor: str, cue: str) -> CueUnit:
    """The unit of one extractor's cue; eGeMAPS LLD columns by prefix; UNKNOWN (no unit) for
    a plugin's cue the table does not know."""
    hit = UNITS.get((extractor, cue))
    if hit is not None:
        return hit
    if extractor == "egemaps":
        for prefix, unit in _EGEMAPS_LLD:
            if cue.startswith(prefix):
                return CueUnit(unit, cue)
    return UNKNOWN

"""Dataset plugins for the real SER corpora, read as the user downloaded them.

Each corpus encodes speaker, emotion (and sentence, intensity) in its file names; a plugin
walks `data_root` at any depth, parses every audio file's name with the corpus's convention
and maps the corpus's emotion code onto the shared vocabulary (bsx.datasets.base.EMOTIONS).

Bad input: a missing or empty root, or a root where no file follows the convention, is a
BadDataset naming the folder or file. A wrongly named file among good ones is skipped and
listed in `skipped` (path, reason), so one stray file does not stop a run; files of the
corpus that the dataset leaves out on purpose (RAVDESS song) go to `ignored`.

Conventions (from each corpus's documentation):
- TESS (Dupuis & Pichora-Fuller 2010): <OAF|YAF>_<word>_<emotion>.wav in folders such as
  OAF_angry/; emotions angry, disgust, fear, happy, neutral, sad, ps (pleasant surprise).
  Two female speakers (OAF aged 64, YAF aged 26). Some OAF files are named OA_<word>_...
- CREMA-D (Cao et al. 2014): <actor 1001-1091>_<sentence>_<ANG|DIS|FEA|HAP|NEU|SAD>_<LO|MD|HI|XX>
  .wav; actor sex from VideoDemographics.csv when it lies under the root, else left out.
- RAVDESS (Livingstone & Russo 2018): Actor_NN/MM-VV-EE-II-SS-RR-AA.wav, modality-vocal
  channel-emotion-intensity-statement-repetition-actor; only vocal channel 01 (speech) is
  kept (song files are ignored, not errors); odd actors are male.
- SAVEE (Haq & Jackson 2009): <DC|JE|JK|KL>/<code><NN>.wav or <speaker>_<code><NN>.wav with
  codes a d f h n sa su; four male speakers.
- EmoDB (Burkhardt et al. 2005): <speaker 2 digits><text 3 chars><emotion letter><version>.wav,
  letters W L E A F T N = angry, boredom, disgust, fear, happy, sad, neutral. All seven are
  kept, boredom included, so a 7-class model compares with the published EmoDB figures
  (`--emotions` selects the six shared with other corpora).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any, ClassVar

from bsx.datasets.base import Clip
from bsx.datasets.options import CorpusOptions
from bsx.errors import BadDataset, did_you_mean

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3"})


class _Ignore(Exception):
    """A file that belongs to the corpus but not to this dataset (RAVDESS song)."""


class _BadName(Exception):
    """A file name that breaks the corpus's convention."""


class Corpus:
    """Shared walking, checking and selection; subclasses parse one file name."""

    name: ClassVar[str]
    labels: ClassVar[tuple[str, ...]]
    example: ClassVar[str]  # a correctly named file, quoted in error messages

    def __init__(self, options: CorpusOptions) -> None:
        self.options = options
        self.root = Path(options.data_root).expanduser()
        self.emotions = self._select(options.emotions)
        self.skipped: list[tuple[Path, str]] = []
        self.ignored: list[tuple[Path, str]] = []

    def _select(self, emotions: list[str] | None) -> tuple[str, ...]:
        if not emotions:
            return self.labels
        unknown = [e for e in emotions if e not in self.labels]
        if unknown:
            hint = did_you_mean(unknown[0], self.labels)
            raise BadDataset(
                f"dataset {self.name} has no emotion '{unknown[0]}'{hint}; "
                f"available: {', '.join(self.labels)}"
            )
        return tuple(e for e in self.labels if e in emotions)

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        """A file -> (label, speaker, meta, key); raise _BadName or _Ignore."""
        raise NotImplementedError

    def _files(self) -> list[Path]:
        root = self.root
        if not root.exists():
            raise BadDataset(f"{root}: no such folder (data root of dataset {self.name})")
        if not root.is_dir():
            raise BadDataset(f"{root}: not a folder (data root of dataset {self.name})")
        files = sorted(
            (p for p in root.rglob("*")
             if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
             and not p.name.startswith(".")),
            key=lambda p: p.relative_to(root).as_posix(),
        )
        if not files:
            raise BadDataset(
                f"{root}: no audio files found for dataset {self.name} "
                f"(expected names like {self.example})"
            )
        return files

    def clips(self) -> list[Clip]:
        """All clips with a selected emotion, sorted by path under the root."""
        self.skipped, self.ignored = [], []
        out: list[Clip] = []
        files = self._files()
        for path in files:
            try:
                label, speaker, meta, key = self.parse(path)
            except _Ignore as why:
                self.ignored.append((path, str(why)))
                continue
            except _BadName as why:
                self.skipped.append((path, f"{path}: {why}; expected names like {self.example}"))
                continue
            if label in self.emotions:
                out.append(Clip(path=path, label=label, speaker=speaker, corpus=self.name,
                                meta=meta, key=key))
        if not out:
            if self.skipped and len(self.skipped) + len(self.ignored) == len(files):
                first = self.skipped[0][1]
                more = len(self.skipped) - 1
                raise BadDataset(
                    f"no file under {self.root} follows the {self.name} naming convention: "
                    f"{first}" + (f" (and {more} more)" if more else "")
                )
            raise BadDataset(
                f"{self.root}: no {self.name} clips with emotion(s) {', '.join(self.emotions)}"
            )
        return out


def _stem(path: Path) -> str:
    return path.name[: -len(path.suffix)] if path.suffix else path.name


class Tess(Corpus):
    """Toronto emotional speech set: 2 female speakers x 200 words x 7 emotions."""

    name = "tess"
    labels = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    example = "OAF_angry/OAF_back_angry.wav"
    CODES: ClassVar[dict[str, str]] = {
        "angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
        "neutral": "neutral", "sad": "sad", "ps": "surprise",
    }
    _re = re.compile(r"^(OAF|YAF|OA|YA)_([A-Za-z]+)_([A-Za-z]+)$", re.IGNORECASE)

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        m = self._re.match(_stem(path))
        if not m:
            raise _BadName("not <OAF|YAF>_<word>_<emotion>")
        spk, word, code = m.group(1).upper(), m.group(2).lower(), m.group(3).lower()
        if code not in self.CODES:
            raise _BadName(f"unknown TESS emotion code '{code}'")
        speaker = spk if len(spk) == 3 else spk + "F"
        meta = {"sex": "F", "age": 64 if speaker == "OAF" else 26, "sentence": word}
        return self.CODES[code], speaker, meta, ""


def _demographics(root: Path) -> dict[str, str]:
    """CREMA-D actor id -> "M"/"F" from VideoDemographics.csv anywhere under the root."""
    for p in sorted(root.rglob("VideoDemographics.csv")):
        out: dict[str, str] = {}
        try:
            with p.open(newline="", encoding="utf-8-sig") as fh:
                for row in csv.DictReader(fh):
                    actor, sex = (row.get("ActorID") or "").strip(), (row.get("Sex") or "")
                    if actor and sex.strip():
                        out[actor] = "M" if sex.strip().lower().startswith("m") else "F"
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise BadDataset(f"{p}: unreadable CREMA-D demographics ({exc})") from None
        return out
    return {}


class CremaD(Corpus):
    """CREMA-D: 91 actors x 12 sentences x 6 emotions (with intensity on one sentence)."""

    name = "crema-d"
    labels = ("angry", "disgust", "fear", "happy", "neutral", "sad")
    example = "AudioWAV/1001_DFA_ANG_XX.wav"
    CODES: ClassVar[dict[str, str]] = {
        "ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
        "SAD": "sad",
    }
    SENTENCES: ClassVar[frozenset[str]] = frozenset(
        {"IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI"}
    )
    INTENSITY: ClassVar[dict[str, str]] = {
        "LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified",
    }
    _re = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")

    def clips(self) -> list[Clip]:
        self._sex = _demographics(self.root) if self.root.is_dir() else {}
        return super().clips()

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        m = self._re.match(_stem(path))
        if not m:
            raise _BadName("not <actor>_<sentence>_<emotion>_<intensity>")
        actor, sentence, code, level = m.groups()
        if code not in self.CODES:
            raise _BadName(f"unknown CREMA-D emotion code '{code}'")
        if sentence not in self.SENTENCES:
            raise _BadName(f"unknown CREMA-D sentence code '{sentence}'")
        if level not in self.INTENSITY:
            raise _BadName(f"unknown CREMA-D intensity code '{level}'")
        meta: dict[str, Any] = {"sentence": sentence, "intensity": self.INTENSITY[level]}
        if actor in self._sex:
            meta["sex"] = self._sex[actor]
        return self.CODES[code], actor, meta, ""


class Ravdess(Corpus):
    """RAVDESS speech: 24 actors (odd male) x 2 statements x 8 emotions x 2 intensities."""

    name = "ravdess"
    labels = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm")
    example = "Actor_01/03-01-05-01-02-01-01.wav"
    CODES: ClassVar[dict[str, str]] = {
        "01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
        "06": "fear", "07": "disgust", "08": "surprise",
    }
    STATEMENTS: ClassVar[dict[str, str]] = {
        "01": "Kids are talking by the door", "02": "Dogs are sitting by the door",
    }
    _re = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        m = self._re.match(_stem(path))
        if not m:
            raise _BadName("not modality-channel-emotion-intensity-statement-repetition-actor")
        modality, channel, code, level, statement, rep, actor = m.groups()
        if modality not in ("01", "02", "03"):
            raise _BadName(f"unknown RAVDESS modality '{modality}'")
        if channel == "02":
            raise _Ignore("song (vocal channel 02)")
        if channel != "01":
            raise _BadName(f"unknown RAVDESS vocal channel '{channel}'")
        if code not in self.CODES:
            raise _BadName(f"unknown RAVDESS emotion code '{code}'")
        if level not in ("01", "02") or statement not in self.STATEMENTS or rep not in ("01",
                                                                                          "02"):
            raise _BadName("intensity, statement and repetition must be 01 or 02")
        n = int(actor)
        if not 1 <= n <= 24:
            raise _BadName(f"RAVDESS actor '{actor}' is not 01-24")
        meta = {
            "sex": "M" if n % 2 else "F",
            "intensity": "normal" if level == "01" else "strong",
            "sentence": self.STATEMENTS[statement],
            "repetition": int(rep),
        }
        return self.CODES[code], f"{n:02d}", meta, ""


class Savee(Corpus):
    """SAVEE: 4 male speakers x 7 emotions (15 sentences each, 30 neutral)."""

    name = "savee"
    labels = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    example = "AudioData/DC/a01.wav or DC_a01.wav"
    CODES: ClassVar[dict[str, str]] = {
        "a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad",
        "su": "surprise",
    }
    SPEAKERS: ClassVar[frozenset[str]] = frozenset({"DC", "JE", "JK", "KL"})
    _re = re.compile(r"^(?:([A-Za-z]{2})_)?(sa|su|a|d|f|h|n)(\d{2})$")

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        m = self._re.match(_stem(path))
        if not m:
            raise _BadName("not <code><NN> (codes a d f h n sa su)")
        spk = (m.group(1) or path.parent.name).upper()
        if spk not in self.SPEAKERS:
            raise _BadName(f"speaker '{spk}' is not one of {', '.join(sorted(self.SPEAKERS))}")
        code, num = m.group(2), m.group(3)
        meta = {"sex": "M", "sentence": f"{code}{num}"}
        return self.CODES[code], spk, meta, f"{spk}_{code}{num}{path.suffix.lower()}"


class EmoDb(Corpus):
    """Berlin EmoDB: 10 actors x 10 texts x 7 emotions, boredom included (535 utterances)."""

    name = "emodb"
    labels = ("angry", "boredom", "disgust", "fear", "happy", "neutral", "sad")
    example = "wav/03a01Fa.wav"
    CODES: ClassVar[dict[str, str]] = {
        "W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad",
        "N": "neutral",
    }
    # Speaker sex and age from the EmoDB documentation.
    SPEAKERS: ClassVar[dict[str, tuple[str, int]]] = {
        "03": ("M", 31), "08": ("F", 34), "09": ("F", 21), "10": ("M", 32), "11": ("M", 26),
        "12": ("M", 30), "13": ("F", 32), "14": ("F", 35), "15": ("M", 25), "16": ("F", 31),
    }
    TEXTS: ClassVar[frozenset[str]] = frozenset(
        {"a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"}
    )
    _re = re.compile(r"^(\d{2})([ab]\d{2})([A-Z])([a-z])$")

    def parse(self, path: Path) -> tuple[str, str, dict[str, Any], str]:
        m = self._re.match(_stem(path))
        if not m:
            raise _BadName("not <speaker 2 digits><text a01-b10><emotion letter><version>")
        spk, text, code, version = m.groups()
        if code not in self.CODES:
            raise _BadName(f"unknown EmoDB emotion letter '{code}'")
        if spk not in self.SPEAKERS:
            raise _BadName(f"unknown EmoDB speaker '{spk}'")
        if text not in self.TEXTS:
            raise _BadName(f"unknown EmoDB text code '{text}'")
        sex, age = self.SPEAKERS[spk]
        return self.CODES[code], spk, {"sex": sex, "age": age, "sentence": text,
                                       "version": version}, ""

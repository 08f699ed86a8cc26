"""The expert reference: which way each acoustic cue moves for each emotion, with its source.

The table ships as package data (bsx/data/expert_cues.csv, one row per emotion x theory cue,
from Juslin & Laukka 2003, Scherer 2003, Banse & Scherer 1996, Murray & Arnott 1993;
boredom from Banse & Scherer 1996 and Scherer 2003; calm, which none of these studies by
name, from Juslin & Laukka's tenderness, the low-arousal positive state, with Scherer's
low-arousal pattern: every class of the built-in corpora but neutral has a row); users
pass their own CSV with the same columns (emotion, theory_cue, direction, source[, note]).
Directions compare an emotion with the same speaker's neutral speech. Only up / down / equal
are evidence; weak-up, weak-down, unknown and mixed cells never count either way.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from bsx.errors import BsxError

DIRECTIONS: dict[str, int] = {
    "up": 1, "down": -1, "equal": 0, "weak-up": 0, "weak-down": 0, "unknown": 0, "mixed": 0,
}
DEFINITE = frozenset({"up", "down", "equal"})

# theory column -> the cue names every extractor uses for it ("" none measured yet)
CUE_MAP: dict[str, tuple[str, ...]] = {
    "loudness": ("Loudness",),
    "f0_level": ("Pitch_lvl",),
    "f0_variability": ("Pitch_var",),
    "speech_rate": (),
    "jitter_shimmer": ("Freq_var", "Amp_var"),
    "hnr": ("Breathiness",),          # the paper's "Breathiness" holds HNR (dB) itself
    "hf_energy": ("Shrillness",),     # slope 500-1500 Hz: flatter (higher) = more HF energy
}

ALIASES: dict[str, str] = {
    "anger": "angry", "happiness": "happy", "joy": "happy", "sadness": "sad",
    "fearful": "fear", "surprised": "surprise", "disgusted": "disgust", "bored": "boredom",
}
REFERENCE = frozenset({"neutral"})
COLUMNS = ("emotion", "theory_cue", "direction", "source")


class BadExpertTable(BsxError):
    """An expert-cue table file that is missing or malformed."""


@dataclass(frozen=True)
class Expectation:
    """What theory expects of one extractor cue for one emotion."""

    cue: str
    theory_cue: str
    direction: str
    expected: int        # +1 up, -1 down, 0 equal or no evidence
    definite: bool       # up / down / equal: counts as evidence
    source: str


@dataclass(frozen=True)
class ExpertTable:
    """cells[(emotion, theory_cue)] = (direction, source, note)."""

    cells: dict[tuple[str, str], tuple[str, str, str]]
    path: str = ""

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for e, _ in self.cells))

    def expectations(self, emotion: str) -> list[Expectation]:
        """One Expectation per extractor cue for `emotion`; [] for neutral or unlisted ones."""
        emo = canonical_emotion(emotion)
        out: list[Expectation] = []
        for (e, theory), (direction, source, _) in self.cells.items():
            if e != emo:
                continue
            for cue in CUE_MAP.get(theory, ()):
                out.append(Expectation(cue, theory, direction, DIRECTIONS[direction],
                                       direction in DEFINITE, source))
        return out

    def expected(self, emotion: str, cue: str) -> Expectation | None:
        return next((x for x in self.expectations(emotion) if x.cue == cue), None)


def canonical_emotion(name: str) -> str:
    key = name.strip().lower()
    return ALIASES.get(key, key)


def load_expert(path: str | Path | None = None) -> ExpertTable:
    """The packaged table, or the user's CSV at `path` (BadExpertTable if malformed)."""
    return _load(path, "expert_cues.csv", "emotion", "expert-cue table")


def load_dimensions(path: str | Path | None = None) -> ExpertTable:
    """The packaged dimensional table (bsx/data/expert_dimensions.csv: which way each cue
    moves as arousal, valence or dominance rises, with its source), or the user's CSV with
    the columns dimension, theory_cue, direction, source[, note]. Keyed by dimension, so
    ExpertTable.expectations("arousal") works as it does for an emotion."""
    return _load(path, "expert_dimensions.csv", "dimension", "dimensional expert table")


def _load(path: str | Path | None, packaged: str, key: str, what: str) -> ExpertTable:
    """Parse an expert table whose rows are keyed by `key` (emotion or dimension)."""
    columns = (key, *COLUMNS[1:])
    if path is None:
        text = files("bsx").joinpath("data", packaged).read_text(encoding="utf-8")
        where = f"bsx/data/{packaged}"
    else:
        p = Path(path)
        if not p.is_file():
            from bsx.errors import not_a_file

            raise BadExpertTable(not_a_file(p, f"{what} (CSV)"))
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadExpertTable(f"{p}: cannot read the {what} ({exc})") from None
        where = str(p)
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise BadExpertTable(
            f"{where}: {what} lacks column(s) {', '.join(missing)}; "
            f"expected {', '.join(columns)}[, note]"
        )
    cells: dict[tuple[str, str], tuple[str, str, str]] = {}
    for i, row in enumerate(reader, start=2):
        emo = canonical_emotion(row[key] or "")
        theory = (row["theory_cue"] or "").strip().lower()
        direction = (row["direction"] or "").strip().lower()
        if theory not in CUE_MAP:
            raise BadExpertTable(
                f"{where}: line {i}: unknown theory_cue '{theory}'; "
                f"accepted: {', '.join(CUE_MAP)}"
            )
        if direction not in DIRECTIONS:
            raise BadExpertTable(
                f"{where}: line {i}: unknown direction '{direction}'; "
                f"accepted: {', '.join(DIRECTIONS)}"
            )
        if not emo or emo in REFERENCE:
            continue
        cells[(emo, theory)] = (direction, (row["source"] or "").strip(),
                                (row.get("note") or "").strip())
    if not cells:
        raise BadExpertTable(f"{where}: {what} holds no rows")
    return ExpertTable(cells=cells, path=where)

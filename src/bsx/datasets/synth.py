"""The "synth" dataset: synthetic emotional speech with planted cues at known spans.

Generated on first use (bsx.synth.recipe, seconds for the default size) into `data_root`
or a cache folder keyed by the options and the generator version, then read back from its
metadata table. Each Clip's meta carries the ground truth an explanation is scored against:
"spans" ([[start_s, end_s]] on the file's own timeline: the fixed slot that holds the
emotional word, the only place the class is visible to a model using the paper front-end),
"word_span", "planted" (cue -> planted size relative to the speaker's neutral word), plus
"text", "word", "voice", "seed" and "word_kept" (share of the word the paper's trim keeps);
the arousal variant's clips also "arousal" (the planted value in [-1, 1]).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from bsx.datasets.base import Clip
from bsx.datasets.synth_options import AROUSAL_LABELS, SYNTH_EMOTIONS, SynthOptions
from bsx.errors import BadDataset, did_you_mean

_GENERATION_FIELDS = ("per_class", "seed", "emotions", "speakers")


def _settings(options: SynthOptions, emotions: tuple[str, ...]) -> dict[str, Any]:
    from bsx.synth.recipe import settings

    return settings(options.per_class, options.seed, emotions, options.speakers,
                    options.variant)


def cache_key(settings: dict[str, Any]) -> str:
    """A short hash of what determines the audio (generator version included)."""
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class Synth:
    """The embedded default corpus: 5 emotions x per_class clips, 16 espeak speakers."""

    name = "synth"

    def __init__(self, options: SynthOptions | None = None) -> None:
        self.options = options if options is not None else SynthOptions()
        self.labels: tuple[str, ...] = self._select(
            self.options.emotions,
            AROUSAL_LABELS if self.options.variant == "arousal" else SYNTH_EMOTIONS)

    @staticmethod
    def _select(emotions: list[str] | None, known: tuple[str, ...]) -> tuple[str, ...]:
        if not emotions:
            return known
        for e in emotions:
            if e not in known:
                hint = did_you_mean(e, known)
                raise BadDataset(
                    f"dataset synth has no emotion '{e}'{hint}; available: "
                    f"{', '.join(known)}"
                )
        return tuple(e for e in known if e in emotions)

    @property
    def root(self) -> Path:
        """The corpus folder (not necessarily generated yet)."""
        if self.options.data_root is not None:
            return Path(self.options.data_root).expanduser()
        from bsx.paths import cache_dir

        return cache_dir("synth") / cache_key(_settings(self.options, self.labels))

    def ensure(self) -> Path:
        """Generate the corpus unless its folder already holds one; returns the folder."""
        from bsx.synth.recipe import CORPUS_JSON, METADATA, generate

        root = self.root
        if (root / METADATA).is_file():
            self._check_stored(root / CORPUS_JSON)
            return root
        if root.exists() and any(root.iterdir()):
            raise BadDataset(
                f"{root}: is not empty and holds no synth corpus ({METADATA} missing); give "
                "an empty or new folder"
            )
        from bsx import progress

        total = self.options.per_class * len(self.labels)
        generate(root, per_class=self.options.per_class, seed=self.options.seed,
                 emotions=self.labels, n_speakers=self.options.speakers,
                 workers=self.options.workers, variant=self.options.variant,
                 progress=progress.task("generating the synth corpus (once, then read back)",
                                        total))
        return root

    def _check_stored(self, path: Path) -> None:
        """A stored corpus must match every generation option the user set explicitly."""
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BadDataset(f"{path}: not a synth corpus description ({exc})") from None
        wanted = _settings(self.options, self.labels)
        variant = stored.get("variant", "emotions")
        if variant != self.options.variant:
            if "variant" in self.options.model_fields_set:
                raise BadDataset(
                    f"{path.parent}: holds the synth variant {variant}, not "
                    f"{self.options.variant}; choose another folder or drop the option")
            # a folder given by --data-root alone: read it as the variant it holds
            self.options = self.options.model_copy(update={"variant": variant})
            self.labels = self._select(self.options.emotions, AROUSAL_LABELS
                                       if variant == "arousal" else SYNTH_EMOTIONS)
        for key in _GENERATION_FIELDS:
            if key in self.options.model_fields_set and key != "emotions" \
                    and stored.get(key) != wanted[key]:
                raise BadDataset(
                    f"{path.parent}: holds a synth corpus made with {key}={stored.get(key)}, "
                    f"not {wanted[key]}; choose another folder or drop the option"
                )

    def clips(self) -> list[Clip]:
        """All clips of the selected emotions, in generation order."""
        from bsx.synth.recipe import CUE_NAMES, METADATA

        root = self.ensure()
        out: list[Clip] = []
        with open(root / METADATA, newline="") as fh:
            for row in csv.DictReader(fh):
                if row["label"] not in self.labels:
                    continue
                planted = {k: float(row[f"planted_{k}"]) for k in CUE_NAMES}
                out.append(Clip(
                    path=root / row["path"], label=row["label"], speaker=row["speaker"],
                    corpus=self.name,
                    meta={
                        "spans": [[float(row["span_start"]), float(row["span_end"])]],
                        "word_span": [float(row["word_start"]), float(row["word_end"])],
                        "word_kept": float(row["word_kept"]),
                        "planted": planted, "text": row["text"], "word": row["word"],
                        "voice": row["voice"], "seed": int(row["seed"]),
                        **({"arousal": float(row["arousal"])} if row.get("arousal") else {}),
                    },
                ))
        if not out:
            raise BadDataset(f"{root / METADATA}: holds no clips of {', '.join(self.labels)}")
        return out

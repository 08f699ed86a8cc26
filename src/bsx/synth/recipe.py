"""The recipe of the synth corpus: speakers, words, emotion profiles, clip layout, writing.

A clip is TESS-style, "Say the word <X>", laid out on a fixed grid so that the emotion is
visible ONLY inside one known span (the slot) in what the model receives:

    lead silence | carrier "Say the word" | gap | slot: silence, word, silence
    (0.05-0.15 s)  (same audio for every    (60 ms) (SLOT_S long, word centred, ends the file)
                    clip of a speaker)

- The carrier is one espeak utterance per speaker, reused for every clip of that speaker at a
  fixed level (CARRIER_RMS_DBFS), so nothing outside the slot depends on the class.
- The word is spoken separately; its emotion's cues (rate through espeak; F0 level and range,
  jitter, shimmer, breathiness, spectral tilt through bsx.synth.voice_quality; loudness by
  gain relative to the carrier) are planted in it alone. A class changes the word's length,
  never the slot's, so nothing after the word moves.
- The paper front-end normalises each clip to its maximum (power_to_db, ref=max): every clip
  is checked through bsx.audio.prepare_waveform, and when a frame that sees the slot would
  hold the maximum, the word is attenuated until the carrier keeps it (the recorded
  loudness_db is then the value actually planted). The check also asserts that the
  front-end's trim keeps the file's start and that the whole clip fits the 2.0 s input.
- Every clip's planted cue sizes are drawn around its emotion's profile (each non-reference
  value times exp(N(0, SPREAD))), so classes overlap a little, as acted emotions do; the
  metadata records the sizes actually planted.

Profiles follow the expert cue table (Juslin & Laukka 2003; Banse & Scherer 1996; see
bsx/data/expert_cues.csv): anger louder, higher, wider, faster, more jitter/shimmer,
flatter slope; happiness louder, higher, widest range, faster, no added jitter; sadness
quieter, lower, flatter F0, slower, breathier, steeper slope; fear (the Juslin & Laukka
row) slightly quieter, highest F0, narrower range, fastest, more jitter, steeper slope.

Determinism: espeak-ng carries state from one utterance to the next, so each speaker's
clips are rendered by a freshly loaded library (bsx.synth.espeak.Espeak), in a fixed order;
with the same options the files are byte-identical whatever the number of workers.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from bsx.synth.espeak import Espeak

GENERATOR_VERSION = "2"
SAMPLE_RATE = 16000
CARRIER_TEXT = "Say the word"
CARRIER_RMS_DBFS = -20.0   # active-speech RMS of every carrier
NEUTRAL_WORD_DB = -9.0     # the neutral word's RMS relative to the carrier's
LEAD_S = (0.05, 0.15)      # silence before the carrier, uniform per clip
GAP_S = 0.06               # carrier end -> slot start
SLOT_LEAD_S = 0.04         # the least silence between slot start and word onset
SLOT_S = 0.85              # the planted span: fixed for every clip
MIN_KEPT_FRAC = 0.5        # the paper's trim should keep at least this share of the word
MAX_LIFT_DB = 4.0          # ... for which a quiet word may be raised by this much at most
REF_MARGIN_DB = 1.0        # the slot's loudest mel bin stays this far below the carrier's
SPREAD = 0.12              # per-clip log-normal spread of planted cue sizes
EMOTIONS: tuple[str, ...] = ("angry", "fear", "happy", "neutral", "sad")
METADATA = "metadata.csv"
CORPUS_JSON = "corpus.json"


@dataclass(frozen=True)
class Speaker:
    """An espeak voice (language + variant) with its own base pitch, pitch range and rate."""

    id: str
    voice: str
    pitch: int
    pitch_range: int
    rate: int


# Variants with espeak's "breath" setting (f2, f3, f5, ...) are left out: their output varies
# from process to process (it depends on memory espeak does not initialise), so it could
# not be reproduced byte for byte.
SPEAKERS: tuple[Speaker, ...] = (
    Speaker("s01", "en-us+m1", 45, 50, 170),
    Speaker("s02", "en-us+f4", 55, 55, 175),
    Speaker("s03", "en+m2", 50, 45, 180),
    Speaker("s04", "en+Annie", 45, 50, 170),
    Speaker("s05", "en-gb-scotland+m4", 55, 50, 165),
    Speaker("s06", "en-gb-scotland+f4", 50, 60, 170),
    Speaker("s07", "en-gb-x-rp+m5", 40, 55, 180),
    Speaker("s08", "en-gb-x-rp+belinda", 60, 45, 175),
    Speaker("s09", "en-029+m6", 50, 60, 175),
    Speaker("s10", "en-029+f1", 40, 50, 170),
    Speaker("s11", "en-us-nyc+m2", 60, 50, 185),
    Speaker("s12", "en-gb-x-gbclan+linda", 45, 45, 175),
    Speaker("s13", "en-gb-x-gbcwmd+m3", 55, 55, 175),
    Speaker("s14", "en-us+f1", 50, 50, 180),
    Speaker("s15", "en+m7", 45, 60, 170),
    Speaker("s16", "en-us+m3", 60, 45, 175),
)

# Monosyllabic words in the style of TESS (Northwestern University Auditory Test No. 6).
WORDS: tuple[str, ...] = tuple("""
back bar base bath bean beg bite boat bone book bought burn cab calm came cause chain chair
chalk chat check cheek chief choice cool dab date dead death deep dime dip ditch dodge dog
doll door fail fall far fat fit five food gas gaze germ get gin goal good goose gun half
hall hash hate have haze hire hit hole home hurl jail jar join judge jug juice keen keep
keg kick kill king kite knock late laud lean learn lease lid life limb live loaf long lore
lose lot love luck make match merge mess met mill mob mode mood moon mop mouse nag name near
neat nice note numb pad page pain pass pearl peg perch phone pick pike pole pool puff rag
raid rain raise rat reach read red ring ripe road room rot rough rush said sail search seize
sell shack shall shawl sheep shirt should shout size soap soup sour south sub such sure
take talk tape team tell thin third thought thumb time tip tire ton tool tough turn vine
voice void vote wag walk wash week wheat when which whip white wife wire witch yearn yes
young youth
""".split())


@dataclass(frozen=True)
class Cues:
    """Planted cue sizes, relative to the same speaker's neutral word.

    loudness_db: word RMS gain; f0_semitones: F0 shift; f0_range: factor on the F0
    contour's excursions; rate: factor on espeak's speaking rate (words per minute);
    jitter, shimmer: expected local jitter/shimmer of the added per-period perturbation
    (fractions); breath_db: aspiration noise relative to the word's RMS (-60 = none);
    tilt_db_oct: spectral slope change in dB per octave around 1 kHz.
    """

    loudness_db: float = 0.0
    f0_semitones: float = 0.0
    f0_range: float = 1.0
    rate: float = 1.0
    jitter: float = 0.0
    shimmer: float = 0.0
    breath_db: float = -60.0
    tilt_db_oct: float = 0.0


CUE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Cues))
_RATIO_CUES = frozenset({"f0_range", "rate"})

PROFILES: dict[str, Cues] = {
    "neutral": Cues(),
    "angry": Cues(loudness_db=8.0, f0_semitones=4.0, f0_range=1.6, rate=1.25, jitter=0.03,
                  shimmer=0.10, breath_db=-22.0, tilt_db_oct=4.0),
    "happy": Cues(loudness_db=6.0, f0_semitones=6.0, f0_range=2.2, rate=1.15,
                  tilt_db_oct=2.5),
    "sad": Cues(loudness_db=-5.0, f0_semitones=-4.0, f0_range=0.45, rate=0.7, jitter=0.015,
                shimmer=0.05, breath_db=-12.0, tilt_db_oct=-4.0),
    "fear": Cues(loudness_db=-3.0, f0_semitones=8.0, f0_range=0.5, rate=1.35, jitter=0.03,
                 shimmer=0.05, breath_db=-16.0, tilt_db_oct=-2.0),
}


# The arousal variant (`bsx data synth --variant arousal`): each clip draws an arousal value
# a in [-1, 1] (uniform within its bin, the clip's label) and its word carries the arousal
# profile scaled by a (Scherer 2003; bsx/data/expert_dimensions.csv): louder, higher and wider
# F0, faster, flatter slope as a rises; no jitter, shimmer or breath. The carrier stays as it
# is, so the planted cues, like the emotions', live in the slot alone.
AROUSAL_BINS: dict[str, tuple[float, float]] = {
    "low": (-1.0, -1.0 / 3), "mid": (-1.0 / 3, 1.0 / 3), "high": (1.0 / 3, 1.0)}
VARIANTS: tuple[str, ...] = ("emotions", "arousal")


def arousal_cues(a: float) -> Cues:
    """The word's planted cues at arousal a (-1 calm .. +1 aroused; 0 = the neutral word)."""
    return Cues(loudness_db=round(7.0 * a, 4), f0_semitones=round(4.0 * a, 4),
                f0_range=round(1.0 + 0.5 * a, 4), rate=round(1.0 + 0.2 * a, 4),
                tilt_db_oct=round(3.0 * a, 4))


@dataclass(frozen=True)
class ClipPlan:
    """One clip to render: everything random about it was drawn when planning."""

    index: int
    emotion: str
    speaker: int
    word: str
    lead_s: float
    seed: int
    cues: Cues
    arousal: float | None = None  # the arousal variant's planted value (None: emotions)

    @property
    def name(self) -> str:
        return f"{SPEAKERS[self.speaker].id}_{self.emotion}_{self.word}_{self.index:05d}.wav"


def _draw(profile: Cues, rng: np.random.Generator) -> Cues:
    values: dict[str, float] = {}
    for name in CUE_NAMES:
        v = float(getattr(profile, name))
        n = float(rng.standard_normal())
        z = float(np.exp(SPREAD * n))
        if name in _RATIO_CUES:
            v = 1.0 + (v - 1.0) * z
        elif name == "breath_db":
            v = v + 2.0 * n if v > -60.0 else v
        else:
            v = v * z
        values[name] = round(float(v), 4)
    return Cues(**values)


def plan(
    per_class: int, seed: int, emotions: tuple[str, ...] = EMOTIONS, n_speakers: int = 16
) -> list[ClipPlan]:
    """Every clip of the corpus: speakers round robin (balanced within and across emotions),
    words, lead silences, seeds and cue sizes drawn from `seed`."""
    rng = np.random.default_rng([seed, 5])
    plans: list[ClipPlan] = []
    index = 0
    for e, emotion in enumerate(emotions):
        slots = (np.arange(per_class) + e * per_class) % n_speakers  # round robin
        rng.shuffle(slots)
        for i in range(per_class):
            word = WORDS[int(rng.integers(len(WORDS)))]
            lead_s = round(float(rng.uniform(*LEAD_S)), 4)
            seed_ = int(rng.integers(2**31 - 1))
            if emotion in AROUSAL_BINS:
                a = round(float(rng.uniform(*AROUSAL_BINS[emotion])), 4)
                cues, arousal = arousal_cues(a), a
            else:
                cues, arousal = _draw(PROFILES[emotion], rng), None
            plans.append(ClipPlan(index=index, emotion=emotion, speaker=int(slots[i]),
                                  word=word, lead_s=lead_s, seed=seed_, cues=cues,
                                  arousal=arousal))
            index += 1
    return plans


# ---------------------------------------------------------------------------- rendering


def _to_16k(y: np.ndarray, sr: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(SAMPLE_RATE, sr)
    return resample_poly(np.asarray(y, dtype=np.float64), SAMPLE_RATE // g, sr // g)


def _active(y: np.ndarray, thr_db: float = -45.0, pad_s: float = 0.005) -> np.ndarray:
    """The stretch from the first to the last sample above thr_db of the peak (+ margin)."""
    env = np.abs(y)
    idx = np.flatnonzero(env > env.max() * 10 ** (thr_db / 20.0))
    pad = int(pad_s * SAMPLE_RATE)
    a, b = max(int(idx[0]) - pad, 0), min(int(idx[-1]) + pad + 1, len(y))
    out = y[a:b].copy()
    fade = min(int(0.003 * SAMPLE_RATE), len(out) // 2)
    ramp = np.linspace(0.0, 1.0, fade)
    out[:fade] *= ramp
    out[len(out) - fade:] *= ramp[::-1]
    return out


def _rms_db(y: np.ndarray) -> float:
    return float(10 * np.log10(max(float(np.mean(np.asarray(y, np.float64) ** 2)), 1e-20)))


def _say(e: Espeak, text: str, spk: Speaker, rate: float) -> np.ndarray:
    u = e.say(text, spk.voice, rate=int(round(rate)), pitch=spk.pitch,
              pitch_range=spk.pitch_range)
    return _active(_to_16k(u.samples, u.sample_rate))


def _carrier(e: Espeak, spk: Speaker) -> np.ndarray:
    c = _say(e, CARRIER_TEXT + ",", spk, spk.rate)
    return c * 10 ** ((CARRIER_RMS_DBFS - _rms_db(c)) / 20.0)


def _word(
    e: Espeak, plan_: ClipPlan, spk: Speaker, carrier_db: float
) -> tuple[np.ndarray, float]:
    """The word with its planted cues; returns (samples, espeak rate used)."""
    from bsx.synth import voice_quality as vq

    cues = plan_.cues
    rng = np.random.default_rng([plan_.seed, 1])
    rate = spk.rate * cues.rate
    room = SLOT_S - 2 * SLOT_LEAD_S
    w = _say(e, plan_.word, spk, rate)
    while len(w) / SAMPLE_RATE > room:  # too slow to fit the slot: a little faster
        rate *= 1.08
        w = _say(e, plan_.word, spk, rate)
    pulses = vq.find_pulses(w, SAMPLE_RATE)
    w = vq.psola(w, SAMPLE_RATE, pulses, semitones=cues.f0_semitones, f0_range=cues.f0_range,
                 jitter=cues.jitter, shimmer=cues.shimmer, rng=rng)
    w = vq.tilt(w, SAMPLE_RATE, cues.tilt_db_oct)
    w = vq.breath(w, SAMPLE_RATE, cues.breath_db, rng)
    target = carrier_db + NEUTRAL_WORD_DB + cues.loudness_db
    return w * 10 ** ((target - _rms_db(w)) / 20.0), rate


def _assemble(
    lead_s: float, carrier: np.ndarray, word: np.ndarray, offset: int
) -> tuple[np.ndarray, int]:
    """The clip's samples and the slot's first sample; the word starts `offset` into it."""
    lead = int(round(lead_s * SAMPLE_RATE))
    slot_start = lead + len(carrier) + int(round(GAP_S * SAMPLE_RATE))
    y = np.zeros(slot_start + int(round(SLOT_S * SAMPLE_RATE)), dtype=np.float64)
    y[lead: lead + len(carrier)] = carrier
    y[slot_start + offset: slot_start + offset + len(word)] = word
    return y, slot_start


def _pcm16(y: np.ndarray) -> np.ndarray:
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)


def _offsets(n_word: int) -> list[int]:
    """Word onsets within the slot to try, centred first, then earlier in 25 ms steps."""
    lo = int(round(SLOT_LEAD_S * SAMPLE_RATE))
    centre = max(lo, (int(round(SLOT_S * SAMPLE_RATE)) - n_word) // 2)
    return list(range(centre, lo, -int(0.025 * SAMPLE_RATE))) + [lo]


def _place(
    lead_s: float, carrier: np.ndarray, word: np.ndarray
) -> tuple[np.ndarray, int, int, float]:
    """Place the word where the paper's trim keeps most of it.

    The paper front-end keeps the first stretch louder than (clip dBFS - 14 dB) over 0.5 s
    windows, so a quiet or short word after a long silence can be cut (with part of the
    carrier's quiet tail: a leak outside the span). Returns (pcm, slot start, word onset
    within the slot, share of the word the trim keeps); raises when the trim would move
    the file's start or the clip exceeds the 2.0 s input (a layout bug).
    """
    from bsx.audio import PRESETS, trim_bounds

    fe = PRESETS["paper"]
    best: tuple[np.ndarray, int, int, float] | None = None
    for off in _offsets(len(word)):
        y, slot0 = _assemble(lead_s, carrier, word, off)
        pcm = _pcm16(y)
        a, b = trim_bounds(pcm.astype(np.float32) / 32768.0, fe)
        if a != 0 or len(pcm) > fe.n_samples:
            raise RuntimeError(f"synth layout broken: trim starts at {a}, {len(pcm)} samples")
        w0 = slot0 + off
        kept = float(np.clip((b - w0) / len(word), 0.0, 1.0))
        if best is None or kept > best[3] + 1e-9:
            best = (pcm, slot0, off, kept)
        if kept >= 1.0:
            break
    assert best is not None
    return best


def _ref_excess_db(pcm: np.ndarray, slot: tuple[float, float]) -> float:
    """How far the loudest mel bin of the frames that see the slot rises above (the other
    frames' loudest - REF_MARGIN_DB), through the paper front-end; <= 0 is safe."""
    from bsx.audio import PRESETS, prepare_waveform

    fe = PRESETS["paper"]
    p = prepare_waveform(pcm.astype(np.float32) / 32768.0, fe)
    centre = np.arange(p.logmel.shape[1]) * fe.hop_length / fe.sample_rate
    half = fe.n_fft / 2 / fe.sample_rate
    sees = (centre + half > slot[0]) & (centre - half < slot[1])
    return float(p.logmel[:, sees].max() - (p.logmel[:, ~sees].max() - REF_MARGIN_DB))


def _fit(
    lead_s: float, carrier: np.ndarray, word: np.ndarray
) -> tuple[np.ndarray, int, int, float, float]:
    """Place and level the word so that the front-end shows the class only in the slot.

    Two rules, checked on the final 16-bit samples: (1) ref=max stays outside the slot (a
    frame that sees the slot must not hold the clip's loudest mel bin), else the word is
    attenuated; (2) the trim keeps at least MIN_KEPT_FRAC of the word, else (when moving the
    word earlier does not help) the word is raised in 1 dB steps, by MAX_LIFT_DB at most;
    the trim must keep some of the word (so it never reaches the carrier). Both change the planted
    loudness, which the metadata then records. Returns (pcm, slot start, word offset, kept
    share, gain in dB).
    """
    gain_db = 0.0
    lowered = False
    for _ in range(16):
        w = word * 10 ** (gain_db / 20.0)
        pcm, slot0, off, kept = _place(lead_s, carrier, w)
        start = slot0 / SAMPLE_RATE
        excess = _ref_excess_db(pcm, (start, start + SLOT_S))
        if excess > 0.0:
            gain_db -= excess + 0.5
            lowered = True
        elif kept < MIN_KEPT_FRAC and not lowered and gain_db < MAX_LIFT_DB:
            gain_db += 1.0
        elif kept <= 0.0:
            break
        else:
            return pcm, slot0, off, kept, gain_db
    raise RuntimeError("could not fit the word to the paper front-end")


def _finish(
    p: ClipPlan, spk: Speaker, carrier: np.ndarray, word: np.ndarray, rate: float
) -> tuple[np.ndarray, dict[str, Any]]:
    """Fit the word into the clip; the 16-bit samples and the clip's metadata row."""
    pcm, slot0, off, kept, gain_db = _fit(p.lead_s, carrier, word)
    start = slot0 / SAMPLE_RATE
    w0 = (slot0 + off) / SAMPLE_RATE
    cues = asdict(p.cues)
    cues["loudness_db"] = round(cues["loudness_db"] + gain_db, 4)
    return pcm, {
        "path": p.name, "label": p.emotion, "speaker": spk.id, "voice": spk.voice,
        "text": f"{CARRIER_TEXT} {p.word}", "word": p.word,
        "span_start": round(start, 6), "span_end": round(start + SLOT_S, 6),
        "word_start": round(w0, 6), "word_end": round(w0 + len(word) / SAMPLE_RATE, 6),
        "word_kept": round(kept, 4),
        "duration_s": round(len(pcm) / SAMPLE_RATE, 6), "rate_wpm": round(rate, 2),
        **{f"planted_{k}": v for k, v in cues.items()},
        **({} if p.arousal is None else {"arousal": p.arousal}),
        "seed": p.seed, "index": p.index,
    }


def render(p: ClipPlan) -> tuple[np.ndarray, dict[str, Any]]:
    """One clip on its own (a fresh espeak): 16-bit samples at 16 kHz and its metadata row.

    For experiments and tests, e.g. the same speaker and word under every emotion; inside a
    corpus a clip's samples also depend on the clips its speaker said before it.
    """
    spk = SPEAKERS[p.speaker]
    with Espeak() as e:
        carrier = _carrier(e, spk)
        word, rate = _word(e, p, spk, _rms_db(carrier))
    return _finish(p, spk, carrier, word, rate)


def render_speaker(args: tuple[int, list[ClipPlan], str]) -> list[dict[str, Any]]:
    """Render one speaker's clips into folder `out`; returns their metadata rows."""
    import soundfile as sf

    speaker, plans, out = args
    spk = SPEAKERS[speaker]
    plans = sorted(plans, key=lambda q: q.index)
    with Espeak() as e:
        carrier = _carrier(e, spk)
        words = [_word(e, p, spk, _rms_db(carrier)) for p in plans]
    rows: list[dict[str, Any]] = []
    for p, (word, rate) in zip(plans, words, strict=True):
        pcm, row = _finish(p, spk, carrier, word, rate)
        sf.write(str(Path(out) / p.name), pcm, SAMPLE_RATE, subtype="PCM_16")
        rows.append(row)
    return rows


def _one_thread() -> None:
    """One BLAS/OpenMP thread per worker: the pool is the parallelism."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass


def settings(per_class: int, seed: int, emotions: tuple[str, ...], n_speakers: int,
             variant: str = "emotions") -> dict:
    """What determines the audio: stored as corpus.json, hashed for the cache folder (the
    default variant is not named, so the emotion corpus keeps its cache key)."""
    out = {"generator": GENERATOR_VERSION, "per_class": per_class, "seed": seed,
           "emotions": list(emotions), "speakers": n_speakers}
    return out if variant == "emotions" else {**out, "variant": variant}


def generate(
    out: Path,
    *,
    per_class: int,
    seed: int,
    emotions: tuple[str, ...] = EMOTIONS,
    n_speakers: int = 16,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    variant: str = "emotions",
) -> Path:
    """Write the corpus into `out` (WAVs, metadata.csv, corpus.json); returns the CSV's path.

    progress(n) is called as each speaker's n clips are written (a progress bar's advance).
    variant "arousal": `emotions` are arousal bins (AROUSAL_BINS) and each row holds the
    clip's planted `arousal`.

    Built in a temporary sibling folder and renamed into place, so an interrupted run never
    leaves a half corpus that looks finished.
    """
    out = Path(out)
    plans = plan(per_class, seed, emotions, n_speakers)
    by_speaker: dict[int, list[ClipPlan]] = {}
    for p in plans:
        by_speaker.setdefault(p.speaker, []).append(p)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    n = max(1, min(workers or os.cpu_count() or 1, len(by_speaker)))
    jobs = [(s, ps, str(tmp)) for s, ps in sorted(by_speaker.items())]
    try:
        advance = progress or (lambda k: None)
        results = []
        if n == 1:
            for job in jobs:
                results.append(render_speaker(job))
                advance(len(job[1]))
        else:
            with ProcessPoolExecutor(max_workers=n, initializer=_one_thread) as pool:
                futures = {pool.submit(render_speaker, job): len(job[1]) for job in jobs}
                for fut in as_completed(futures):
                    results.append(fut.result())
                    advance(futures[fut])
        rows = sorted((r for rs in results for r in rs), key=lambda r: r["index"])
        with open(tmp / METADATA, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (tmp / CORPUS_JSON).write_text(json.dumps(
            settings(per_class, seed, emotions, n_speakers, variant), indent=1,
            sort_keys=True))
        if out.exists() and not any(out.iterdir()):
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / METADATA

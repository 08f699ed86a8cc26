"""libespeak-ng through ctypes: text -> 22.05 kHz samples, offline, no system install.

espeakng-loader ships the shared library and its data folder; we call the C API
(speak_lib.h) in synchronous mode with a callback that collects samples.

Determinism: espeak-ng keeps state between utterances in the library's globals (e.g. the
flutter phase of its wave generator), so the same text gives different samples depending
on what was spoken before, and espeak_Terminate does not reset it. A freshly loaded library
that speaks a fixed sequence gives byte-identical samples, so `Espeak` is a context manager
that loads the library on entry and unloads it (dlclose) on exit: each `with Espeak() as e:`
block starts from the same state. `say` also reseeds libc's rand() (process-wide) before
every utterance. Variants with espeak's "breath" setting (f2, f3, f5, ...) still vary from
process to process (they read memory espeak does not initialise): bsx.synth.recipe avoids
them. The library is not thread-safe: one open `Espeak` per process at a time (a second
would share the first one's globals, so it is refused).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_ESPEAK_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE = 1, 2, 3, 4


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class Utterance:
    """Samples (float32, full scale 1.0) and word onsets (sample index, text position)."""

    samples: np.ndarray
    sample_rate: int
    words: tuple[tuple[int, int], ...]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None)


class Espeak:
    """A freshly loaded espeak-ng library; use as `with Espeak() as e: e.say(...)`."""

    _open = False

    def __enter__(self) -> Espeak:
        import espeakng_loader

        if Espeak._open:
            raise RuntimeError("an Espeak is already open in this process (espeak-ng keeps "
                               "global state: open one at a time)")
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        Espeak._open = True
        self._lib.espeak_Initialize.restype = ctypes.c_int
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
            _ESPEAK_INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise (returned {rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._words: list[tuple[int, int]] = []
        self._cb = _Callback(self._collect)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._cb)

        return self

    def __exit__(self, *exc: object) -> None:
        import _ctypes

        self._lib.espeak_Terminate()
        _ctypes.dlclose(self._lib._handle)  # type: ignore[attr-defined]
        del self._lib
        Espeak._open = False

    def _collect(self, wav, n, events):  # type: ignore[no-untyped-def]
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_WORD:
                self._words.append((int(events[i].sample), int(events[i].text_position)))
            i += 1
        return 0

    def say(
        self, text: str, voice: str, *, rate: int = 175, pitch: int = 50, pitch_range: int = 50
    ) -> Utterance:
        """Speak `text` with voice name `voice` (e.g. "en-us+f3"), espeak's rate (words per
        minute, 80-450), pitch and pitch range (0-100, 50 = the voice's own)."""
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice '{voice}'")
        for param, value in ((PARAM_RATE, rate), (PARAM_PITCH, pitch),
                             (PARAM_RANGE, pitch_range), (PARAM_VOLUME, 100)):
            self._lib.espeak_SetParameter(param, int(value), 0)
        self._chunks, self._words = [], []
        # breathy variants draw noise from libc's rand(), a process-wide state: reseed it
        _libc().srand(0)
        blob = text.encode("utf-8")
        status = self._lib.espeak_Synth(blob, len(blob) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8,
                                        None, None)
        if status != 0:
            raise RuntimeError(f"espeak-ng failed on {text!r} (status {status})")
        self._lib.espeak_Synchronize()
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return Utterance(
            samples=(pcm.astype(np.float32) / 32768.0), sample_rate=self.sample_rate,
            words=tuple(self._words),
        )

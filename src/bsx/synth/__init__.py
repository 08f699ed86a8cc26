"""The generator of the synthetic emotional-speech corpus "synth" (espeak-ng + voice quality).

espeak.py wraps libespeak-ng (shipped by espeakng-loader) through ctypes; voice_quality.py
plants F0, jitter, shimmer, breathiness and spectral tilt by signal processing; recipe.py
holds the speakers, words and emotion profiles and writes the corpus.
"""

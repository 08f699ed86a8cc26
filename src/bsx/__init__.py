"""bsx: beyond saliency, explained.

Evaluate SER explanation methods against expert-referenced acoustic cues.
"""

__version__ = "0.1.0"

"""bsx: beyond saliency, explained. Evaluate SER explanation methods against expert acoustic cues."""

__version__ = "0.1.0"

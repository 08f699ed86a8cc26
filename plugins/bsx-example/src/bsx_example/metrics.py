"""Content share: a worked metric-plugin example (one number per clip from its map)."""

from __future__ import annotations

from typing import Any

import numpy as np


class ContentShare:
    """Share of the positive relevance that lies on the real content rather than on the
    front-end's padding: relevance on padding explains nothing the speaker said.

    Frame f of the map is centred at f * frame_s on the model timeline; it is on the content
    when content[0] <= f * frame_s < content[1]. NaN for a map without positive relevance.
    """

    def __init__(self, options: Any = None) -> None:
        self.options = options

    def __call__(self, clip: Any) -> float:
        """clip: bsx.evaluation.computes.ClipInputs -> the share in [0, 1]."""
        per_frame = np.maximum(np.asarray(clip.map, dtype=np.float64), 0.0).sum(axis=0)
        t = np.arange(len(per_frame)) * clip.frame_s
        inside = (t >= clip.content[0]) & (t < clip.content[1])
        total = per_frame.sum()
        return float(per_frame[inside].sum() / total) if total > 0 else float("nan")

"""One colour per method, the same in every figure and in report.html.

Built-in methods have fixed colours from the Okabe-Ito palette (distinguishable with the
common colour-vision deficiencies); the random baseline is always grey, drawn as a line. A
method the table does not know gets a colour from its name's hash, so it too keeps its
colour across figures and runs.
"""

from __future__ import annotations

import hashlib

RANDOM = "random"
RANDOM_COLOUR = "#7f7f7f"

FIXED: dict[str, str] = {
    "crp": "#0072b2",                   # blue
    "gradcam": "#d55e00",               # vermillion
    "lrp": "#009e73",                   # bluish green
    "occlusion": "#cc79a7",             # reddish purple
    "occlusion-time": "#e69f00",        # orange
    "saliency": "#56b4e9",              # sky blue
    "integrated-gradients": "#882255",  # wine
    "gradient-x-input": "#44aa99",      # teal (the example plugin)
    RANDOM: RANDOM_COLOUR,
}

_SPARE = ("#332288", "#117733", "#999933", "#aa4499", "#661100", "#6699cc", "#888800",
          "#ddcc77")


def method_colour(method: str) -> str:
    """The method's colour as '#rrggbb', lower case (stable across figures, runs and
    machines)."""
    if method in FIXED:
        return FIXED[method]
    h = int(hashlib.sha256(method.encode()).hexdigest(), 16)
    return _SPARE[h % len(_SPARE)]

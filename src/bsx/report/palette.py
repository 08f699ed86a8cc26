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
    "crp": "#0072B2",                   # blue
    "gradcam": "#D55E00",               # vermillion
    "lrp": "#009E73",                   # bluish green
    "occlusion": "#CC79A7",             # reddish purple
    "occlusion-time": "#E69F00",        # orange
    "saliency": "#56B4E9",              # sky blue
    "integrated-gradients": "#882255",  # wine
    "gradient-x-input": "#44AA99",      # teal (the example plugin)
    RANDOM: RANDOM_COLOUR,
}

_SPARE = ("#332288", "#117733", "#999933", "#AA4499", "#661100", "#6699CC", "#888800",
          "#DDCC77")


def method_colour(method: str) -> str:
    """The method's colour as '#rrggbb' (stable across figures, runs and machines)."""
    if method in FIXED:
        return FIXED[method]
    h = int(hashlib.sha256(method.encode()).hexdigest(), 16)
    return _SPARE[h % len(_SPARE)]

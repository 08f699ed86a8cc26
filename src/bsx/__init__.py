"""bsx: beyond saliency, explained.

Evaluate SER explanation methods against expert-referenced acoustic cues. The Python API
(docs/api.md) is imported lazily, so `import bsx` stays light (no torch, no pandas):

    import bsx
    e = bsx.explain("clip.wav", method="gradcam")              # or bsx.Model(my_module, ...)
    run = bsx.evaluate(model="path/model.pt", methods=["gradcam", "random"], cues=["egemaps"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> "module:attribute", imported on first use
_API: dict[str, str] = {
    "explain": "bsx.explanation:explain",
    "Explanation": "bsx.explanation:Explanation",
    "evaluate": "bsx.evaluation.evaluate:evaluate",
    "Evaluation": "bsx.evaluation.evaluate:Evaluation",
    "Model": "bsx.models.resolve:Model",
    "register_method": "bsx.registration:register_method",
    "register_cues": "bsx.registration:register_cues",
    "register_metric": "bsx.registration:register_metric",
    "BsxError": "bsx.errors:BsxError",
}
__all__ = [
    "BsxError",
    "Evaluation",
    "Explanation",
    "Model",
    "__version__",
    "evaluate",
    "explain",
    "register_cues",
    "register_method",
    "register_metric",
]

if TYPE_CHECKING:
    from bsx.errors import BsxError
    from bsx.evaluation.evaluate import Evaluation, evaluate
    from bsx.explanation import Explanation, explain
    from bsx.models.resolve import Model
    from bsx.registration import register_cues, register_method, register_metric


def __getattr__(name: str) -> Any:
    target = _API.get(name)
    if target is None:
        raise AttributeError(f"module 'bsx' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])

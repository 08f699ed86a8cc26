"""Strict JSON for every file a run writes: null, never NaN or Infinity.

Python's json writes NaN, which JSON does not allow (JavaScript's JSON.parse, jq and most
readers reject the file). Everything goes through `jsonable` first: NaN and infinities become
None, numpy scalars and arrays become Python numbers and lists, paths become strings; then
`json.dumps(..., allow_nan=False)` guarantees nothing slipped through.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def jsonable(obj: Any) -> Any:
    """A copy of obj holding only JSON values, with non-finite floats as None."""
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, Path):
        return str(obj)
    import pandas as pd

    if obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text (NaN -> null); ValueError if a non-finite number survives."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def write_json(path: Path, obj: Any, indent: int | None = 2) -> Path:
    """Write strict JSON to `path` (summary.json, config.json)."""
    path = Path(path)
    path.write_text(dumps(obj, indent) + "\n", encoding="utf-8")
    return path

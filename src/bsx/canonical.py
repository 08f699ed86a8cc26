"""Canonical JSON of stored settings (EvalConfig, Frontend) by one rule, not a hand-kept list.

Runs resume by comparing config.json, leaderboard cells and caches key on hashes of these
settings, so adding a field must not change the JSON of settings that leave it at its
default. The rule: the fields a format held when it was first stored (`stored`, a fixed
historical fact that never grows) are always written; every field added since is written
only when it differs from its default. A new field therefore needs no registration.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def omit_new_defaults(model: BaseModel, data: dict[str, Any],
                      stored: frozenset[str]) -> dict[str, Any]:
    """`data` (model's dump) without the fields outside `stored` that are at their default."""
    for name, field in type(model).model_fields.items():
        if name in stored or name not in data:
            continue
        if getattr(model, name) == field.get_default(call_default_factory=True):
            del data[name]
    return data

"""Canonical JSON by rule: fields added after a format was first stored are left out at their
default with no list to keep, the first stored fields are always written."""

from __future__ import annotations

import json

from bsx.audio import PRESETS, canonical_json
from bsx.audio import STORED_FIELDS as FRONTEND_STORED
from bsx.evaluation.config import STORED_FIELDS, EvalConfig


class Later(EvalConfig):
    """EvalConfig as it would be with one more field, added by someone who registers nothing."""

    brand_new: int = 7


def test_a_new_field_is_left_out_at_its_default_and_written_when_set() -> None:
    base = json.loads(EvalConfig().model_dump_json())
    later = json.loads(Later().model_dump_json())
    assert later == base  # the old runs' config.json still matches on --resume
    assert json.loads(Later(brand_new=8).model_dump_json())["brand_new"] == 8


def test_the_first_stored_fields_are_written_even_at_their_defaults() -> None:
    data = json.loads(EvalConfig().model_dump_json())
    assert STORED_FIELDS <= set(data)
    assert set(data) == STORED_FIELDS  # every later field of the default config is at default
    assert "baseline" not in data and json.loads(
        EvalConfig(baseline="noise").model_dump_json())["baseline"] == "noise"


def test_frontend_digests_of_the_presets_keep_their_stored_fields_only() -> None:
    for fe in PRESETS.values():
        fields = set(json.loads(canonical_json(fe)))
        assert FRONTEND_STORED <= fields
        for extra in fields - FRONTEND_STORED:  # a later field appears only when set
            name = extra
            assert getattr(fe, name) != type(fe).model_fields[name].get_default(
                call_default_factory=True)
    # the paper preset's cache key, as stored by every run before this rule
    assert PRESETS["paper"].digest() == "50574f760a8eddbf"  # computed by the old hand-kept list

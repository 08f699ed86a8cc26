"""Shared fixtures: a private cache dir per test session, seeded RNG."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _bsx_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never touch the user's cache unless CI points BSX_CACHE_DIR somewhere on purpose.
    os.environ.setdefault("BSX_CACHE_DIR", str(tmp_path_factory.mktemp("bsx-cache")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


PLANTED_SKIP = "planted: the file could not be decoded"


@pytest.fixture
def plant_skip(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """plant_skip(clip_id): from now on the front-end's prepare_many returns that clip as
    skipped (as for a file it could not decode); returns the reason it gives."""
    import bsx.datasets.cache as cache
    from bsx.datasets.cache import Skipped

    real = cache.prepare_many

    def plant(clip_id: str) -> str:
        def prepare_many(clips: list[Any], fe: Any, **kw: Any) -> tuple[list[Any], list[Any]]:
            prepared, bad = real(clips, fe, **kw)
            for i, c in enumerate(clips):
                if c.id == clip_id:
                    prepared[i] = None
                    bad = [*bad, Skipped(c, PLANTED_SKIP)]
            return prepared, bad

        monkeypatch.setattr(cache, "prepare_many", prepare_many)
        return PLANTED_SKIP

    return plant

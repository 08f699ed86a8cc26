"""Shared fixtures: a private cache dir per test session, seeded RNG."""

from __future__ import annotations

import os

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _bsx_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never touch the user's cache unless CI points BSX_CACHE_DIR somewhere on purpose.
    os.environ.setdefault("BSX_CACHE_DIR", str(tmp_path_factory.mktemp("bsx-cache")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

"""extract_many: process-pool extraction equals in-process extraction, in order."""

from __future__ import annotations

import numpy as np

from bsx.cues.parallel import extract_many

SR = 16000


def test_process_pool_matches_serial(make_vowel) -> None:
    clips = [make_vowel(f0, dur=0.6) for f0 in (110.0, 180.0, 260.0)]
    serial = extract_many("praat", clips, SR, workers=1)
    pooled = extract_many("praat", clips, SR, workers=2)
    for a, b, f0 in zip(serial, pooled, (110.0, 180.0, 260.0), strict=True):
        assert np.allclose(a.values["F0_Hz"], b.values["F0_Hz"], equal_nan=True)
        assert abs(np.nanmedian(b.values["F0_Hz"]) - f0) < 3.0


def test_built_extractors_with_equal_state_share_one_pool(make_vowel) -> None:
    from bsx import pool as pool_mod
    from bsx.plugins import build

    clips = [make_vowel(150.0, dur=0.4), make_vowel(200.0, dur=0.4)]
    extract_many(build("cue", "praat"), clips, SR, workers=2)
    n = len(pool_mod._POOLS)
    extract_many(build("cue", "praat"), clips, SR, workers=2)  # a second, equal extractor
    assert len(pool_mod._POOLS) == n


def test_started_workers_are_the_ones_extract_many_uses(make_vowel) -> None:
    from bsx import pool as pool_mod
    from bsx.cues import parallel

    parallel.shutdown_pools()
    parallel.start_workers("librosa", workers=2)
    assert len(pool_mod._POOLS) == 1
    tracks = extract_many("librosa", [make_vowel(150.0, dur=0.4)] * 2, SR, workers=2)
    assert len(pool_mod._POOLS) == 1 and len(tracks) == 2
    parallel.start_workers("librosa", workers=1)  # one worker: nothing to start
    assert len(pool_mod._POOLS) == 1


def test_a_pool_whose_worker_died_is_replaced(make_vowel) -> None:
    import os
    import signal
    import time

    from bsx import pool as pool_mod

    clip = [make_vowel(150.0, dur=0.4)] * 2
    extract_many("librosa", clip, SR, workers=2)
    (pool,) = [p for k, p in pool_mod._POOLS.items() if k[1] == "librosa"]
    for pid in list(pool._processes):  # a worker crashes (e.g. a segfault in a decoder)
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not pool._broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._broken
    tracks = extract_many("librosa", clip, SR, workers=2)  # a fresh pool does the work
    assert len(tracks) == 2


def test_pending_tracks_say_when_they_arrived_not_when_they_were_asked_for(make_vowel) -> None:
    import time

    from bsx.cues.parallel import extract_many_async

    clips = [make_vowel(f0, dur=0.4) for f0 in (120.0, 220.0)]
    serial = extract_many("praat", clips, SR, workers=1)
    t0 = time.perf_counter()
    for workers in (2, 1):
        pending = extract_many_async("praat", clips, SR, workers=workers)
        if workers == 2:
            while pending.ready_at is None and time.perf_counter() - t0 < 60:
                time.sleep(0.05)
            time.sleep(0.3)  # the caller comes back late
        asked = time.perf_counter()
        tracks = pending()
        assert pending.ready_at is not None
        assert (pending.ready_at < asked) == (workers == 2)  # in-process: ready when asked
        for a, b in zip(serial, tracks, strict=True):
            assert np.allclose(a.values["F0_Hz"], b.values["F0_Hz"], equal_nan=True)

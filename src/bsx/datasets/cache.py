"""The prepared-spectrogram cache: every clip through the front-end once, on both cores.

Each clip's Prepared (bsx.audio.prepare) is stored as one .npz (np.savez; read back with
allow_pickle=False, never pickle) named by the source's sha256 and the front-end digest, so an
entry is reused exactly while the file's content and the front-end config are unchanged, and
an edited file or another preset never meets a stale spectrogram. A manifest (manifest.csv:
source path, size, mtime, sha256, status, reason, entry) records every clip, unreadable ones
included (status ok, skipped: the file is unusable, not retried while unchanged; failed: the
worker died, retried; empty: not reached before an interruption); size and mtime let a rerun
skip re-hashing unchanged files. Rows are keyed by source path: one cache folder per
front-end (the default) keeps one row per file. Each entry is written atomically as soon as
it is computed, so an interrupted run loses nothing already prepared.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bsx.audio import Frontend, Prepared, canonical_json
from bsx.datasets.base import Clip
from bsx.paths import sha256_file
from bsx.pool import kept_pool

MANIFEST = "manifest.csv"
FIELDS = ("clip_id", "source", "size", "mtime_ns", "sha256", "frontend", "status", "reason",
          "entry")


@dataclass(frozen=True)
class Skipped:
    """A clip that could not be prepared, and why (one sentence naming the file)."""

    clip: Clip
    reason: str




def entry_name(sha: str, fe: Frontend) -> str:
    return f"{sha[:32]}-{fe.digest()}.npz"


def save_prepared(p: Prepared, path: Path) -> None:
    """Write one Prepared as .npz, atomically (a temp file renamed into place)."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    with open(tmp, "wb") as fh:
        np.savez(
            fh,
            waveform=p.waveform.astype(np.float32),
            logmel=p.logmel.astype(np.float32),
            offsets=np.array(
                [p.trim_offset_s, p.pad_offset_s, p.content_s, p.original_duration_s],
                dtype=np.float64,
            ),
            frontend=np.array(canonical_json(p.frontend)),
            source=np.array(p.source),
            unit_starts=np.asarray(p.unit_starts, dtype=np.int64),
            speech_s=np.array(np.nan if p.speech_s is None else p.speech_s),
        )
    tmp.replace(path)


def load_prepared(path: Path, fe: Frontend) -> Prepared | None:
    """Read an entry back; None when it is missing, damaged or made by another front-end."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["frontend"]) != canonical_json(fe):  # text compare: no parse per entry
                return None
            trim, pad, content, duration = (float(v) for v in z["offsets"])
            speech = float(z["speech_s"])  # entries made before units existed: recompute
            return Prepared(
                waveform=z["waveform"], logmel=z["logmel"], trim_offset_s=trim,
                pad_offset_s=pad, content_s=content, original_duration_s=duration,
                frontend=fe, source=str(z["source"]),
                unit_starts=tuple(int(u) for u in z["unit_starts"]),
                speech_s=None if speech != speech else speech,
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # a truncated or foreign file: recompute it


def _work(source: str, fe_json: str, out: str) -> tuple[Prepared | None, str]:
    """In a worker: prepare one file and write its entry. Returns (Prepared, "") or (None, why)."""
    from bsx.audio import prepare
    from bsx.errors import BsxError

    fe = Frontend(**json.loads(fe_json))
    try:
        p = prepare(source, fe)
    except BsxError as exc:  # bad audio (load_audio names what decoders raise); else a bug
        return None, str(exc)
    save_prepared(p, Path(out))
    return p, ""


def _init_worker() -> None:
    """One thread per worker process: the pool is the parallelism."""
    _one_thread()


def _one_thread() -> Any:
    """BLAS limited to one thread: its threads cost 4x on the small mel product (measured)."""
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1)
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()


# Parsed manifests by path, with the (mtime, size) they were read at: the evaluate engine calls
# prepare_many once per batch, and re-parsing a large manifest each time made it O(N^2).
_MANIFESTS: dict[Path, tuple[tuple[int, int], dict[str, dict[str, str]]]] = {}


def read_manifest(cache: Path) -> dict[str, dict[str, str]]:
    """Manifest rows by source path ({} when there is none yet). A new dict of the memoized
    rows (copying every row per batch was O(N) per batch): callers replace rows, never edit
    them."""
    path = cache / MANIFEST
    if not path.is_file():
        return {}
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    known = _MANIFESTS.get(path)
    if known is None or known[0] != stamp:
        with path.open(newline="") as fh:
            known = (stamp, {row["source"]: row for row in csv.DictReader(fh)})
        _MANIFESTS[path] = known
    return dict(known[1])


def _write_manifest(cache: Path, rows: dict[str, dict[str, str]]) -> None:
    path = cache / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for key in sorted(rows):
            w.writerow(rows[key])
    tmp.replace(path)


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("preparing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), disable=not enabled or total == 0,
    )


_WARM: set[str] = set()


def _warm(fe: Frontend) -> None:
    """Run the front-end once on a synthetic tone so librosa's lazy imports happen here.

    The first prepare() in a process costs seconds (librosa loads scipy.signal and friends on
    first use); done once in the parent, every forked worker starts warm.
    """
    if fe.digest() in _WARM:
        return
    from bsx.audio import prepare_waveform

    t = np.arange(fe.sample_rate // 4) / fe.sample_rate
    prepare_waveform((0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), fe)
    _WARM.add(fe.digest())


def _pool(workers: int) -> ProcessPoolExecutor:
    """The kept prepare pool of `workers` (bsx.pool: spawned, guarded workers).

    Kept because evaluate prepares batch by batch: a pool per batch of 16 cost more than the
    work (58 vs 145 clips/s for one process, measured). Spawned, not forked: the parent holds
    torch's and the cue pool's threads by then, and a fork of a threaded process can deadlock
    (issue 18); a spawned worker pays its imports once per process instead.
    """
    return kept_pool(("prepare", workers), workers, _init_worker)


def prepare_many(
    clips: list[Clip],
    fe: Frontend,
    *,
    workers: int = 2,
    cache: Path | None = None,
    progress: bool = True,
) -> tuple[list[Prepared | None], list[Skipped]]:
    """Prepare every clip once through `fe`, reusing and filling the cache.

    Returns one Prepared per clip (None where the clip was skipped) in the clips' order, and
    the skipped clips with their reasons. workers > 1 computes in a process pool of that
    size; workers <= 1 computes in this process. cache None: bsx.paths.cache_dir("prepared",
    fe.digest()). Unreadable, empty, silent or NaN files are skipped and recorded in the
    manifest (a rerun does not retry them while the file is unchanged); the run goes on.
    """
    if cache is None:
        from bsx.paths import cache_dir

        cache = cache_dir("prepared", fe.digest())
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    run = _Preparation(clips, fe, cache, read_manifest(cache))
    with _progress(progress, len(clips)) as bar:
        run.bar, run.task = bar, bar.add_task("prepare", total=len(clips))
        try:
            for i, clip in enumerate(clips):
                run.look_up(i, clip)
            run.compute(workers)
        finally:
            if run.rows != run.previous:  # all cache hits: nothing to record, skip the rewrite
                _write_manifest(cache, run.rows)
    skipped = [Skipped(clips[i], run.reasons[i]) for i in sorted(run.reasons)]
    return run.results, skipped


class _Preparation:
    """One prepare_many call: the manifest rows, the results so far, the entries to compute
    (entry name -> clip indices: identical files are computed once)."""

    def __init__(self, clips: list[Clip], fe: Frontend, cache: Path,
                 previous: dict[str, dict[str, str]]) -> None:
        self.clips, self.fe, self.cache, self.previous = clips, fe, cache, previous
        self.rows = dict(previous)
        self.digest = fe.digest()
        self.results: list[Prepared | None] = [None] * len(clips)
        self.reasons: dict[int, str] = {}
        self.todo: dict[str, list[int]] = {}
        self.bar: Any = None
        self.task: Any = None

    def skip(self, i: int, reason: str, status: str = "skipped") -> None:
        self.reasons[i] = reason
        self.rows[str(self.clips[i].path)].update(status=status, reason=reason)

    def look_up(self, i: int, clip: Clip) -> None:
        """Record clip i's manifest row; take it from the cache or the manifest's skips, or
        queue its entry for computing."""
        fe, digest = self.fe, self.digest
        source = str(clip.path)
        row = {"clip_id": clip.id, "source": source, "frontend": digest, "size": "",
               "mtime_ns": "", "sha256": "", "status": "", "reason": "", "entry": ""}
        self.rows[source] = row
        try:
            st = os.stat(source)
            row.update(size=str(st.st_size), mtime_ns=str(st.st_mtime_ns))
            prev = self.previous.get(source) or {}
            unchanged = (prev.get("size"), prev.get("mtime_ns")) == (
                row["size"], row["mtime_ns"])
            sha = prev["sha256"] if unchanged and prev.get("sha256") else \
                sha256_file(clip.path)
        except OSError as exc:
            self.skip(i, f"{source}: cannot be read ({exc.strerror or exc})")
            self.bar.advance(self.task)
            return
        entry = entry_name(sha, fe)
        row.update(sha256=sha, entry=entry)
        if (prev.get("status") == "skipped" and prev.get("sha256") == sha
                and prev.get("frontend") == digest and prev.get("reason")):
            self.skip(i, prev["reason"])
            self.bar.advance(self.task)
            return
        path = self.cache / entry
        loaded = load_prepared(path, fe) if path.is_file() else None
        if loaded is not None:
            self.results[i] = replace(loaded, source=source)
            row["status"] = "ok"
            self.bar.advance(self.task)
            return
        self.todo.setdefault(entry, []).append(i)

    def done(self, entry: str, p: Prepared | None, why: str, status: str = "skipped") -> None:
        for i in self.todo[entry]:
            if p is None:
                self.skip(i, why, status)
            else:
                self.results[i] = replace(p, source=str(self.clips[i].path))
                self.rows[str(self.clips[i].path)]["status"] = "ok"
            self.bar.advance(self.task)

    def compute(self, workers: int) -> None:
        """The queued entries, in this process or a pool of `workers`."""
        fe_json = self.fe.model_dump_json()
        if self.todo:
            _warm(self.fe)
        jobs = [(e, str(self.clips[ix[0]].path), str(self.cache / e))
                for e, ix in self.todo.items()]
        if jobs and (workers <= 1 or len(jobs) == 1):
            with _one_thread():
                for entry, source, out in jobs:
                    self.done(entry, *_work(source, fe_json, out))
        elif jobs:
            pool = _pool(workers)
            futures = {pool.submit(_work, s, fe_json, o): e for e, s, o in jobs}
            for fut in as_completed(futures):
                entry = futures[fut]
                try:
                    p, why = fut.result()
                except BrokenProcessPool as exc:  # a worker died (e.g. a decoder crash)
                    why = f"{self.clips[self.todo[entry][0]].path}: worker failed ({exc!r})"
                    self.done(entry, None, why, "failed")  # retried on the next run
                    continue
                self.done(entry, p, why)

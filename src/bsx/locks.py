"""One run at a time per output folder: two runs writing the same --out would mix or delete
each other's parts. An OS file lock (flock), so a killed run (kill -9, OOM) holds nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bsx.errors import BsxError

LOCK_NAME = ".bsx-lock"


@contextmanager
def hold_folder(out: Path, command: str = "bsx") -> Iterator[None]:
    """Hold `out` for this run; BsxError in one sentence when another live run holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): runs are not guarded against each other
        yield
        return
    path = Path(out) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            by = f" (pid {holder})" if holder.isdigit() else ""
            raise BsxError(
                f"{out}: another {command} run is writing there{by}; wait for it to finish "
                "or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock

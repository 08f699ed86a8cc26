"""Internal errors (bsx's own bugs): the traceback kept in a log file a user can attach to a
report, instead of printed at them or lost. Bad input is a BsxError, never logged here."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

REPORT_TO = "the bsx maintainers (an issue on the bsx repository)"
LOG_PREFIX = "bsx-error-"


def out_folder(argv: Sequence[str]) -> Path | None:
    """The --out folder named on a command line, if any."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--out" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--out="):
            value = arg.split("=", 1)[1]
        if value:
            return Path(value).expanduser()
    return None


def log_folders(out: Path | None) -> list[Path]:
    """Where a traceback may go, first choice first: the run's --out, the bsx cache, a temp dir."""
    from bsx.paths import cache_dir

    found = []
    if out is not None:
        try:  # the run's own folder, made if the bug struck before the run made it
            out.mkdir(parents=True, exist_ok=True)
            found.append(out)
        except OSError:  # a file of that name, or no permission: the next folder
            pass
    try:
        found.append(cache_dir("logs"))
    except OSError:  # an unwritable home or $BSX_CACHE_DIR: the temp dir still works
        pass
    found.append(Path(tempfile.gettempdir()))
    return found


def keep_traceback(
    exc: BaseException, out: Path | None = None, argv: Sequence[str] | None = None
) -> Path | None:
    """Write exc's full traceback (with the command line and versions) to a new log file in
    the first writable folder of log_folders(out); its path, or None when none is writable."""
    from bsx import __version__

    argv = list(sys.argv if argv is None else argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = "".join(
        [
            f"bsx {__version__}, Python {platform.python_version()}, {platform.platform()}\n",
            f"command: {' '.join(argv)}\n\n",
            *traceback.format_exception(exc),
        ]
    )
    for folder in log_folders(out):
        path = folder / f"{LOG_PREFIX}{stamp}-{os.getpid()}.log"
        try:
            path.write_text(text)
        except OSError:  # try the next folder
            continue
        return path
    return None


def internal_error_lines(exc: BaseException, log: Path | None) -> list[str]:
    """What the CLI prints for an internal error: the short message and where the log is."""
    detail = " ".join(str(exc).split())
    first = f"bsx hit an internal error: {type(exc).__name__}" + (f": {detail}" if detail else "")
    if log is None:
        return [
            first,
            f"(the traceback could not be written anywhere; please report this "
            f"command and message to {REPORT_TO})",
        ]
    return [
        first,
        f"the traceback is kept in {log}; this is a bug in bsx or a plugin, "
        f"please report it to {REPORT_TO} with that file attached",
    ]

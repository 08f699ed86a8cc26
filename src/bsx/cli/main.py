"""The `bsx` command: Typer app, sub-apps per noun, one place that turns BsxError into exit 2."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bsx import __version__
from bsx.cli import plugins as plugins_cli
from bsx.cli.console import err
from bsx.errors import BsxError

app = typer.Typer(
    name="bsx",
    help="bsx (beyond saliency, explained): evaluate SER explanation methods against "
    "expert-referenced acoustic cues.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(plugins_cli.app, name="plugins")


def _version(value: bool) -> None:
    if value:
        print(f"bsx {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """bsx: beyond saliency, explained."""


def _load_commands() -> None:
    """Attach each command module that exists; each owns its own command(s)."""
    import importlib

    for mod in ("data", "synth", "train", "explain", "cues", "evaluate", "leaderboard"):
        try:
            module = importlib.import_module(f"bsx.cli.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bsx.cli.{mod}":
                continue
            raise
        module.attach(app)


_load_commands()


def _interrupted(exc: BaseException) -> bool:
    """Whether an exit was caused by Ctrl-C (Typer turns KeyboardInterrupt into exit 130)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def internal_error(exc: BaseException) -> None:
    """A bug (anything not a BsxError): a short message, the traceback kept in a log file
    (under --out when the run has one) and where it is; exit 1."""
    from bsx.crash import internal_error_lines, keep_traceback, out_folder

    log = keep_traceback(exc, out_folder(sys.argv[1:]))
    for line in internal_error_lines(exc, log):
        err.print(line, highlight=False, soft_wrap=True, markup=False)
    sys.exit(1)


def run() -> None:
    """Console entry point: bad input is one sentence on stderr and exit code 2; Ctrl-C keeps
    what was written and says so (exit 130); a bug is a short message and a kept traceback
    (exit 1)."""
    from bsx.errors import install_warning_lines

    install_warning_lines()
    try:
        app()
    except BsxError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted; results written so far are kept")
        sys.exit(130)
    except SystemExit as exc:
        if _interrupted(exc):
            err.print("interrupted; results written so far are kept")
            sys.exit(130)
        raise
    except Exception as exc:  # a bug: said in two lines, its traceback kept (bsx.crash)
        internal_error(exc)

"""Shared rich consoles: results to stdout, messages and progress to stderr (the library's
own stderr console, bsx.progress.stderr, so its bars and the CLI's lines share one)."""

from rich.console import Console

from bsx.progress import stderr

out = Console()
err = stderr()

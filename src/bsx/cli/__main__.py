"""`python -m bsx.cli` runs the bsx command."""

from bsx.cli.main import run

run()

"""Built-in cues, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl


@hookimpl
def register_cues(register):  # type: ignore[no-untyped-def]
    """Built-in cues are added here as they land."""

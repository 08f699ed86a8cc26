"""Built-in methods, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl


@hookimpl
def register_methods(register):  # type: ignore[no-untyped-def]
    """Built-in methods are added here as they land."""

"""Built-in datasets, registered through the same hook as third-party plugins."""

from bsx.hookspecs import hookimpl


@hookimpl
def register_datasets(register):  # type: ignore[no-untyped-def]
    """Built-in datasets are added here as they land."""

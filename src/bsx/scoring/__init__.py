"""bsx's own metrics register here, through the same hook as a plugin's."""

from bsx.hookspecs import hookimpl


@hookimpl
def register_metrics(register):  # type: ignore[no-untyped-def]
    from bsx.scoring.specs import METRICS

    for spec in METRICS.values():
        register(spec)

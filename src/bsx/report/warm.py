"""Import and prime what the evaluate tail needs before it needs it.

A fresh `bsx evaluate` ends with statistics, figures and the report. Their imports (pandas'
parquet, scipy.stats, matplotlib and its font cache) cost seconds in a fresh process, and in
the tail they sat on the critical path: the cue workers paid them before their first figure,
this process before its first table. The run calls warm() in a thread while its batch loop
mostly waits for the cue workers, and hands each worker one warm() once its last cue batch is
queued (the workers idle while the last batches are attributed).
"""

from __future__ import annotations

import importlib
import io

TAIL_MODULES = (
    "pyarrow.parquet", "scipy.stats", "bsx.scoring.stats", "bsx.scoring.claims",
    "bsx.report.posthoc", "bsx.report.summary", "bsx.report.figures",
    "bsx.report.explain_figures", "bsx.report.html",
)


def warm() -> None:
    """Import TAIL_MODULES and draw one tiny figure (loads matplotlib's fonts). Never raises:
    it only saves time, and the tail reports any real import problem itself."""
    try:
        _warm()
    except Exception:  # noqa: BLE001 - an optimisation must not fail a run
        return


def _warm() -> None:
    for name in TAIL_MODULES:
        importlib.import_module(name)
    from bsx.report.figures import _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_title("warm")
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)

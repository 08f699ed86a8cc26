"""The evaluate pass's speed tricks, each one switchable so benchmarks can say what it buys.

- early: plan from the checkpoint's JSON sidecar and feed the cue workers before torch is
  imported (bsx.evaluation.plan.early_start);
- shared: a method that can predicts and explains in one forward pass (SharesForward);
- nhwc: channels-last convolutions on the CPU for models that declare channels_last_ok;
- beside: the tail's figures and statistics run in the idle cue workers;
- asserts: Quantus' attribution check with its per-bin Python set vectorised
  (bsx.scoring.quantus_asserts).
BSX_TRICKS_OFF=early,shared (say) turns tricks off; results are the same either way (tests
check early, shared and asserts), only the time differs. For benchmarks, not for users.
"""

from __future__ import annotations

import os

TRICKS = ("early", "shared", "nhwc", "beside", "asserts")


def enabled(trick: str) -> bool:
    """False when BSX_TRICKS_OFF names the trick (or says 'all')."""
    off = {t.strip() for t in os.environ.get("BSX_TRICKS_OFF", "").split(",") if t.strip()}
    return trick not in off and "all" not in off

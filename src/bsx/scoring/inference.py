"""The one inference rule of bsx: how an estimate with its interval and test becomes a verdict.

Used by the claims, the summary's margins over random, the report and the leaderboard, so no
two places can word the same numbers differently. The rule, stated once:

- The interval and the test come from the same resampling unit: the speaker when clips carry
  speaker ids (two-stage clustered bootstrap CI, cluster sign-flip test; bsx.scoring.stats),
  else the clip.
- A test across K units cannot reach p < 2 / 2^K (the smallest sign-flip p), so with fewer
  than `min_units()` units (6 at alpha = 0.05) the comparison *cannot be tested*: the verdict
  says so, and reports the effect as a description of these units only.
- "better" / "worse" needs both: the FDR-adjusted p below alpha and the 95% CI on the same side
  of 0. Anything else is "not shown", and the words say which of the two failed, so a verdict
  can never contradict the interval printed beside it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from bsx.scoring.stats import Estimate

ALPHA = 0.05
Status = Literal["better", "worse", "not shown", "untestable"]
STATUS_WORDS: dict[str, str] = {"better": "better", "worse": "worse", "not shown": "not shown",
                                "untestable": "cannot be tested"}


def min_units(alpha: float = ALPHA) -> int:
    """The fewest independent units (speakers) with which a two-sided sign-flip test can
    reach p < alpha: the smallest K with 2 / 2^K < alpha (6 at 0.05)."""
    k = 1
    while 2.0 / 2**k >= alpha:
        k += 1
    return k


@dataclass(frozen=True)
class Verdict:
    """What an estimate shows. `reason` says why it is untestable or not shown ('' when
    better / worse)."""

    status: Status
    reason: str

    @property
    def decided(self) -> bool:
        return self.status in ("better", "worse")

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def unit_word(e: Estimate) -> str:
    """'speaker' when clips were clustered (fewer units than clips), else 'clip'."""
    return "speaker" if 0 < e.n_clusters < e.n else "clip"


def judge(e: Estimate, p_adjusted: float, *, alpha: float = ALPHA,
          missing: str = "no values to compare", unit: str | None = None) -> Verdict:
    """The verdict on an effect (positive = better) from its CI and its adjusted p-value.

    `missing`: the reason given when the estimate holds no effect at all; `unit`: what the
    clusters are, when the caller knows (default: speakers when clips were clustered)."""
    if not math.isfinite(e.effect):
        return Verdict("untestable", missing)
    need = min_units(alpha)
    unit = unit or unit_word(e)
    if e.n_clusters < need:
        return Verdict("untestable",
                       f"{e.n_clusters} {unit}(s); a test across {unit}s needs at least {need} "
                       f"(with K {unit}s the smallest sign-flip p is 2/2^K)")
    if not math.isfinite(p_adjusted):
        return Verdict("untestable", missing)
    significant = p_adjusted < alpha
    above = math.isfinite(e.ci_low) and e.ci_low > 0
    below = math.isfinite(e.ci_high) and e.ci_high < 0
    if significant and e.effect > 0 and above:
        return Verdict("better", "")
    if significant and e.effect < 0 and below:
        return Verdict("worse", "")
    if significant:
        return Verdict("not shown", f"p_FDR < {alpha:g} but the 95% CI includes 0")
    if above or below:
        return Verdict("not shown", f"the 95% CI excludes 0 but p_FDR >= {alpha:g} across "
                                    f"{e.n_clusters} {unit}s")
    return Verdict("not shown", "the 95% CI includes 0")


def fmt_estimate(e: Estimate, unit: str = "") -> str:
    """'+0.785 SD, 95% CI [+0.532, +1.049], n = 30 clips / 1 speakers': one number format."""
    u = f" {unit}" if unit else ""
    return (f"{e.effect:+.3f}{u}, 95% CI [{e.ci_low:+.3f}, {e.ci_high:+.3f}], "
            f"n = {e.n} clips / {e.n_clusters} {unit_word(e)}s")


def sentence(subject: str, v: Verdict, e: Estimate, p_adjusted: float, *, better: str,
             worse: str, unit: str = "") -> str:
    """One sentence that states the verdict and the numbers it rests on, never contradicting
    them. `better` / `worse`: what 'better' and 'worse' mean here, e.g. 'beats random, its
    salient windows move the expected cues more than random windows'."""
    stats = fmt_estimate(e, unit)
    if v.status == "untestable":
        if not math.isfinite(e.effect):
            return f"{subject}: cannot be tested here ({v.reason})."
        return (f"{subject}: cannot be tested here ({v.reason}); within these "
                f"{unit_word(e)}s the effect is {stats}.")
    p = f", p_FDR = {p_adjusted:.3g}"
    if v.status == "better":
        return f"{subject}: {better} ({stats}{p})."
    if v.status == "worse":
        return f"{subject}: {worse} ({stats}{p})."
    return f"{subject}: not shown, {v.reason} ({stats}{p})."

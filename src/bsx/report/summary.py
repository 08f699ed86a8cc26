"""Summaries of an evaluate run: model accuracy beside every explanation score, per-method
means with speaker-clustered bootstrap confidence intervals, split by correctly and wrongly
classified clips; per emotion x cue agreement with FDR-controlled tests; the paper's three
claims (bsx.scoring.claims)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bsx.scoring.inference import STATUS_WORDS, judge
from bsx.scoring.specs import role_of
from bsx.scoring.stats import Estimate, bootstrap_ci, cluster_codes, fdr, paired_difference


def model_scores(clips: pd.DataFrame) -> dict[str, Any]:
    """Accuracy and unweighted average recall of the model on the evaluated clips."""
    if clips.empty:
        return {"n": 0, "accuracy": float("nan"), "uar": float("nan")}
    recalls = (clips["pred"] == clips["label"]).groupby(clips["label"]).mean()
    return {"n": int(len(clips)), "accuracy": float((clips["pred"] == clips["label"]).mean()),
            "uar": float(recalls.mean()), "per_class_recall": recalls.to_dict()}


BASELINE = "random"


def metric_table(results: pd.DataFrame) -> pd.DataFrame:
    """Per method x cue set x metric x reference: mean, speaker-clustered bootstrap CI, n,
    n_speakers, dropped (NaN), by correctness; and where the run holds the random baseline,
    the margin over it paired by clip (vs_random_*; see vs_random)."""
    if results.empty:
        return pd.DataFrame()
    scored = results[~results["metric"].str.startswith("time-")]
    rows = []
    keys = ["method", "cues", "metric", "against"]
    for key, g in scored.groupby(keys, dropna=False):
        v = g["value"].to_numpy(dtype=float)
        spk = g["speaker"].to_numpy() if "speaker" in g else None
        lo, hi = bootstrap_ci(v, clusters=spk)
        ok = np.isfinite(v)
        row = dict(zip(keys, key, strict=True))
        row.update(direction=g["direction"].iloc[0], category=g["category"].iloc[0],
                   role=role_of(str(key[2]), str(g["category"].iloc[0])),
                   mean=float(np.nanmean(v)) if np.isfinite(v).any() else float("nan"),
                   ci_low=lo, ci_high=hi, n=int(ok.sum()),
                   n_speakers=int(np.unique(cluster_codes(spk, len(v))[ok]).size),
                   dropped=int((~np.isfinite(v)).sum()))
        for flag, name in ((True, "correct"), (False, "wrong")):
            sub = g.loc[g["correct"] == flag, "value"].to_numpy(dtype=float)
            row[f"mean_{name}"] = float(np.nanmean(sub)) if np.isfinite(sub).any() else None
            row[f"n_{name}"] = int(np.isfinite(sub).sum())
        rows.append(row)
    table = pd.DataFrame(rows)
    margins = vs_random(scored)
    if margins.empty:
        return table
    for col in ("cues", "against"):
        table[col] = table[col].fillna("")
    return table.merge(margins, on=keys, how="left")


def vs_random(scored: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Each method's margin over the baseline method of the same run, paired by clip (signed
    so that positive = better, by the metric's direction): mean difference, speaker-clustered
    95% CI, cluster sign-flip p, its Benjamini-Hochberg adjustment over the table, and the
    verdict of the one inference rule (bsx.scoring.inference: status better / worse / not
    shown / untestable, and the reason)."""
    keys = ["method", "cues", "metric", "against"]
    cols = ["vs_random", "vs_random_ci_low", "vs_random_ci_high", "vs_random_p",
            "vs_random_p_fdr", "vs_random_n", "vs_random_n_clusters", "vs_random_status",
            "vs_random_reason"]
    if scored.empty or baseline not in set(scored["method"]) or "clip_id" not in scored:
        return pd.DataFrame(columns=[*keys, *cols])
    df = scored.assign(cues=scored["cues"].fillna(""), against=scored["against"].fillna(""))
    if "speaker" not in df:
        df = df.assign(speaker=None)
    rows = []
    for (cues, metric, against), g in df.groupby(["cues", "metric", "against"], sort=False):
        per = g.groupby(["method", "clip_id"], sort=False).agg(
            value=("value", "mean"), speaker=("speaker", "first"))
        if baseline not in per.index.get_level_values(0):
            continue
        base = per.loc[baseline]
        sign = -1.0 if g["direction"].iloc[0] == "lower" else 1.0
        for method in per.index.get_level_values(0).unique():
            if method == baseline:
                continue
            both = per.loc[method].merge(base, left_index=True, right_index=True,
                                         suffixes=("", "_base"))
            e = paired_difference(sign * both["value"].to_numpy(dtype=float),
                                  sign * both["value_base"].to_numpy(dtype=float),
                                  both["speaker"].to_numpy())
            rows.append({"method": method, "cues": cues, "metric": metric,
                         "against": against, "vs_random": e.effect,
                         "vs_random_ci_low": e.ci_low, "vs_random_ci_high": e.ci_high,
                         "vs_random_p": e.p, "vs_random_n": e.n,
                         "vs_random_n_clusters": e.n_clusters})
    out = pd.DataFrame(rows, columns=[*keys, *cols])
    out["vs_random_p_fdr"] = fdr(out["vs_random_p"].to_numpy(dtype=float))
    verdicts = [judge(Estimate(r.vs_random, r.vs_random_ci_low, r.vs_random_ci_high,
                               r.vs_random_p, int(r.vs_random_n), int(r.vs_random_n_clusters)),
                      r.vs_random_p_fdr) for r in out.itertuples()]
    out["vs_random_status"] = [v.status for v in verdicts]
    out["vs_random_reason"] = [v.reason for v in verdicts]
    return out


ROLE_WORDS = {"faithfulness": "faithfulness", "plausibility": "cue plausibility",
              "ground-truth": "ground truth", "reliability": "reliability"}


def score_label(r: Any) -> str:
    """'metric vs against [cues]': one score of the metric table, named once."""
    against = str(r.get("against") or "")
    cues = str(r.get("cues") or "")
    return (str(r["metric"]) + (f" vs {against}" if against else "")
            + (f" [{cues}]" if cues else ""))


def evidence_by_method(table: pd.DataFrame) -> dict[str, dict[str, dict[str, list[str]]]]:
    """Per method, role and verdict against random: the score labels (vs_random_status of
    the one inference rule, bsx.scoring.inference).

    Roles say what a score can show (bsx.scoring.specs.role_of): faithfulness, cue
    plausibility, ground truth and reliability are evidence; map-shape descriptions
    (sparseness, complexity) sit under "description" and never count as evidence, since any
    structured map wins them against a uniform noise map."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    if table.empty or BASELINE not in set(table["method"]) or "vs_random_status" not in table:
        return out
    for _, r in table[table["method"] != BASELINE].iterrows():
        status = r.get("vs_random_status")
        if not isinstance(status, str):
            continue
        role = r.get("role")
        if not isinstance(role, str):
            role = role_of(str(r["metric"]), str(r.get("category", "")))
        by_role = out.setdefault(str(r["method"]), {})
        by_role.setdefault(role, {}).setdefault(status, []).append(score_label(r))
    return out


def headline(method: str, by_role: dict[str, dict[str, list[str]]]) -> str:
    """The first sentence about a method: its evidence against random by role, then the
    map-shape descriptions named as such."""
    parts = []
    for role, word in ROLE_WORDS.items():
        v = by_role.get(role)
        if not v:
            continue
        n = sum(len(x) for x in v.values())
        rest = [f"{STATUS_WORDS[s]} on {len(v[s])}" for s in ("worse", "not shown",
                                                               "untestable") if v.get(s)]
        parts.append(f"{word} better than random on {len(v.get('better', []))} of {n}"
                     + (f" ({', '.join(rest)})" if rest else ""))
    text = f"{method}, evidence: " + ("; ".join(parts) if parts
                                      else "no evidence score in this run")
    desc = by_role.get("description")
    if desc:
        names = sorted(x for xs in desc.values() for x in xs)
        text += (". Map-shape descriptions, not evidence (any structured map wins them): "
                 + ", ".join(names))
    return text + "."


def timing_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per clip of each stage and metric, per method."""
    if results.empty:
        return pd.DataFrame()
    return (results.groupby(["method", "metric"])["seconds"].mean().rename("seconds_per_clip")
            .reset_index())


def agreement_summary(agree: pd.DataFrame) -> list[dict[str, Any]]:
    """Dataset-level agreement per method x cue set, for all, correctly and wrongly classified
    clips (speaker-clustered bootstrap CIs and cluster sign-flip tests: the costly part of a
    summary, so the engine runs it in a spare worker). p_fdr: Benjamini-Hochberg over the
    emotion x cue x method x cue-set tests of each clip subset (all / correct / wrong)."""
    if agree.empty:
        return []
    from bsx.scoring.agreement import dataset_agreement

    per_method = []
    for (method, cues), g in agree.groupby(["method", "cues"]):
        for correct in (None, True, False):
            sub = g if correct is None else g[g["correct"] == correct]
            if sub.empty:
                continue
            da = dataset_agreement(sub)
            da.insert(0, "clips", {None: "all", True: "correct", False: "wrong"}[correct])
            da.insert(0, "cues", cues)
            da.insert(0, "method", method)
            per_method.append(da)
    if not per_method:
        return []
    table = pd.concat(per_method, ignore_index=True)
    table["p_fdr"] = np.nan
    for _, idx in table.groupby("clips").groups.items():
        table.loc[idx, "p_fdr"] = fdr(table.loc[idx, "p_value"].to_numpy(dtype=float))
    return table.replace({np.nan: None}).to_dict(orient="records")  # type: ignore[no-any-return]


def summarise(tables: dict[str, pd.DataFrame], *, cfg: Any, metrics: dict[str, Any],
              skipped: list[tuple[str, str]], expert: Any = None,
              agreement_rows: list[dict[str, Any]] | None = None,
              claim_rows: list[dict[str, Any]] | None = None,
              training: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary.json of a run. `agreement_rows` / `claim_rows`: agreement_summary /
    claims_summary of tables["agreement"] when the caller computed them already (e.g. in a
    spare worker); computed here otherwise. `training`: what is known of the checkpoint's
    training clips (evaluation.run.training_data); its warning is recorded and the claim on
    misclassified clips repeats it."""
    results, clips = tables["results"], tables["clips"]
    agree = tables.get("agreement", pd.DataFrame())
    table = metric_table(results)
    out: dict[str, Any] = {
        "model": model_scores(clips),
        "n_clips": int(len(clips)),
        "skipped": [{"clip_id": c, "reason": r} for c, r in skipped],
        "metrics": table.replace({np.nan: None}).to_dict(orient="records"),
        "timing": (tables["timings"] if not tables.get("timings", pd.DataFrame()).empty
                   else timing_table(results)).to_dict(orient="records"),
    }
    evidence = evidence_by_method(table)
    if evidence:
        out["headline"] = {m: headline(m, by_role) for m, by_role in evidence.items()}
    if not clips.empty and "label" in clips:
        from bsx.scoring.claims import arousal_groups

        out["arousal_groups"] = arousal_groups(
            str(getattr(cfg, "dataset", "")), clips["label"].astype(str).tolist(),
            clips["target"].astype(str).tolist() if "target" in clips else None)
    windows = tables.get("windows")
    if windows is not None and not windows.empty:
        from bsx.evaluation.salient import window_shares

        out["window_shares"] = _json_safe_nested(window_shares(windows))
    if agreement_rows is None:
        agreement_rows = agreement_summary(agree)
    if agreement_rows:
        out["dataset_agreement"] = agreement_rows
    if claim_rows is None and not agree.empty:
        from bsx.scoring.claims import claims_summary

        claim_rows = claims_summary(agree)
    if training is not None:
        out["training_data"] = training
    if claim_rows:
        if training is not None and training.get("warning"):
            from bsx.scoring.claims import with_training_caveat

            claim_rows = with_training_caveat(claim_rows)
        out["claims"] = _json_safe(claim_rows)
    return out


def _json_safe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NaN -> None, so summary.json stays valid JSON."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in rows]


def _json_safe_nested(by: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """NaN -> None one level down ({method: {field: value}})."""
    return {k: _json_safe([v])[0] for k, v in by.items()}

"""report.html: a research report of one evaluate run, in one self-contained file.

Read top to bottom: a plain-language summary (the model's accuracy and UAR, which methods beat
the random baseline on which scores, the claims answered), the figures, the scores table
(methods side by side), what each metric means (direction and reference, from the metric
specs), examples (the best, median and worst clip of each method with its spectrogram, salient
windows and audio players for the clip and its listenable explanation), then the long tables
folded in <details>. Figures and audio are embedded as data URIs: the file opens offline and
can be mailed. What summary.json does not hold is read from the run's own files
(results.parquet, windows.csv, clips.csv, config.json).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bsx.report.numbers import DECIMALS, mean_ci, num
from bsx.report.palette import RANDOM, method_colour
from bsx.report.summary import score_label
from bsx.scoring.inference import STATUS_WORDS

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;
 background:#fafafa;line-height:1.5}
main{max-width:1100px;margin:0 auto;padding:1.5em 1.5em 4em;background:#fff}
h1{font-size:1.7em;margin:.2em 0}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.92em}
.warn{background:#fff4e5;border-left:4px solid #e69f00;padding:.5em .9em;margin:.6em 0}
.summary{background:#f1f6fb;border-left:4px solid #0072b2;padding:.6em 1em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:.4em 0}
td,th{border:1px solid #d5d5d5;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto}
figure{margin:1em 0}figcaption{font-size:.9em;color:#444}
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em;
 vertical-align:middle}
.examples{display:grid;grid-template-columns:1fr;gap:1em}
.example{border:1px solid #ddd;border-radius:6px;padding:.6em;min-width:0}
.example h4{margin:.1em 0 .3em}
audio{width:100%;max-width:100%}
pre{white-space:pre-wrap;word-break:break-word;font-size:12px;background:#f6f6f6;padding:.6em}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
.better{color:#006d43}.worse{color:#a23b00}
"""

# Which score picks a method's best / median / worst example, first one present wins.
EXAMPLE_SCORES: tuple[tuple[str, str], ...] = (
    ("gt-precision", "planted"), ("cue-agreement-rest", ""),
    ("relevance-mass-accuracy", "expert-cues"), ("region-perturbation", ""),
)
AUDIO_SR = 16000  # audio embedded at 16 kHz, 16 bit: ~45 KB of base64 per second


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(v: Any, digits: int = DECIMALS) -> str:
    """A float to `digits` decimals (scores: bsx.report.numbers.DECIMALS); other values
    escaped as they are."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.{digits}f}" if isinstance(v, float | np.floating) else _e(v)


def _img(path: Path | None, alt: str) -> str:
    if path is None or not Path(path).is_file():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _fig_uri(fig: Any, dpi: int | None = None) -> str:
    """The figure as a PNG data URI, at its own dpi unless given."""
    from bsx.report.figures import _plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi if dpi is not None else fig.dpi)
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def wav_uri(y: np.ndarray, sr: int) -> str:
    """A 16-bit mono WAV of y as a data URI for <audio>."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(y, -1, 1).astype(np.float32), sr, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


def _table(df: pd.DataFrame, numeric: Sequence[str] = ()) -> str:
    """A plain HTML table in a horizontally scrolling box (the page itself never scrolls)."""
    if df.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, rec, strict=True):
            if col in numeric or isinstance(v, float | np.floating):
                cells.append(f'<td class="num">{_num(v)}</td>')
            else:
                cells.append(f"<td>{v if str(col).startswith('_html') else _e(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def summary_section(summary: dict[str, Any], table: pd.DataFrame, config: dict[str, Any]
                    ) -> str:
    """The plain-language summary: model quality, methods against random by what each score
    can show (evidence first), claims."""
    from bsx.report.summary import evidence_by_method, headline
    from bsx.scoring.inference import min_units

    m = summary.get("model", {})
    labels = config.get("labels") or []
    chance = f"; chance is {1 / len(labels):.2f} with {len(labels)} classes" if labels else ""
    acc, uar = m.get("accuracy"), m.get("uar")
    parts = [f"<p>The model classified <b>{summary.get('n_clips', 0)}</b> clips with accuracy "
             f"<b>{_num(acc, 2)}</b> and unweighted average recall (UAR) <b>{_num(uar, 2)}</b>"
             f"{chance}.</p>"]
    if summary.get("task") == "regression":  # a dimension: no classes (report.dimensional)
        from bsx.report.dimensional import model_line

        parts = [model_line(summary)]
    verdicts = evidence_by_method(table)
    if not verdicts:
        parts.append("<p>This run has no random baseline, so no score can be read as better "
                     "than chance; add <code>--method random</code>.</p>")
    else:
        parts.append(f"<p class='meta'>Better or worse than random means both: the "
                     f"Benjamini-Hochberg adjusted p of the speaker sign-flip test below 0.05 "
                     f"and the speaker-clustered 95% CI of the paired margin on the same side "
                     f"of 0. With fewer than {min_units()} speakers no such test can pass, so "
                     f"a comparison is reported as cannot be tested.</p>")
    for method, by_role in verdicts.items():
        dot = f'<span class="swatch" style="background:{method_colour(method)}"></span>'
        parts.append(f"<p>{dot}{_e(headline(method, by_role))}</p>")
    if verdicts:
        parts.append(f"<details><summary>Every score against random</summary>"
                     f"{_table(versus_random_table(verdicts))}</details>")
    parts.append(controls_html(summary))
    from bsx.report.dimensional import dimensional_html

    parts.append(dimensional_html(summary))
    parts.append(claims_html(summary.get("claims") or []))
    return '<section class="summary"><h2>Summary</h2>' + "".join(parts) + "</section>"


def controls_html(summary: dict[str, Any]) -> str:
    """Where each method's windows fall (padding / pauses / speech: a fair random control
    keeps padding near 0) and the arousal grouping claim (b) uses, with n per group."""
    parts = []
    shares = summary.get("window_shares") or {}
    if shares:
        rows = [{"method": m, "padding": _pct(v.get("padding")), "pauses": _pct(v.get("pauses")),
                 "speech": _pct(v.get("speech")), "windows": v.get("n_windows", ""),
                 "clips": v.get("n_clips", "")} for m, v in shares.items()]
        parts.append("<p class='meta'>Share of each method's salient-window time in the "
                     "front-end's padding, in pauses inside the content, and in speech.</p>"
                     + _table(pd.DataFrame(rows)))
    grouping = summary.get("arousal_groups")
    if grouping:
        from bsx.scoring.claims import arousal_line

        parts.append(f"<p class='meta'>{_e(arousal_line(grouping))}.</p>")
    return "".join(parts)


def _pct(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.1%}"


def versus_random_table(verdicts: dict[str, dict[str, dict[str, list[str]]]]) -> pd.DataFrame:
    """Score x method: the verdict against random, with the score's role."""
    cells: dict[str, dict[str, str]] = {}
    for method, by_role in verdicts.items():
        for role, by_status in by_role.items():
            for status, scores in by_status.items():
                for score in scores:
                    row = cells.setdefault(score, {"role": role})
                    row[method] = STATUS_WORDS[status]
    return pd.DataFrame([{"score": score, **row} for score, row in cells.items()]).fillna("")


def claims_html(claims: list[dict[str, Any]]) -> str:
    """The claims answered (summary["claims"]): per claim its title and effect measure once,
    then one row per method x cue set with the effect, its 95% CI, p, FDR-adjusted p, n and
    the one-sentence verdict."""
    if not claims:
        return ""
    parts = ["<h3>Claims</h3>"]
    by: dict[str, list[dict[str, Any]]] = {}
    for c in claims:
        by.setdefault(str(c.get("claim", "?")), []).append(c)
    for letter, rows in by.items():
        first = rows[0]
        parts.append(f"<p><b>Claim {_e(letter)}: {_e(first.get('title', ''))}</b><br>"
                     f"<span class='meta'>effect: {_e(first.get('effect_name', ''))}</span></p>")
        table = pd.DataFrame([{
            "method": c.get("method", ""), "cues": c.get("cues", ""),
            "effect [95% CI]": mean_ci(c.get("effect"), c.get("ci_low"), c.get("ci_high")),
            "p": _num(c.get("p")), "p (FDR)": _num(c.get("p_fdr")),
            "n clips (clusters)": f"{c.get('n', '–')} ({c.get('n_clusters', '–')})",
            "verdict": c.get("verdict", ""),
        } for c in rows])
        parts.append(_table(table))
    return "".join(parts)


def warnings_section(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """Warning boxes: model trained on another corpus, skipped clips."""
    from bsx.honesty import domain_warning

    out = []
    trained = (config.get("checkpoint") or {}).get("trained_on")
    dataset = (config.get("config") or {}).get("dataset")
    if trained and dataset:
        w = domain_warning({"dataset": trained}, str(dataset))
        if w:
            out.append(f'<div class="warn">Warning: {_e(w)}.</div>')
    for w in summary.get("warnings") or []:
        out.append(f'<div class="warn">Warning: {_e(w)}</div>')
    training = (summary.get("training_data") or {}).get("warning")
    if training:
        out.append(f'<div class="warn">Warning: {_e(training)}</div>')
    skipped = summary.get("skipped") or []
    if skipped:
        out.append(f'<div class="warn">{len(skipped)} clips were skipped (listed at the end).'
                   "</div>")
    return "".join(out)


def scores_table(table: pd.DataFrame) -> pd.DataFrame:
    """Methods side by side: one row per score, one column per method (mean [95% CI])."""
    if table.empty:
        return pd.DataFrame()
    t = table.copy()
    t["score"] = [score_label(r) for _, r in t.iterrows()]
    t["dir"] = t["direction"].map({"higher": "↑", "lower": "↓"}).fillna("")
    t["cell"] = [mean_ci(r["mean"], r["ci_low"], r["ci_high"]) for _, r in t.iterrows()]
    wide = t.pivot_table(index=["category", "score", "dir"], columns="method", values="cell",
                         aggfunc="first", sort=False).reset_index()
    wide.columns.name = None
    return wide.fillna("")


def definitions_table(table: pd.DataFrame) -> pd.DataFrame:
    """What each metric of the run measures, which way is better, and where it comes from."""
    from bsx.scoring.specs import metric_specs

    specs = metric_specs()  # the plugins' metrics too
    rows = []
    for name in dict.fromkeys(table["metric"]) if not table.empty else []:
        spec = specs.get(str(name))
        if spec is None:
            continue
        rows.append({"metric": spec.name, "category": spec.category,
                     "better": f"{spec.direction} is better", "unit": spec.unit,
                     "definition": spec.definition,
                     "reference": spec.reference})
    return pd.DataFrame(rows)


def pick_examples(results: pd.DataFrame) -> dict[str, tuple[str, list[tuple[str, Any, float]]]]:
    """Per method: the score used and [(which, clip row, value)] for its best, median and
    worst clip by that score (direction-aware)."""
    out: dict[str, tuple[str, list[tuple[str, Any, float]]]] = {}
    if results.empty:
        return out
    for method, g in results.groupby("method", sort=False):
        for metric, against in EXAMPLE_SCORES:
            sel = g[(g["metric"] == metric) & (g["against"].fillna("") == against)]
            if "cues" in sel and metric.startswith("cue-agreement"):
                first = sel["cues"].dropna()
                sel = sel[sel["cues"] == first.iloc[0]] if len(first) else sel
            sel = sel[np.isfinite(sel["value"].to_numpy(dtype=float))]
            if sel.empty:
                continue
            lower = sel["direction"].iloc[0] == "lower"
            s = sel.sort_values("value", ascending=lower, kind="stable").reset_index(drop=True)
            picks = [("best", s.iloc[0]), ("median", s.iloc[len(s) // 2]),
                     ("worst", s.iloc[-1])]
            label = metric + (f" vs {against}" if against else "")
            out[str(method)] = (label, [(w, r, float(r["value"])) for w, r in picks])
            break
    return out


def _example_html(out_dir: Path, method: str, which: str, row: Any, value: float,
                  windows: pd.DataFrame) -> str:
    from bsx.audio import load_audio
    from bsx.report.explain_figures import clip_spectrogram_figure, listenable
    from bsx.windows import Window

    path = Path(str(row["path"]))
    head = (f"<h4>{_e(which)}: {_e(path.name)}</h4><div class='meta'>label {_e(row['label'])}, "
            f"predicted {_e(row['pred'])}; score {num(value)}</div>")
    if not path.is_file():
        return f"<div class='example'>{head}<p>(audio file not found)</p></div>"
    y, _ = load_audio(path, AUDIO_SR)
    w = windows[(windows["clip_id"] == row["clip_id"]) & (windows["method"] == method)]
    wins = [Window(0, 0, float(a), float(b), 0.0, float(s))
            for a, b, s in zip(w["start_s"], w["end_s"], w["share"], strict=True)]
    fig = clip_spectrogram_figure(y, AUDIO_SR, wins, title=f"{method}: salient windows")
    spans = ", ".join(f"{x.start_s:.2f}-{x.end_s:.2f} s" for x in wins) or "none"
    heard = wav_uri(listenable(y, AUDIO_SR, wins), AUDIO_SR)
    return (f"<div class='example'>{head}<img src='{_fig_uri(fig)}' alt='spectrogram of "
            f"{_e(path.name)} with salient windows'><div class='meta'>windows: {_e(spans)}</div>"
            f"<div>clip</div><audio controls preload='none' src='{wav_uri(y, AUDIO_SR)}'>"
            "</audio><div>what the model used (outside the windows -20 dB)</div>"
            f"<audio controls preload='none' src='{heard}'>"
            "</audio></div>")


def examples_section(out_dir: Path) -> str:
    """Best, median and worst clip of each method, from results.parquet and windows.csv."""
    res_path, win_path = out_dir / "results.parquet", out_dir / "windows.csv"
    if not res_path.is_file() or not win_path.is_file():
        return ""
    results = pd.read_parquet(res_path)
    windows = pd.read_csv(win_path)
    picks = pick_examples(results)
    if not picks:
        return ""
    parts = ["<h2>Examples</h2><p>For each method, the clips with the best, median and worst "
             "score, one per row: the log-mel spectrogram of the original file (frequency in "
             "Hz, mel-spaced; time in seconds) with the salient windows outlined (dashed "
             "cyan, ranked #1 = most relevant), then the clip and its listenable "
             "explanation.</p>"]
    for method, (label, rows) in picks.items():
        dot = f'<span class="swatch" style="background:{method_colour(method)}"></span>'
        parts.append(f"<h3>{dot}{_e(method)} <span class='meta'>(by {_e(label)})</span></h3>"
                     "<div class='examples'>")
        parts += [_example_html(out_dir, method, which, row, value, windows)
                  for which, row, value in rows]
        parts.append("</div>")
    return "".join(parts)


def _figure_block(path: Path | None, has_random: bool) -> str:
    """One figure with a caption that says what it draws (the random line only when drawn)."""
    from bsx.report.figures import metric_caption

    if path is None or not Path(path).is_file():
        return ""
    name = Path(path).stem
    if name == "metrics":
        cap = metric_caption(has_random)
    elif name.startswith("cue_profile_"):
        cap = ("Cue profile: each cue in the salient windows, the whole clip and the neutral "
               "clips, per emotion; mean over clips, error bars 95% CI of the mean; units and "
               "the tool's feature name on each panel.")
    else:
        cap = name
    svg = Path(path).with_suffix(".svg")
    vec = f" Vector version: <code>{_e(svg.name)}</code>." if svg.is_file() else ""
    return f"<figure>{_img(path, name)}<figcaption>{_e(cap)}{vec}</figcaption></figure>"


def figures_html(figures: Sequence[Path | None], has_random: bool) -> str:
    """The metric figure and the first explaining method's cue profiles in full; the other
    methods' cue profiles folded (one per method x cue set is a lot of figure). has_random:
    whether the metric figure draws a random line (its caption says so only then)."""
    shown = [f for f in figures if f is not None and Path(f).is_file()]
    profiles = [f for f in shown if Path(f).stem.startswith("cue_profile_")]
    lead = next((Path(f).stem.split("_")[2] for f in profiles
                 if not Path(f).stem.startswith(f"cue_profile_{RANDOM}_")), None)
    open_, folded = [], []
    for f in shown:
        stem = Path(f).stem
        if stem.startswith("cue_profile_") and not stem.startswith(f"cue_profile_{lead}_"):
            folded.append(_figure_block(f, has_random))
        else:
            open_.append(_figure_block(f, has_random))
    if folded:
        open_.append(f"<details><summary>Cue profiles of the other methods ({len(folded)} "
                     "figures)</summary>" + "".join(folded) + "</details>")
    return "".join(open_)


def cue_readings(table: pd.DataFrame) -> pd.DataFrame:
    """The `cue` column with its reading where the name points the other way
    ('Breathiness (HNR: higher = less breathy)'; bsx.cues.units)."""
    from bsx.cues.units import cue_unit

    if table.empty or "cue" not in table or "cues" not in table:
        return table
    labels = [f"{c} ({u.reading})" if (u := cue_unit(str(e), str(c))).reading else c
              for e, c in zip(table["cues"], table["cue"], strict=True)]
    return table.assign(cue=labels)


def has_random(table: pd.DataFrame) -> bool:
    """Whether the run scored the random baseline (the metric figure then draws its line)."""
    if table.empty or "method" not in table:
        return False
    return bool(table.loc[table["method"] == RANDOM, "mean"].notna().any())


def _cmp(c: dict[str, Any]) -> str:
    """'+0.551 [+0.41, +0.69] better': a comparison of the meta-evaluation table."""
    from bsx.scoring.inference import STATUS_WORDS

    effect = c.get("effect")
    if effect is None or not np.isfinite(effect):  # NaN, or null in a summary.json read back
        return STATUS_WORDS.get(c.get("status", ""), "–")
    return (f"{c['effect']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] "
            f"{STATUS_WORDS.get(c['status'], c['status'])}")


def meta_section(meta: dict[str, Any] | None) -> str:
    """The section "Which scores can be trusted here" (summary["meta_evaluation"]), with a
    short definition per column; '' when the run did not meta-evaluate."""
    if not meta:
        return ""
    rows = []
    for r in meta.get("rows", []):
        where = " ".join(x for x in (r.get("cues"), r.get("against")) if x)
        rows.append({
            "score": r["metric"] + (f" ({where})" if where else ""), "role": r.get("role", ""),
            "vs random": _cmp(r["vs_random"]), "vs inverted map": _cmp(r["vs_inverted"]),
            "vs shifted map": _cmp(r["vs_shifted"]),
            "resilience: 1-frame shift": r["resilience_shift"],
            "resilience: seed": r["resilience_seed"],
            "resilience: baseline": r["resilience_baseline"],
            "ranking tau": r["ranking_tau"], "verdict": r["verdict"],
        })
    cols = meta.get("columns", {})
    names = {"role": "role", "vs random": "vs_random", "vs inverted map": "vs_inverted",
             "vs shifted map": "vs_shifted", "resilience: 1-frame shift": "resilience_shift",
             "resilience: seed": "resilience_seed", "resilience: baseline": "resilience_baseline",
             "ranking tau": "ranking_tau", "verdict": "verdict"}
    defs = "".join(f"<dt>{_e(k)}</dt><dd>{_e(cols.get(v, ''))}</dd>" for k, v in names.items())
    return (
        "<h2>Which scores can be trusted here</h2><p>A meta-evaluation of every metric of the "
        f"run (after MetaQuantus, Hedström et al. 2023), on {meta.get('n_clips', 0)} clips "
        "spread over the run: each score re-computed by the same code on the method's map, "
        "the random baseline's, and deliberately wrong or negligibly changed versions. The "
        "unit of the tests is the clip (at least "
        f"{meta.get('min_clips', 6)} are needed); a resilience of 1 means unmoved, 0 moved "
        "as far as noise; resilient at "
        f"{meta.get('resilient_at', 0.8):g} or more. docs/meta-evaluation.md says how to "
        "read it.</p>" + _table(pd.DataFrame(rows), numeric=[k for k in names if k.startswith(
            ("resilience", "ranking"))]) + f"<dl class='defs'>{defs}</dl>")


def write_report(out: Path, summary: dict[str, Any], table: pd.DataFrame,
                 figures: list[Path | None], config: dict[str, Any],
                 examples: str | None = None) -> Path:
    """Write out/report.html (figures and audio embedded as data URIs: opens offline).
    examples: examples_section(out) when the caller rendered it already."""
    from bsx.report.strict_json import dumps

    out = Path(out)
    cfg = config.get("config") or {}
    methods = ", ".join(cfg.get("methods") or [])
    head = (f"<h1>bsx evaluation report</h1><p class='meta'>dataset <b>{_e(cfg.get('dataset'))}"
            f"</b> ({_e(cfg.get('split'))} split), model <b>{_e(config.get('model', ''))}</b>, "
            f"methods {_e(methods)}, cues {_e(', '.join(cfg.get('cues') or []))}, bsx "
            f"{_e(config.get('bsx_version', ''))}</p>")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>bsx report</title><style>{STYLE}</style></head><body><main>",
        head, warnings_section(summary, config), summary_section(summary, table, config),
        "<h2>Figures</h2>", figures_html(figures, has_random(table)),
        examples if examples is not None else examples_section(out),
        "<h2>Scores</h2><p>Mean over clips [95% bootstrap CI]; ↑ higher is better, ↓ lower "
        "is better. Split by correctly and wrongly classified clips in summary.json.</p>",
        _table(scores_table(table)),
        "<h2>What the metrics measure</h2>", _table(definitions_table(table)),
        meta_section(summary.get("meta_evaluation")),
    ]
    if summary.get("dataset_agreement"):
        agree = pd.DataFrame(summary["dataset_agreement"])
        keep = [c for c in ("method", "cues", "clips", "emotion", "cue", "direction", "n",
                            "agreement_vs_rest", "mean_effect_vs_rest", "agreement_vs_neutral",
                            "p_value") if c in agree]
        parts += ["<details><summary>Expert-cue agreement per emotion and cue "
                  f"({len(agree)} rows)</summary>", _table(cue_readings(agree[keep])),
                  "</details>"]
    if summary.get("timing"):
        parts += ["<details><summary>Cost per clip (seconds; also timings.csv)</summary>",
                  _table(pd.DataFrame(summary["timing"])), "</details>"]
    if summary.get("skipped"):
        parts += [f"<details><summary>Skipped clips ({len(summary['skipped'])})</summary>",
                  _table(pd.DataFrame(summary["skipped"])), "</details>"]
    parts += ["<details><summary>Configuration and provenance (config.json)</summary><pre>",
              _e(dumps(config)), "</pre></details>", "</main></body></html>"]
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

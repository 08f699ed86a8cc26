"""`bsx cues FILE`: one clip's cue profile, salient windows vs the rest vs the whole clip."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from bsx.cli.common import require_file
from bsx.errors import BadAudio, BsxError


def parse_windows(text: str | None, duration_s: float, source: str = "--windows"
                  ) -> list[tuple[float, float]]:
    """'0.20-0.35,0.90-1.05' -> [(0.2, 0.35), (0.9, 1.05)]; BsxError on a malformed window."""
    if not text:
        return []
    out: list[tuple[float, float]] = []
    for part in text.split(","):
        a, sep, b = part.strip().partition("-")
        try:
            lo, hi = float(a), float(b)
        except ValueError:
            raise BsxError(
                f"{source}: '{part.strip()}' is not a window; write START-END in seconds, "
                "e.g. 0.20-0.35,0.90-1.05"
            ) from None
        if not sep or not (0 <= lo < hi):
            raise BsxError(f"{source}: window '{part.strip()}' must satisfy 0 <= START < END")
        if lo >= duration_s:
            raise BsxError(
                f"{source}: window '{part.strip()}' starts after the clip ends ({duration_s:.2f} s)"
            )
        out.append((lo, min(hi, duration_s)))
    return out


def _clean(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def cue_report(path: Path, cues: str, windows: str | None, frontend: str,
               emotion: str | None = None, expert: Path | None = None) -> dict[str, Any]:
    """Extract each named extractor's tracks once and profile the windows; with `emotion`,
    also expert-cue agreement of the windows against the rest of the clip. JSON-ready."""
    from dataclasses import asdict

    from bsx.audio import get_frontend, load_audio
    from bsx.cues.profile import cue_profile
    from bsx.cues.units import cue_unit
    from bsx.expert import canonical_emotion, load_expert
    from bsx.plugins import build
    from bsx.scoring.agreement import agreement

    fe = get_frontend(frontend)
    y, _ = load_audio(path, fe.sample_rate)
    if not y.any():  # as `bsx explain` and evaluate refuse it: no cue can be measured
        raise BadAudio(f"{path}: is digital silence")
    duration = y.size / fe.sample_rate
    wins = parse_windows(windows, duration)
    names = [c.strip() for c in cues.split(",") if c.strip()]
    if not names:
        raise BsxError("--cues: name at least one cue extractor, e.g. egemaps,praat")
    table = None
    if emotion is not None:
        table = load_expert(expert)
        if canonical_emotion(emotion) not in table.emotions:
            raise BsxError(f"--emotion: the expert table {table.path} has no row for "
                           f"'{emotion}'; it has: {', '.join(table.emotions)}")
        if not wins:
            raise BsxError("--emotion needs --windows: agreement compares windows with the rest")
    report: dict[str, Any] = {"file": str(path), "duration_s": duration,
                              "sample_rate": fe.sample_rate, "windows": wins, "extractors": {}}
    if table is not None:
        report["emotion"], report["agreement"] = canonical_emotion(emotion or ""), {}
    for name in names:
        ext = build("cue", name)
        profile = cue_profile(ext.extract(y, fe.sample_rate), wins)
        report["extractors"][name] = [
            {**{k: _clean(v) for k, v in row.items()},
             "unit": cue_unit(name, str(row["cue"])).unit,
             "feature": cue_unit(name, str(row["cue"])).feature,
             "reading": cue_unit(name, str(row["cue"])).reading}
            for row in profile.rows() if wins or row["region"] == "whole"
        ]
        if table is not None:
            report["agreement"][name] = [
                {k: _clean(v) for k, v in asdict(a).items()}
                for a in agreement(profile, emotion or "", table)
            ]
    return report


def _fmt(row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    if row["mean"] is None:
        return f"- ({row['reason']})" if row["reason"] else "-"
    sd = "" if row["std"] is None else f" ± {row['std']:.3g}"
    return f"{row['mean']:.4g}{sd} (n={row['n']})"


def cues_command(
    file: Annotated[Path, typer.Argument(help="An audio file (wav, flac, ...).")],
    cues: Annotated[str, typer.Option(help="Cue extractors, comma-separated.")] = "egemaps",
    windows: Annotated[str | None, typer.Option(
        help="Salient windows in seconds on the original file, e.g. 0.20-0.35,0.90-1.05."
    )] = None,
    frontend: Annotated[
        str, typer.Option(help="Front-end preset (sets the sample rate).")
    ] = "paper",
    emotion: Annotated[str | None, typer.Option(
        help="Also check the windows against the expert cues of this emotion (vs the rest)."
    )] = None,
    expert: Annotated[Path | None, typer.Option(
        help="Your own expert-cue table (CSV: emotion, theory_cue, direction, source)."
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
) -> None:
    """Print a clip's cue profile: the windows vs the rest vs the whole clip."""
    from rich.markup import escape
    from rich.table import Table

    from bsx.cli.console import out

    require_file(expert, "expert-cue table (CSV)")
    report = cue_report(file, cues, windows, frontend, emotion, expert)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for name, rows in report["extractors"].items():
        by: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows:
            by.setdefault(r["cue"], {})[r["region"]] = r
        regions = ("salient", "rest", "whole") if report["windows"] else ("whole",)
        title = f"{name} cues of {file.name}"
        if report["windows"]:
            title += " | windows " + ", ".join(f"{a:.2f}-{b:.2f}" for a, b in report["windows"])
        table = Table(title=title)
        table.add_column("cue")
        table.add_column("unit")
        table.add_column("feature", overflow="fold")
        for region in regions:
            table.add_column("windows" if region == "salient" else region, justify="right")
        agree = {a["cue"]: a for a in report.get("agreement", {}).get(name, [])}
        if agree:
            table.add_column(f"expected ({report['emotion']})")
            table.add_column("d vs rest", justify="right")
            table.add_column("agrees")
        for cue, regs in by.items():
            cells = [_fmt(regs.get(r)) for r in regions]
            if agree:
                a = agree.get(cue)
                d = a and a["effect_vs_rest"]
                cells += ["", "", ""] if a is None else [
                    a["direction"], "-" if d is None else f"{d:+.2f}",
                    {True: "yes", False: "no", None: "-"}[a["agrees_vs_rest"]],
                ]
            first = next(iter(regs.values()))
            unit = (first.get("unit") or "?") + (f"; {first['reading']}"
                                                 if first.get("reading") else "")
            table.add_row(cue, escape(unit),
                          escape(first.get("feature") or ""), *cells)
        out.print(table)


def attach(root: typer.Typer) -> None:
    root.command("cues")(cues_command)

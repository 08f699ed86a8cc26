"""Cost against clip length and against the number of methods, on recorded speech.

    python benchmarks/bench_length.py --data-root /work/shared/corpora/emodb
        [--lengths 2,5,20,60] [--clips 8] [--methods gradcam,random,crp]

Utterances of exactly 2, 5, 20 and 60 s are made from EmoDB clips (each source clip, then
the same speaker's other clips of that emotion, 0.2 s pauses between, cut to length) in a
temporary EmoDB-named folder (outside the project); each length is one fresh-process
`bsx evaluate --keep whole` (the model explains every 5 s unit, so 60 s = 12 units) through
stage_timer.py. Then 1, 2 and 3 methods on the 5 s set. Printed: a markdown table of CPU
seconds per clip for the batch loop (start-up and tail are fixed costs and shown apart),
per stage, and per second of audio, so a stage that grows faster than the audio shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PAUSE_S = 0.2


def make_corpus(src: Path, out: Path, length_s: float, n: int) -> int:
    """n clips of exactly length_s seconds, EmoDB-named (the name of the first clip used)."""
    import numpy as np
    import soundfile as sf

    from bsx.datasets.corpora import EmoDb

    corpus = EmoDb.__new__(EmoDb)  # parse needs only the class tables, not a root
    files = sorted((src / "wav").glob("*.wav"))
    parsed = {f: corpus.parse(f) for f in files}
    sources = [f for f in files if parsed[f][0] != "boredom"]
    # a mix of emotions and speakers: every k-th clip
    step = max(1, len(sources) // n)
    chosen = sources[::step][:n]
    (out / "wav").mkdir(parents=True, exist_ok=True)
    for f in chosen:
        label, spk = parsed[f][0], parsed[f][1]
        same = [g for g in files if parsed[g][:2] == (label, spk)]
        same = [f] + [g for g in same if g != f]
        y0, sr = sf.read(f, dtype="float32")
        parts, total, i = [], 0, 0
        while total < length_s * sr:
            y, _ = sf.read(same[i % len(same)], dtype="float32")
            parts += [y, np.zeros(int(PAUSE_S * sr), np.float32)]
            total += y.size + int(PAUSE_S * sr)
            i += 1
        sf.write(out / "wav" / f.name, np.concatenate(parts)[: int(length_s * sr)], sr)
    return len(chosen)


def loop_rows(ev: dict, n: int, audio_s: float) -> dict[str, float]:
    """CPU seconds per clip of each batch-loop stage (this process; cues: the workers)."""
    st, marks = ev["stages"]["stages"], ev["stages"]["marks"]
    out = {
        "cue tracks (workers)": (marks["tail"]["worker_cpu_s"] - marks["loop"]["worker_cpu_s"]) / n
    }
    for key, v in st.items():
        if key.startswith(("attribution", "metric family", "prepare", "forward", "cue prof")):
            out[key] = v["cpu_s"] / n
    loop_main = marks["tail"]["cpu_s"] - marks["loop"]["cpu_s"]
    out["batch loop, this process (all of it)"] = loop_main / n
    out["start-up (fixed)"] = marks["loop"]["cpu_s"] + marks["loop"]["worker_cpu_s"]
    out["tail (fixed + per clip)"] = (
        marks["end"]["cpu_s"]
        - marks["tail"]["cpu_s"]
        + marks["end"]["worker_cpu_s"]
        - marks["tail"]["worker_cpu_s"]
    )
    out["whole run CPU s"] = ev["cpu_s"]
    out["whole run wall s"] = ev["wall_s"]
    return out


def table(cols: dict[str, dict[str, float]], n_by_col: dict[str, int]) -> list[str]:
    keys = list(dict.fromkeys(k for c in cols.values() for k in c))
    lines = ["| CPU s per clip | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    for k in keys:
        lines.append(
            f"| {k} | " + " | ".join(f"{c[k]:.3f}" if k in c else "" for c in cols.values()) + " |"
        )
    lines.append("| clips | " + " | ".join(str(n_by_col[c]) for c in cols) + " |")
    return lines


def main() -> None:
    from bench_evaluate import evaluate_run

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", type=Path, default=Path("/work/shared/corpora/emodb"))
    ap.add_argument("--lengths", default="2,5,20,60")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--methods", default="gradcam,random,crp")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cols: dict[str, dict[str, float]] = {}
        ns: dict[str, int] = {}
        lengths = [float(x) for x in args.lengths.split(",")]
        methods = args.methods.split(",")
        runs = [(length, methods[:1]) for length in lengths]
        five = 5.0 if 5.0 in lengths else lengths[0]
        runs += [(five, methods[:k]) for k in range(2, len(methods) + 1)]
        for length, meth in runs:
            root = tmp / f"emodb-{length:g}s"
            if not root.exists():
                make_corpus(args.data_root, root, length, args.clips)
            ns_ = argparse.Namespace(
                dataset="emodb",
                data_root=root,
                clips=args.clips,
                method=",".join(meth),
                checkpoint=None,
                frontend=None,
                label_preset=None,
                workers=args.workers,
                extra=["--keep", "whole"],
            )
            out = tmp / f"run-{length:g}-{len(meth)}"
            out.mkdir()
            ev = evaluate_run(ns_, out)
            import pandas as pd

            n = len(pd.read_csv(ev["run"] / "clips.csv"))
            name = f"{length:g} s, {len(meth)} method{'s' if len(meth) > 1 else ''}"
            cols[name] = loop_rows(ev, n, length)
            ns[name] = n
            print(
                f"{name}: {n} clips, {ev['wall_s']:.1f} s wall, {ev['cpu_s']:.1f} CPU s, "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        print("\n".join(table(cols, ns)), flush=True)
        per_audio = {
            c: {
                k: v / float(c.split(" ")[0])
                for k, v in r.items()
                if not k.startswith(("start-up", "whole", "tail"))
            }
            for c, r in cols.items()
            if c.endswith("1 method")
        }
        print("\nCPU s per second of audio (1 method):")
        print("\n".join(table(per_audio, ns)), flush=True)


if __name__ == "__main__":
    main()

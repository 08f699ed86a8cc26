"""Corpus-scale evaluate: whole EmoDB (535 clips) through `bsx evaluate` with the default
metrics, as a user runs it (a fresh process per run, start-up included), on this machine.

Lines:
- "evaluate, whole EmoDB: seconds per clip": ours = the single local run; baseline = the
  paper-scale figure of issue 15's first real run (3.9 s per clip, 160 RAVDESS clips, gradcam
  / crp / random, 2 cores); ratio > 1: faster than that.
- with --ray: "evaluate sharded on Ray vs local": ours = `--executor ray --shards 2` on the
  same cores, baseline = the local run; on one machine the ratio says what sharding costs
  (Ray start-up, one model load and cue pool per shard, the merge), and it is the same code
  that spreads a corpus over a cluster (RAY_ADDRESS).
Needs an EmoDB checkpoint (`bsx train --dataset emodb --cv loso` writes one per fold).
Run: nice -n 10 python benchmarks/bench_emodb.py --checkpoint runs/emodb/fold-03/model.pt
     [--clips N] [--method gradcam,random] [--workers 2] [--ray] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAPER_SCALE_S_PER_CLIP = 3.9  # issue 15: 160 RAVDESS clips, gradcam/crp/random, 2 cores


def emodb_root() -> Path:
    for cand in (os.environ.get("BSX_EMODB"), "/work/shared/corpora/emodb",
                 str(ROOT.parent / "shared" / "corpora" / "emodb")):
        if cand and (Path(cand) / "wav").is_dir():
            return Path(cand)
    sys.exit("no EmoDB corpus found; set BSX_EMODB to the folder holding wav/")


def evaluate(args: argparse.Namespace, out: Path, extra: list[str]) -> tuple[float, int]:
    """Wall seconds of one `bsx evaluate` in a fresh process, and the clips it evaluated.
    Also prints the CPU seconds it and its workers used: on a shared machine the wall time
    depends on the neighbours, the CPU time much less."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "bsx.cli", "evaluate", "--dataset", "emodb",
           "--data-root", str(emodb_root()), "--split", "all", "--checkpoint",
           str(args.checkpoint), "--method", args.method, "--cues", "egemaps",
           "--workers", str(args.workers), "--device", "cpu", "--out", str(out), *extra]
    if args.clips:
        cmd += ["--limit", str(args.clips)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    n = int(json.loads((out / "summary.json").read_text())["n_clips"])
    print(f"  {' '.join(extra) or 'local'}: {seconds:.1f} s wall, {cpu:.1f} CPU s "
          f"({cpu / n:.2f} CPU s per clip)", flush=True)
    return seconds, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--method", default="gradcam,random")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clips", type=int, default=0, help="0 = all 535")
    ap.add_argument("--ray", action="store_true", help="also run it sharded on Ray")
    ap.add_argument("--out", type=Path, default=None,
                    help="keep the local run's results here (summary.json, report.html)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local, n = evaluate(args, args.out or Path(tmp) / "local", [])
        print(f"evaluate, EmoDB: {n} clips, default metrics, {args.method}, "
              f"{args.workers} workers: {local:.1f} s ({n / local:.2f} clips/s)", flush=True)
        report("evaluate, whole EmoDB: seconds per clip", local / n, PAPER_SCALE_S_PER_CLIP)
        if args.ray:
            sharded, _ = evaluate(args, Path(tmp) / "ray", ["--executor", "ray", "--shards", "2"])
            report("evaluate sharded on Ray (2 shards) vs local, same cores", sharded, local)


if __name__ == "__main__":
    main()

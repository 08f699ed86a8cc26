"""Peak memory of `bsx explain` on long recordings: 1, 10 and 60 minute synthetic files.

Each file is a tone-plus-noise "speaker" with pauses (3-5 s of voice, 0.6-1.2 s of quiet),
written with soundfile into a temporary folder (never kept). Each explain runs in its own
process under /usr/bin/time -v (resource.getrusage of the child where that is missing), so
the peak resident set is the whole command's: model load, reading, attribution, figures and
the listenable WAV. The 60-minute peak must stay under 2 GB (docs/long-files.md).

Lines: "MIN min, keep KEEP: peak RSS X MB, Y s". Run (a minute or more; nice it):
    nice -n 10 python benchmarks/bench_long_file.py [--minutes 1 10 60] [--keep whole]
        [--sr 44100] [--method gradcam] [--src ../main/src]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def write_recording(path: Path, minutes: float, sr: int, seed: int = 0) -> Path:
    """A synthetic recording, written block by block so the benchmark itself stays small."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * sr)
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        done = 0
        while done < total:
            voice_s, quiet_s = rng.uniform(3.0, 5.0), rng.uniform(0.6, 1.2)
            t = np.arange(int(voice_s * sr)) / sr
            f0 = rng.uniform(120, 260)
            y = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
            y = np.concatenate([y, np.zeros(int(quiet_s * sr))])
            y = y + 0.003 * rng.standard_normal(y.size)
            y = y[: total - done]
            f.write(y.astype(np.float32))
            done += y.size
    return path


def peak_of(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(peak RSS in MB, wall seconds, exit code) of one command in a fresh process."""
    t0 = time.perf_counter()
    if shutil.which("time") or Path("/usr/bin/time").exists():
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        if p.returncode:
            sys.stderr.write(p.stderr[-3000:])
        return (
            int(m.group(1)) / 1024 if m else float("nan"),
            time.perf_counter() - t0,
            p.returncode,
        )
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return peak, time.perf_counter() - t0, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60])
    ap.add_argument("--keep", default="whole", choices=["whole", "first-interval"])
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--method", default="gradcam")
    ap.add_argument(
        "--src",
        type=Path,
        default=ROOT / "src",
        help="The bsx source tree to run (another checkout: its peaks, to compare).",
    )
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.src), "MPLBACKEND": "Agg"}
    with tempfile.TemporaryDirectory(prefix="bsx-long-") as tmp:
        for minutes in args.minutes:
            wav = write_recording(Path(tmp) / f"rec{minutes:g}.wav", minutes, args.sr)
            cmd = [
                sys.executable,
                "-m",
                "bsx.cli",
                "explain",
                str(wav),
                "--method",
                args.method,
                "--keep",
                args.keep,
                "--device",
                "cpu",
                "--json",
                "--out",
                str(Path(tmp) / f"out{minutes:g}"),
            ]
            peak, wall, rc = peak_of(cmd, env)
            print(
                f"{minutes:g} min, keep {args.keep}, {args.sr} Hz: peak RSS {peak:.0f} MB, "
                f"{wall:.1f} s{'' if rc == 0 else f' (exit {rc})'}",
                flush=True,
            )
            wav.unlink()


if __name__ == "__main__":
    main()

"""Render a run's report.html in headless Chromium: screenshot, console errors, overflow.

    python benchmarks/render_report.py RUN_DIR [--png docs/report.png] [--width 1280]

Checks, each printed and reflected in the exit code (1 on a failure):
- no console errors or failed resources (Chromium's own log, --enable-logging=stderr);
- no horizontal overflow (document.documentElement.scrollWidth <= clientWidth) at the given
  width and at 820 px (a laptop split screen);
- every embedded image decoded and every <audio> has a source.
The checks run in a copy of the page with one script appended that writes its measurements
into the DOM, read back with --dump-dom; the report itself holds no script. Chromium comes
from Debian's package (`apt-get install -y chromium`); nothing is downloaded at run time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECK = """<script>
window.addEventListener('load', () => {
  const d = document.documentElement;
  const imgs = [...document.images];
  const out = {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth,
    height: Math.max(d.scrollHeight, document.body.scrollHeight),
    images: imgs.length, broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length,
    audio: document.querySelectorAll('audio').length,
    audio_without_src: [...document.querySelectorAll('audio')].filter(a => !a.src).length,
    h2: [...document.querySelectorAll('h2')].map(h => h.textContent)};
  const pre = document.createElement('pre'); pre.id = 'bsx-check';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--hide-scrollbars", "--mute-audio"]


def chromium() -> str | None:
    """The Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(binary: str, args: list[str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="bsx-chromium-")
    try:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def measure(binary: str, html: Path, width: int) -> tuple[dict, list[str]]:
    """(the page's measurements at `width`, console errors Chromium logged)."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "check.html"
        text = html.read_text(encoding="utf-8")
        page.write_text(text.replace("</body>", CHECK + "</body>"), encoding="utf-8")
        proc = _run(binary, ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
                             f"--window-size={width},900", "--dump-dom", page.as_uri()])
    m = re.search(r'<pre id="bsx-check">(.*?)</pre>', proc.stdout, re.S)
    if not m:
        raise RuntimeError(f"chromium wrote no measurements (rc {proc.returncode}): "
                           f"{proc.stderr[-2000:]}")
    errors = [line for line in proc.stderr.splitlines()
              if re.search(r"CONSOLE|Uncaught|ERR_|Failed to load", line)
              and not re.search(r"dbus|gpu|GPU|sandbox", line)]
    return json.loads(m.group(1).replace("&quot;", '"')), errors


def screenshot(binary: str, html: Path, png: Path, width: int, height: int,
               scale: float) -> None:
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(binary, [f"--window-size={width},{height}", f"--force-device-scale-factor={scale}",
                  f"--screenshot={png.resolve()}", "--virtual-time-budget=10000", html.as_uri()])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="an evaluate --out folder holding report.html")
    ap.add_argument("--png", type=Path, default=Path("docs/report.png"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--scale", type=float, default=0.6, help="device scale of the screenshot")
    ap.add_argument("--max-height", type=int, default=16000)
    args = ap.parse_args(argv)
    binary = chromium()
    if binary is None:
        print("no chromium on PATH: apt-get install -y chromium", file=sys.stderr)
        return 2
    html = (args.run / "report.html").resolve()
    ok = True
    for width in (args.width, 820):
        page, errors = measure(binary, html, width)
        over = page["scrollWidth"] > page["clientWidth"]
        print(f"width {width}: scrollWidth {page['scrollWidth']} clientWidth "
              f"{page['clientWidth']} -> {'OVERFLOW' if over else 'no horizontal overflow'}; "
              f"{page['images']} images ({page['broken']} broken), {page['audio']} audio "
              f"players ({page['audio_without_src']} without source); console errors: "
              f"{len(errors)}")
        for e in errors:
            print("  ", e)
        ok &= not over and not errors and page["broken"] == 0 and page["audio_without_src"] == 0
        if width == args.width:
            height = min(int(page["height"]) + 20, args.max_height)
            sections = page["h2"]
    print("sections:", ", ".join(sections))
    screenshot(binary, html, args.png, args.width, height, args.scale)
    print(f"screenshot {args.png} ({args.width} x {height} CSS px at scale {args.scale})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

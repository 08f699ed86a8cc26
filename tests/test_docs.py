"""The docs stay true to the code: every metric documented, the site's pages present, the
README short."""

from __future__ import annotations

import re
from pathlib import Path

from bsx.scoring.reference import metric_reference
from bsx.scoring.specs import METRICS

ROOT = Path(__file__).resolve().parents[1]


def test_every_builtin_metric_is_documented_with_its_unit_and_range() -> None:
    text = metric_reference()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|.*$", text,
                                                         flags=re.M)}
    assert set(rows) == set(METRICS)
    for name, spec in METRICS.items():
        assert f"| {spec.unit} |" in rows[name], name
        want = "unbounded" if spec.bounds is None else f"{spec.bounds[0]:g} to {spec.bounds[1]:g}"
        assert f"| {want} |" in rows[name] and f"| {spec.direction} |" in rows[name]
    # description scores sit under their own heading, never under an evidence role
    desc = text.split("## description", 1)[1]
    assert "`sparseness`" in desc and "`complexity`" in desc
    assert "`sparseness`" not in text.split("## description", 1)[0]


def test_every_page_in_the_site_nav_exists() -> None:
    nav = re.findall(r":\s*([\w./-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), flags=re.M)
    assert "index.md" in nav and "metrics.md" in nav
    generated = {"metrics.md"}  # added by docs/hooks/metric_reference.py at build time
    missing = [p for p in nav if p not in generated and not (ROOT / "docs" / p).is_file()]
    assert not missing


def test_readme_is_short_and_holds_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    assert "pip install . && bsx evaluate --method crp --cues egemaps" in text
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = re.search(r"^(pip install -e .*pytest.*)$", ci, flags=re.M)
    assert test_cmd and test_cmd.group(1) in text  # CI runs the README's test command verbatim

"""mkdocs hook: adds metrics.md, generated from bsx's metric specs, to the site."""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files


def on_files(files: Files, config: Any) -> Files:
    from bsx.scoring.reference import metric_reference

    files.append(File.generated(config, "metrics.md", content=metric_reference()))
    return files

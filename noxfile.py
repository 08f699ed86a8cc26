"""nox sessions: tests (fast set), slow, lint, typecheck, docs, bench (benchmarks print
'ours vs baseline' lines)."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test,ray]", "-e", "./plugins/bsx-example")
    session.run("python", "-m", "pytest", "-q", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "plugins")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("mypy", "src/bsx")


@nox.session
def bench(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script))


@nox.session
def slow(session: nox.Session) -> None:
    """The slow tests the README's test command deselects (end-to-end runs, faults, Ray)."""
    session.install("-e", ".[test,ray]", "-e", "./plugins/bsx-example")
    session.run("python", "-m", "pytest", "-q", "-m", "slow", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built offline with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})

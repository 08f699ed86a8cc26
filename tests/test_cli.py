"""CLI contract: --version, exit code 2 with one sentence for bad input, no traceback."""

from __future__ import annotations

import subprocess
import sys

from bsx import __version__


def bsx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bsx.cli", *args], capture_output=True,
                          text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_version() -> None:
    res = bsx("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"bsx {__version__}"


def test_unknown_kind_is_exit_2_without_traceback() -> None:
    res = bsx("plugins", "list", "--kind", "metods")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and "no plugin kind 'metods'" in res.stderr


def test_unknown_method_exits_2_with_a_suggestion() -> None:
    res = bsx("evaluate", "--method", "gradcm")
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert "no method 'gradcm' (did you mean 'gradcam'?); available:" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_summary_table_names_the_cue_set_of_each_row(capsys) -> None:  # type: ignore[no-untyped-def]
    from bsx.cli.evaluate import print_summary

    row = {"method": "gradcam", "metric": "cue-agreement-rest", "against": "", "mean": 0.5,
           "ci_low": 0.4, "ci_high": 0.6, "direction": "higher", "category": "cue-agreement"}
    summary = {"model": {"n": 2, "accuracy": 1.0, "uar": 1.0},
               "metrics": [{**row, "cues": "egemaps"}, {**row, "cues": "praat", "mean": 0.7}]}
    print_summary(summary)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "cue-agreement-rest" in ln]
    assert len(lines) == 2
    assert "egemaps" in lines[0] and "0.500" in lines[0]
    assert "praat" in lines[1] and "0.700" in lines[1]


def test_repeated_and_comma_separated_options_accumulate() -> None:
    from bsx.cli.common import split_list

    assert split_list(["random", "gradcam, crp", ""]) == ["random", "gradcam", "crp"]
    assert split_list("a,b") == ["a", "b"] and split_list(None) is None
    # the second --method is read (and refused by name), not silently replacing the first
    r = bsx("evaluate", "--method", "random", "--method", "gradcam,nosuchmethod", "--limit", "1")
    assert r.returncode == 2 and "nosuchmethod" in r.stderr and "Traceback" not in r.stderr

"""benchmarks/gpu_check.py, CI-sized on the CPU: the report has every field, CPU-vs-CPU maps
are identical, a model that differs is caught, and the batch search stops at its cap."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import gpu_check  # noqa: E402

TINY = [
    "--device",
    "cpu",
    "--tiny",
    "--clips",
    "2",
    "--seconds",
    "1.0",
    "--repeat",
    "1",
    "--methods",
    "gradcam,random",
    "--batch-methods",
    "gradcam",
    "--batch-cap",
    "4",
    "--eval-clips",
    "2",
    "--metrics",
    "sparseness",
    "--workers",
    "1",
]


def test_cpu_run_reports_every_field(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    report = gpu_check.main([*TINY, "--json", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["device"] == "cpu" and "CPU compared with CPU" in report["note"]
    assert [r["method"] for r in report["methods"]] == ["gradcam", "random"]
    for row in report["methods"]:
        assert row["clips"] == 2
        assert row["max_rel_diff"] == 0.0 and row["equal"] and row["finite"]
        assert row["cpu_clips_per_s"] > 0 and row["device_clips_per_s"] > 0
    assert report["all_equal"] is True
    assert report["batch"] == [
        {"method": "gradcam", "largest_batch": 4, "stopped_by": "cap", "peak_gpu_mb": None}
    ]
    ev = report["evaluate"]
    assert ev["clips"] == 2 and ev["device"] == "cpu" and ev["seconds"] > 0
    assert report["peak_gpu_mb"] is None and report["peak_rss_mb"] > 0
    assert set(report["skipped_methods"]) == set(gpu_check.WAVEFORM_ONLY)
    assert report["model"]["input"][0] == 2


def test_a_device_model_that_differs_is_not_equal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import torch

    build = gpu_check.build_on
    calls = []

    def perturbed(name, net, device):  # the second build (the "device" side) differs
        calls.append(name)
        if len(calls) % 2 == 0:
            net = copy.deepcopy(net)
            with torch.no_grad():
                for p in net.parameters():
                    p.mul_(1.5)
        return build(name, net, device)

    monkeypatch.setattr(gpu_check, "build_on", perturbed)
    loaded, _ = gpu_check.load(gpu_check_args(), tmp_path)
    from bsx.audio import prepare_waveform
    from bsx.evaluation.attribute import stack_units

    fe = loaded.frontend
    x = stack_units(
        [prepare_waveform(gpu_check.synthetic_clip(i, fe.sample_rate, 1.0), fe) for i in range(2)],
        torch.device("cpu"),
    ).inputs()
    target = torch.zeros(2, dtype=torch.long)
    row = gpu_check.compare(
        "saliency", loaded, x, target, torch.device("cpu"), torch.device("cpu"), 1
    )
    assert row["max_rel_diff"] > gpu_check.TOLERANCE and not row["equal"]


def gpu_check_args():
    import argparse

    return argparse.Namespace(checkpoint=None, tiny=True, frontend=None, label_preset=None)

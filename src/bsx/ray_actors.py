"""One evaluation with attribution on Ray actors and cue extraction on Ray CPU tasks.

`bsx evaluate --executor ray-actors`: the driver (this process) runs the engine as a local
run does (prepare, predict, windows, every metric, the tail); only the two heavy stages move
(bsx.evaluation.placement):
- attribution: one actor per (model, method), each holding its own copy of the model (LRP
  and CRP patch a model's modules, so methods never share one), sent from the driver's
  memory, so no checkpoint path has to exist on the workers. An actor asks for a share of a
  GPU when the cluster has GPUs and --device is cuda or auto, else one CPU. Every method of
  a batch runs at once, each on its actor, with the out-of-memory back-off of a local run
  (bsx.evaluation.attribute.Backoff; what it says is warned on the driver);
- cues: one Ray task (one CPU) per clip and cue set; a worker builds each extractor once.
The results equal a local run's: the same batches, the same model weights, the same
methods; the driver re-attributes only for the metrics that re-run a method themselves
(the meta-evaluation, other seeds).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsx.errors import BsxError

if TYPE_CHECKING:
    from bsx.audio import Prepared
    from bsx.cues.base import CueExtractor, CueTracks
    from bsx.evaluation.attribute import Attributions, Units
    from bsx.evaluation.config import EvalConfig
    from bsx.evaluation.placement import Placement
    from bsx.evaluation.prepare import PendingCues
    from bsx.models.checkpoint import LoadedModel

_EXTRACTORS: dict[str, Any] = {}  # in a Ray worker: the cue extractors it has built


def _extract(name: str, boxed: list[Any], waveform: np.ndarray, sample_rate: int) -> CueTracks:
    """A Ray task: one clip's cue tracks. The extractor comes boxed in a list, so Ray hands
    over its reference unresolved and a worker unpickles it once, not once per clip."""
    if name not in _EXTRACTORS:
        import ray

        _EXTRACTORS[name] = ray.get(boxed[0])
    return _EXTRACTORS[name].extract(waveform, sample_rate)  # type: ignore[no-any-return]


class AttributionActor:
    """A Ray actor: one method on its own copy of the model (made a Ray actor class in
    RayPlacement, so this module imports without Ray)."""

    def __init__(self, net: Any, method: str, options: dict[str, Any] | None,
                 device: str) -> None:
        import torch

        from bsx.evaluation.attribute import Backoff
        from bsx.evaluation.batch import channels_last
        from bsx.plugins import build

        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.channels_last = channels_last(self.device, self.net)
        self.method = build("method", method, self.net, options=options)
        self.backoff = Backoff(name=method)

    def attribute(self, units: Units, target: np.ndarray) -> tuple[list[np.ndarray], float,
                                                                   list[str]]:
        """The unit maps of a batch (units on the CPU), the seconds per clip and the lines
        its out-of-memory back-off said."""
        import torch

        from bsx.evaluation.attribute import unit_maps

        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        here = replace(units, groups=[(i, x.to(self.device, memory_format=fmt))
                                      for i, x in units.groups])
        t0 = time.perf_counter()
        maps = unit_maps(self.method, here, target, self.backoff)
        return maps, (time.perf_counter() - t0) / units.n_clips, self.backoff.drain()


class RayPlacement:
    """bsx.evaluation.placement.Placement on Ray: actors for attribution, tasks for cues."""

    def __init__(self, cfg: EvalConfig, loaded: LoadedModel) -> None:
        import copy

        import ray

        from bsx.device import device_of

        self.ray = ray
        net = loaded.net
        if device_of(net).type != "cpu":  # sent as a CPU copy; each actor moves its own
            net = copy.deepcopy(net).cpu()
        gpus = gpu_share(cfg.device, float(ray.cluster_resources().get("GPU", 0)),
                         len(cfg.methods))
        check_cpus(float(ray.cluster_resources().get("CPU", 0)), len(cfg.methods), gpus)
        actor = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=0)(AttributionActor)
        ref = ray.put(net)
        self.actors: dict[str, Any] = {m: actor.remote(ref, m, cfg.method_options.get(m),
                                                       "cuda" if gpus else "cpu")
                                       for m in cfg.methods}
        self.task = ray.remote(num_cpus=1, max_retries=0)(_extract)
        self._extractors: dict[str, Any] = {}

    def submit_cues(self, extractors: dict[str, CueExtractor], prepared: Sequence[Prepared],
                    sample_rate: int, workers: int) -> PendingCues:
        from bsx.cues.parallel import PendingTracks
        from bsx.evaluation.prepare import PendingCues, contents_of

        contents = contents_of(prepared, sample_rate)
        t0 = time.perf_counter()
        handles = {}
        for name, ext in extractors.items():
            if name not in self._extractors:
                self._extractors[name] = self.ray.put(ext)
            boxed = [self._extractors[name]]
            handles[name] = PendingTracks(futures=[
                self.task.remote(name, boxed, y, sample_rate).future() for y in contents])
        return PendingCues(handles, t0)

    def attribute(self, methods: dict[str, Any], units: Units, target: np.ndarray,
                  prepared: list[Prepared]) -> dict[str, Attributions]:
        from bsx.evaluation.attribute import Attributions, to_clip_maps
        from bsx.leaderboard.executors import unwrap

        sent = self.ray.put(replace(units, groups=[(i, x.cpu()) for i, x in units.groups]))
        refs = {m: self.actors[m].attribute.remote(sent, target) for m in methods}
        out = {}
        for m, ref in refs.items():
            try:
                maps, seconds, said = self.ray.get(ref)
            except Exception as exc:  # the actor's own error (a BsxError stays one line)
                raise unwrap(exc) from None
            for line in said:
                warnings.warn(line, stacklevel=2)
            out[m] = Attributions(units=maps, clips=to_clip_maps(maps, units, prepared),
                                  seconds=seconds)
        return out

    def close(self) -> None:
        for a in self.actors.values():
            self.ray.kill(a)
        self.actors = {}


def gpu_share(device: str, gpus: float, n_actors: int) -> float:
    """The GPUs each attribution actor asks for: none on the CPU or a cluster without GPUs,
    else an even share of the cluster's GPUs, at most one each (Ray packs fractions onto a
    GPU, so 2 methods on 1 GPU share it). --device cuda on a cluster without GPUs is an
    error, as it is locally."""
    key = device.strip().lower()
    if key == "cpu" or n_actors < 1:
        return 0.0
    if gpus < 1:
        if key.startswith("cuda"):
            raise BsxError(f"--device {device} with --executor ray-actors, but the Ray "
                           "cluster has no GPU; use --device auto or cpu")
        return 0.0
    return min(1.0, gpus / n_actors)


def check_cpus(cpus: float, n_actors: int, gpus: float) -> None:
    """Each actor holds a CPU for as long as the run lasts, and the cue tasks need one more;
    a cluster with fewer would wait for ever."""
    if cpus < n_actors + 1:
        raise BsxError(f"--executor ray-actors: the Ray cluster has {cpus:g} CPUs, fewer than "
                       f"the {n_actors} attribution actor(s) (one CPU each"
                       f"{', beside their GPU share' if gpus else ''}) and one for the cue "
                       "tasks; give the cluster more CPUs or run fewer methods")


def run_on_actors(cfg: EvalConfig, out: Path, *, workers: int = 2, resume: bool = True,
                  progress: bool = True) -> dict[str, Any]:
    """Evaluate `cfg` with attribution on Ray actors and cues on Ray tasks (module
    docstring) on RAY_ADDRESS, or on a local Ray with one CPU per method plus `workers` for
    the cue tasks; write the run under `out` as a local run does; return its summary."""
    from bsx.evaluation import run_evaluation
    from bsx.leaderboard.executors import ray_session

    if workers < 1:
        raise BsxError(f"--workers must be at least 1, not {workers}")
    # the driver's own cue pool stays unstarted: its cues run as Ray tasks
    local = cfg.model_copy(update={"workers": 1})
    with ray_session(len(cfg.methods) + workers):
        if progress:
            from bsx.progress import note

            note(f"attribution on {len(cfg.methods)} Ray actor(s), cues on Ray tasks")
        return run_evaluation(local, Path(out), resume=resume, progress=progress,
                              placement=_placement)


def _placement(cfg: EvalConfig, loaded: LoadedModel) -> Placement:
    return RayPlacement(cfg, loaded)

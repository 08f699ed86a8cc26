"""Cross-validated evaluation: every clip explained by the one fold model that never heard
its speaker.

`bsx train --cv loso` writes one model per fold (fold-*/model.pt) and cv.json. One fold's
model on `--split all` mixes its held-out speaker with the speakers it learnt (428 of 535
EmoDB clips for fold 03), so accuracy, the correct/wrong split and claim (c) describe a
model on its training data. Given the cv folder as `--checkpoint`, each fold runs the batches
of an ordinary evaluate of its model on its own test split, under out/folds/<fold>/
(resumable; bsx.evaluation.run.run_batches), and bsx.evaluation.tail.merge_runs merges their
batch parts in fold order and runs the tail once over all of them (neutral baselines over all
folds, statistics, claims, figures, report, the skipped clips of every fold), as for a
sharded run. config.json records the folder and each fold's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bsx.errors import BsxError
from bsx.evaluation.config import EvalConfig

if TYPE_CHECKING:
    from bsx.evaluation.placement import PlacementFactory


def cv_folds(checkpoint: Path | str | None) -> list[Path] | None:
    """The fold checkpoints of a `bsx train --cv` folder (one holding cv.json), in fold
    order; None for anything else (a file, a save_pretrained folder, the default model)."""
    if checkpoint is None:
        return None
    path = Path(checkpoint).expanduser()
    if not (path.is_dir() and (path / "cv.json").is_file()):
        return None
    folds = sorted(path.glob("fold-*/model.pt"))
    if not folds:
        raise BsxError(f"{path}: holds cv.json but no fold-*/model.pt; point --checkpoint at "
                       "the --out folder of a finished `bsx train --cv` run")
    return folds


def run_folds(cfg: EvalConfig, out: Path, folds: list[Path], *, resume: bool, progress: bool,
              on_batch: Callable[[int, int], None] | None = None,
              placement: PlacementFactory | None = None) -> dict[str, Any]:
    """Evaluate each fold's model on its held-out speakers, then merge (module docstring)."""
    from bsx.evaluation.run import run_batches
    from bsx.evaluation.tail import merge_runs
    from bsx.paths import sha256_file
    from bsx.progress import status
    from bsx.report.provenance import run_provenance

    folder = Path(cfg.checkpoint).expanduser()  # type: ignore[arg-type]
    if cfg.split != "test":
        raise BsxError(f"--split {cfg.split}: a cross-validation folder ({folder}) evaluates "
                       "each fold's model on its own held-out speakers (--split test); for "
                       f"another split give one fold's model.pt")
    if cfg.seed_checkpoints:
        raise BsxError(f"--seed-checkpoints cannot be combined with a cross-validation folder "
                       f"({folder}); give one fold's model.pt")
    out = Path(out)
    dirs = []
    for k, ckpt in enumerate(folds, 1):
        status(f"fold {k}/{len(folds)}: {ckpt.parent.name}")
        d = out / "folds" / ckpt.parent.name
        # the meta-evaluation's clips shared out over the folds (bsx.evaluation.meta)
        share = {"meta_clips": -(-cfg.meta_clips // len(folds))} if cfg.meta_eval else {}
        run_batches(cfg.model_copy(update={"checkpoint": ckpt, **share}), d, resume=resume,
                    progress=progress, on_batch=on_batch, placement=placement)
        dirs.append(d)
    first = run_provenance(folds[0])["checkpoint"]  # the folds share their training corpus
    record = {
        "checkpoint": {**first, "path": str(folder), "sha256": None},
        "cross_validation": {
            "folder": str(folder),
            "folds": [{"fold": c.parent.name, "checkpoint": str(c), "sha256": sha256_file(c)}
                      for c in folds],
        },
    }
    return merge_runs(dirs, out, cfg, record)

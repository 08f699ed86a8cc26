"""Leave-one-speaker-out (LOSO) cross-validation: the speaker-independent protocol of SER papers.

Each speaker is the test set once; the next speaker in sorted order is that fold's validation
speaker (early stopping and the best epoch are chosen on it, never on the test speaker); the
rest train. A recipe that selects the last epoch (select="last") chooses nothing, so its
validation speaker trains too. A fold's score is the UAR on its test speaker (each clip scored
by the mean of its units' logits, the engine's utterance-level rule). The report gives the
per-fold UARs, their mean with a 95% t-interval over folds (speakers are the sampling unit),
and the pooled confusion matrix of all folds' test predictions.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bsx.datasets.base import Clip
from bsx.errors import BsxError
from bsx.models.checkpoint import jsonable
from bsx.models.metrics import classification_report
from bsx.models.probe import fit_recipe
from bsx.models.recipe import TrainConfig
from bsx.models.train import (
    Corpus,
    begin,
    for_model,
    model_inputs,
    plot_confusion,
    stack_units,
)

CV_MODES = ("loso",)


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: clips by part, and the speakers that define it."""

    test_speaker: str
    val_speaker: str
    train: list[Clip]
    val: list[Clip]
    test: list[Clip]


def loso_folds(clips: list[Clip], only: list[str] | None = None) -> list[Fold]:
    """One fold per speaker (sorted): test = that speaker, val = the next one, train = rest.

    `only` keeps the folds of those test speakers (a quick run or a resumed subset).
    """
    speakers = sorted({c.speaker for c in clips})
    if len(speakers) < 3:
        raise BsxError(f"leave-one-speaker-out needs at least 3 speakers, the dataset has "
                       f"{len(speakers)} ({', '.join(speakers)})")
    if only:
        unknown = [s for s in only if s not in speakers]
        if unknown:
            raise BsxError(f"--folds: no speaker '{unknown[0]}'; speakers: {', '.join(speakers)}")
    folds = []
    for i, spk in enumerate(speakers):
        if only and spk not in only:
            continue
        val = speakers[(i + 1) % len(speakers)]
        folds.append(Fold(
            test_speaker=spk, val_speaker=val,
            train=[c for c in clips if c.speaker not in (spk, val)],
            val=[c for c in clips if c.speaker == val],
            test=[c for c in clips if c.speaker == spk],
        ))
    return folds


def mean_ci(values: list[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the Student-t confidence interval of the mean (NaN interval for n < 2)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


def cross_validate(corpus: str | Corpus = "emodb", config: TrainConfig | None = None, *,
                   out: Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """LOSO on a dataset plugin: per fold fit -> out/fold-<speaker>/model.pt + fold.json; then
    out/cv.json, out/cv.csv and out/confusion.png. Returns the report (cv.json's content).

    `config` defaults to TrainConfig.loso(); its `folds` keep only those test speakers.
    `resume`: folds whose fold.json exists are read back, not retrained; a fold interrupted
    mid-way continues from its last.pt.
    """
    corpus, config = Corpus.of(corpus), for_model(config or TrainConfig.loso())
    dev, fe, out = begin(config, out)
    clips, labels = corpus.labelled_clips()
    plan = loso_folds(clips, list(config.folds) or None)
    by_id, skipped = corpus.prepare(clips, fe, progress=progress)
    by_id = model_inputs(config, by_id, dev, progress=progress)
    dataset = corpus.dataset
    runner = _FoldRunner(corpus, config, fe, labels, dev, by_id)
    rows = []
    for k, fold in enumerate(plan):
        done = out / f"fold-{fold.test_speaker}" / "fold.json"
        if resume and done.is_file():
            rows.append(json.loads(done.read_text()))
            continue
        rows.append(runner.run(fold, done.parent, resume=resume, progress=progress,
                               title=f"fold {k + 1}/{len(plan)}"))
    report = _cv_report(dataset, config, fe, labels, dev, rows,
                        n_clips=len(clips), skipped=skipped)
    (out / "cv.json").write_text(json.dumps(jsonable(report), indent=1) + "\n")
    write_cv_csv(report, out / "cv.csv")
    plot_confusion(np.array(report["pooled"]["confusion"]), labels, out / "confusion.png",
                   title=f"{dataset} LOSO, {config.model}: mean UAR {report['uar_mean']:.3f}")
    return report


@dataclass(frozen=True)
class _FoldRunner:
    """Trains and scores one fold: fit on its train speakers, best epoch on its val speaker,
    UAR on its test speaker; writes the fold's checkpoint and fold.json."""

    corpus: Corpus
    config: TrainConfig
    frontend: Any
    labels: tuple[str, ...]
    dev: Any
    prepared: dict[str, Any]

    def arrays(self, part: list[Clip]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        index = {lab: i for i, lab in enumerate(self.labels)}
        ok = [c for c in part if self.prepared[c.id] is not None]
        if not ok:
            return (np.zeros((0, 1, 1, 1), np.float32), np.zeros(0, np.int64),
                    np.zeros(0, np.int64))
        X, groups = stack_units([self.prepared[c.id] for c in ok])
        y = np.array([index[c.label] for c in ok], dtype=np.int64)
        return X, y[groups], groups

    def run(self, fold: Fold, folder: Path, *, resume: bool, progress: bool,
            title: str) -> dict[str, Any]:
        from bsx.models.train import TrainData, fit, predict_clips, train_record

        t0 = time.perf_counter()
        if self.config.select == "last":  # nothing is chosen on the val speaker: it trains
            fold = replace(fold, train=fold.train + fold.val, val=[], val_speaker="")
        Xtr, ytr, gtr = self.arrays(fold.train)
        Xva, yva, gva = self.arrays(fold.val)
        Xte, yte, gte = self.arrays(fold.test)
        if progress:
            from bsx.progress import note

            val = f"val speaker {fold.val_speaker}" if fold.val_speaker else "last epoch kept"
            note(f"{title}: test speaker {fold.test_speaker}, {val}, "
                 f"{len(np.unique(gtr))} training clips")
        data = TrainData(Xtr, ytr, Xva, yva, len(self.labels), groups_train=gtr,
                         groups_val=gva)
        res = fit(data, fit_recipe(self.config), out=folder, resume=resume,
                  progress=progress)
        logits = predict_clips(res.net, Xte, gte)
        y_test = yte[np.unique(gte, return_index=True)[1]]
        test = classification_report(y_test, logits.argmax(1), self.labels)
        self._save(fold, folder, res, test, train_record(self.config, self.dev, res))
        rec = {"test_speaker": fold.test_speaker, "val_speaker": fold.val_speaker,
               "n_test": test["n"], "uar": test["uar"], "accuracy": test["accuracy"],
               "macro_f1": test["macro_f1"], "best_epoch": res.best_epoch,
               "epochs_run": len(res.history),
               "best_val_uar": max((h["val_uar"] for h in res.history
                                    if not math.isnan(h["val_uar"])), default=math.nan),
               "seconds": round(time.perf_counter() - t0, 1),
               "y_true": y_test.tolist(), "y_pred": logits.argmax(1).tolist(),
               "test": test, "history": res.history}
        (folder / "fold.json").write_text(json.dumps(jsonable(rec), indent=1) + "\n")
        return rec

    def _save(self, fold: Fold, folder: Path, res: Any, test: dict[str, Any],
              train: dict[str, Any]) -> None:
        from bsx.models.checkpoint import CheckpointInfo, save_checkpoint
        from bsx.plugins import lookup

        cfg = self.config
        opts = lookup("model", cfg.model).make_options(cfg.model_options).model_dump(mode="json")
        split = {"mode": "loso", "test_speakers": [fold.test_speaker],
                 "val_speakers": [fold.val_speaker] if fold.val_speaker else [],
                 "train_speakers": sorted({c.speaker for c in fold.train}),
                 "counts": {"train": len(fold.train), "val": len(fold.val),
                            "test": len(fold.test)}}
        info = CheckpointInfo(
            model_name=cfg.model, model_options=opts, labels=self.labels,
            frontend=self.frontend, dataset=self.corpus.dataset, split=split,
            metrics={"test": {k: test[k] for k in ("accuracy", "uar", "macro_f1")}},
            epoch=res.best_epoch,
            extra={"dataset_options": self.corpus.dataset_options(), "train": train},
        )
        save_checkpoint(folder / "model.pt", res.state_dict, info)


def _cv_report(dataset: str, config: TrainConfig, fe: Any, labels: tuple[str, ...], dev: Any,
               rows: list[dict[str, Any]], *, n_clips: int, skipped: list[Any]) -> dict[str, Any]:
    """cv.json: per-fold scores, the mean UAR with its 95% t-interval, the pooled report."""
    uars = [r["uar"] for r in rows]
    m, lo, hi = mean_ci(uars)
    pooled = classification_report(np.array([y for r in rows for y in r["y_true"]]),
                                   np.array([y for r in rows for y in r["y_pred"]]), labels)
    return {
        "dataset": dataset, "protocol": "leave-one-speaker-out", "labels": list(labels),
        "frontend": fe.model_dump(), "recipe": config.canonical(), "device": str(dev),
        "n_clips": n_clips,
        "skipped": [{"clip": s.clip.id, "reason": s.reason} for s in skipped],
        "folds": [{k: v for k, v in r.items() if k not in ("y_true", "y_pred", "test",
                                                           "history")} for r in rows],
        "uar_mean": m, "uar_ci95": [lo, hi],
        "uar_std": float(np.std(uars, ddof=1)) if len(uars) > 1 else math.nan,
        "accuracy_mean": float(np.mean([r["accuracy"] for r in rows])),
        "pooled": pooled,
    }


def write_cv_csv(report: dict[str, Any], path: Path) -> None:
    """One row per fold, then a 'mean' row with the 95% CI bounds."""
    import csv

    cols = ["test_speaker", "val_speaker", "n_test", "uar", "accuracy", "macro_f1",
            "best_epoch", "epochs_run", "seconds"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, "uar_ci_low", "uar_ci_high"])
        for r in report["folds"]:
            w.writerow([r.get(c, "") for c in cols] + ["", ""])
        lo, hi = report["uar_ci95"]
        w.writerow(["mean", "", sum(r["n_test"] for r in report["folds"]), report["uar_mean"],
                    report["accuracy_mean"], "", "", "", "", lo, hi])


def cv_table(report: dict[str, Any]) -> Any:
    """A rich table: UAR, accuracy and best epoch per fold; mean UAR with its 95% CI."""
    from rich.table import Table

    t = Table(title=f"{report['dataset']} leave-one-speaker-out: {len(report['folds'])} folds, "
                    f"{len(report['labels'])} classes")
    for col in ("test speaker", "val speaker", "clips", "UAR", "accuracy", "best epoch"):
        t.add_column(col, justify="right")
    for r in report["folds"]:
        t.add_row(r["test_speaker"], r["val_speaker"] or "-", str(r["n_test"]), f"{r['uar']:.3f}",
                  f"{r['accuracy']:.3f}", f"{r['best_epoch']}/{r['epochs_run']}")
    t.add_section()
    lo, hi = report["uar_ci95"]
    ci = "" if lo is None or lo != lo else f" [{lo:.3f}, {hi:.3f}]"
    t.add_row("[bold]mean[/bold]", "", "", f"[bold]{report['uar_mean']:.3f}[/bold]{ci}",
              f"{report['accuracy_mean']:.3f}", "")
    return t

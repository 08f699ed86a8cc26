"""The evaluate pass as a short pipeline of named stages, one module each.

plan (which clips, resume, writer) -> prepare (front-end, cached; cues submitted to the
workers) -> attribute (units -> clip logits -> (F, T) maps per method, docs/model-contract.md)
-> salient (windows on the model and original timelines) -> the scoring families:
groundtruth, cue_scores (profiles, agreement, expert-cue masks), model_scores (Quantus,
cue ablation) -> records (rows built from the stages' frozen return values) -> run (the
batch loop) -> tail (tables, statistics, figures, report: the one tail of local, sharded and
cross-validated runs).
"""

from bsx.evaluation.config import EvalConfig, Split, window_options
from bsx.evaluation.run import run_evaluation

__all__ = ["EvalConfig", "Split", "run_evaluation", "window_options"]

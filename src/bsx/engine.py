"""The evaluate pass's public entry points; its stages live in bsx.evaluation."""

from bsx.evaluation import EvalConfig, Split, run_evaluation, window_options
from bsx.evaluation.batch import BatchContext, evaluate_batch
from bsx.evaluation.plan import select_clips

__all__ = ["BatchContext", "EvalConfig", "Split", "evaluate_batch", "run_evaluation",
           "select_clips", "window_options"]

"""Benchmark harness: built-in tasks, training with compute accounting, headline metrics.

``import specurate.bench`` needs only numpy/scipy; :func:`train` and the model factories import
torch when called, :func:`runs_to_parquet` imports pyarrow when called.
"""

from specurate.bench.metrics import (
    loss_exponent,
    mean_ci,
    passes_to_target,
    runs_from_parquet,
    runs_to_parquet,
    speedup_vs_uniform,
    summarize,
)
from specurate.bench.result import RunResult
from specurate.bench.tasks import TASKS, Task, clusters, digits, mnist1d
from specurate.bench.train import evaluate, train  # torch is imported inside, on call

__all__ = [
    "TASKS",
    "RunResult",
    "Task",
    "clusters",
    "digits",
    "evaluate",
    "loss_exponent",
    "mean_ci",
    "mnist1d",
    "passes_to_target",
    "runs_from_parquet",
    "runs_to_parquet",
    "speedup_vs_uniform",
    "summarize",
    "train",
]

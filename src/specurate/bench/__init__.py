"""Benchmark harness: built-in tasks, training with compute accounting, headline metrics, and the
paper's experiments on real training.

``import specurate.bench`` needs only numpy/scipy; :func:`train`, the model factories and the
experiments import torch when called, :func:`runs_to_parquet` imports pyarrow when called.
"""

from specurate.bench.metrics import (
    loss_exponent,
    mean_ci,
    passes_to_accuracy,
    passes_to_target,
    runs_from_parquet,
    runs_to_parquet,
    speedup_vs_uniform,
    summarize,
)
from specurate.bench.noise import NoiseConfig, NoiseResult, run_noise, with_label_noise
from specurate.bench.oracle import OracleConfig, OracleResult, run_oracle
from specurate.bench.result import RunResult
from specurate.bench.span import SpanConfig, SpanResult, run_span
from specurate.bench.static_sweep import StaticSweepConfig, StaticSweepResult, run_static_sweep
from specurate.bench.strategies import STRATEGIES, make_strategy
from specurate.bench.tasks import (
    TASKS,
    Task,
    clusters,
    digits,
    gaussian,
    mnist1d,
    mode_local,
    teacher,
)
from specurate.bench.train import evaluate, train  # torch is imported inside, on call

__all__ = [
    "STRATEGIES",
    "TASKS",
    "NoiseConfig",
    "NoiseResult",
    "OracleConfig",
    "OracleResult",
    "RunResult",
    "SpanConfig",
    "SpanResult",
    "StaticSweepConfig",
    "StaticSweepResult",
    "Task",
    "clusters",
    "digits",
    "evaluate",
    "gaussian",
    "loss_exponent",
    "make_strategy",
    "mean_ci",
    "mnist1d",
    "mode_local",
    "passes_to_accuracy",
    "passes_to_target",
    "run_noise",
    "run_oracle",
    "run_span",
    "run_static_sweep",
    "runs_from_parquet",
    "runs_to_parquet",
    "speedup_vs_uniform",
    "summarize",
    "teacher",
    "train",
    "with_label_noise",
]
